package support

import (
	"context"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// NewCheckIn is a well-being check-in as a caseworker records it: the
// child's answers on a published scale, and an optional note, sealed.
type NewCheckIn struct {
	Scale string
	Items []int
	Note  string
}

// RecordCheckIn adds a check-in to a case and returns it with its score.
func (s *Service) RecordCheckIn(ctx context.Context, who *canopy.Account, id string, in NewCheckIn) (*canopy.CheckIn, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, err
	}
	score, err := canopy.ScoreCheckIn(in.Scale, in.Items)
	if err != nil {
		return nil, err
	}
	note := strings.TrimSpace(strings.ReplaceAll(in.Note, "\r\n", "\n"))
	switch {
	case len([]rune(note)) > maxLong:
		return nil, invalid([]canopy.FieldError{{Field: "note", Key: "error.too_long"}})
	case hasControl(note, true):
		return nil, invalid([]canopy.FieldError{{Field: "note", Key: "error.control_chars"}})
	}
	c := &canopy.CheckIn{CaseID: id, Scale: in.Scale, Items: in.Items, Score: score, Note: note, By: who.ID}
	err = s.update(ctx, who, id, map[string]string{"step": "checkin", "scale": in.Scale},
		func(tx *store.Tx, _ *store.SealedCase, dk *seal.DataKey, now time.Time) error {
			if err := requireSupport(tx, id, now); err != nil {
				return err
			}
			n, err := tx.NextCheckIn(id)
			if err != nil {
				return err
			}
			c.N, c.At = n, now
			sc := &store.SealedCheckIn{CheckIn: *c}
			sc.Note = ""
			if note != "" {
				sc.SealedNote = dk.Seal([]byte(note), checkInContext(id, n))
			}
			return tx.AddCheckIn(sc)
		})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkIns reads a case's check-ins and opens their notes.
func (s *Service) checkIns(ctx context.Context, id string, dk *seal.DataKey) ([]canopy.CheckIn, error) {
	sealed, err := s.DB.CaseCheckIns(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]canopy.CheckIn, len(sealed))
	for i, c := range sealed {
		out[i] = c.CheckIn
		if out[i].Note, err = openText(dk, c.SealedNote, checkInContext(id, c.N)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
