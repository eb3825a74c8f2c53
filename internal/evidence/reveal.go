package evidence

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/preview"
	"github.com/canopy-org/canopy/internal/store"
)

// Protecting analysts: an image item is shown as a preview, blurred and
// grey, unless the member revealed it, giving a reason, within the last
// RevealFor. Each reveal is a custody step ("revealed", with the reason)
// and each preview a "viewed" step, whose file is checked against its
// acquisition hashes like every access. Reveals are held in memory, per
// member and item: a restart hides everything again, which is the safe
// way to fail.

// DefaultRevealFor is how long a reveal lasts when Service.RevealFor is
// zero.
const DefaultRevealFor = time.Minute

// PreviewBox is the largest side of a preview, in pixels.
const PreviewBox = 640

type reveals struct {
	mu    sync.Mutex
	until map[string]time.Time // account id + " " + item id
}

func (r *reveals) get(key string, now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	until := r.until[key]
	if !until.After(now) {
		delete(r.until, key)
		return time.Time{}
	}
	return until
}

func (r *reveals) set(key string, now, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until == nil {
		r.until = map[string]time.Time{}
	}
	// Forget the ones that ended, so the map holds only what is shown.
	for k, u := range r.until {
		if !u.After(now) {
			delete(r.until, k)
		}
	}
	if until.IsZero() {
		delete(r.until, key)
		return
	}
	r.until[key] = until
}

func (s *Service) revealFor() time.Duration {
	if s.RevealFor > 0 {
		return s.RevealFor
	}
	return DefaultRevealFor
}

var errNotImage = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.not_image"}

// Previewable reports whether an item can be shown as a preview: an
// image of a kind the node decodes, small enough to decode.
func Previewable(e *canopy.EvidenceItem) bool {
	switch e.MediaType {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
		return e.Size <= preview.DefaultMaxBytes && e.Destroyed.IsZero()
	}
	return false
}

// Reveal shows an image item unblurred to the member for RevealFor, with
// why; the reveal is a custody step and is audited. It returns when the
// reveal ends.
func (s *Service) Reveal(ctx context.Context, who *canopy.Account, itemID, why string) (time.Time, error) {
	e, dk, err := s.item(ctx, who, itemID)
	if err != nil {
		return time.Time{}, err
	}
	if why, err = block("why", why, maxWhy); err != nil {
		return time.Time{}, err
	}
	if !e.Destroyed.IsZero() {
		return time.Time{}, errDestroyed
	}
	if !Previewable(&e.EvidenceItem) {
		return time.Time{}, errNotImage
	}
	now := s.now()
	until := now.Add(s.revealFor())
	step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: canopy.CustodyRevealed, At: now, Actor: who.ID,
		SHA256: e.SHA256}, SealedWhy: dk.Seal([]byte(why), whyContext(e.ID, now))}
	if err := s.DB.Update(ctx, func(tx *store.Tx) error { return tx.AddCustody(step) }); err != nil {
		return time.Time{}, err
	}
	if err := s.custodyAudit(ctx, who, step, e.InvestigationID); err != nil {
		return time.Time{}, err
	}
	s.reveals.set(who.ID+" "+e.ID, now, until)
	return until, nil
}

// Hide ends the member's reveal of an item at once.
func (s *Service) Hide(who *canopy.Account, itemID string) {
	s.reveals.set(who.ID+" "+itemID, s.Now(), time.Time{})
}

// RevealedUntil returns when the member's reveal of an item ends, or zero
// when it is not revealed.
func (s *Service) RevealedUntil(who *canopy.Account, itemID string) time.Time {
	return s.reveals.get(who.ID+" "+itemID, s.Now())
}

// Preview writes a PNG preview of an image item to w: blurred and grey,
// or as it is while the member's reveal lasts, which it returns (zero
// when blurred). The file is checked whole against its acquisition
// hashes first, and the viewing is a custody step.
func (s *Service) Preview(ctx context.Context, who *canopy.Account, itemID string, w io.Writer) (time.Time, error) {
	e, _, err := s.item(ctx, who, itemID)
	if err != nil {
		return time.Time{}, err
	}
	if !e.Destroyed.IsZero() {
		return time.Time{}, errDestroyed
	}
	if !Previewable(&e.EvidenceItem) {
		return time.Time{}, errNotImage
	}
	until := s.RevealedUntil(who, e.ID)
	opt := preview.Options{Width: PreviewBox, Height: PreviewBox}
	why := "preview, blurred and grey"
	if !until.IsZero() {
		opt.Mode = preview.Revealed
		why = "preview, revealed until " + until.UTC().Format("15:04:05") + " UTC"
	}
	var file bytes.Buffer
	file.Grow(int(e.Size))
	if err := s.access(ctx, who, e.ID, canopy.CustodyViewed, why, &file); err != nil {
		return time.Time{}, err
	}
	png, _, err := preview.Thumbnail(&file, opt)
	if err != nil {
		// What the decoder cannot take (a truncated or odd file named
		// as an image) has no preview; the file itself is intact.
		return time.Time{}, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.not_image", Err: err}
	}
	if _, err := w.Write(png); err != nil {
		return time.Time{}, fmt.Errorf("evidence: write the preview of %s: %w", e.ID, err)
	}
	return until, nil
}

// Size is how many bytes checking an item reads (with itemID), or all of
// an investigation's files still held (with invID), so that a page can
// give a long check the time it needs. It is 0 for what the member may
// not see; refusals are the business of the call that follows, which
// audits them.
func (s *Service) Size(ctx context.Context, who *canopy.Account, invID, itemID string) int64 {
	if !access.Can(who.Role, access.InvestigationManage) {
		return 0
	}
	var items []store.SealedEvidence
	if itemID != "" {
		e, err := s.DB.Evidence(ctx, itemID)
		if err != nil {
			return 0
		}
		invID, items = e.InvestigationID, []store.SealedEvidence{*e}
	} else {
		var err error
		if items, err = s.DB.InvestigationEvidence(ctx, invID); err != nil {
			return 0
		}
	}
	inv, err := s.DB.Investigation(ctx, invID)
	if err != nil || !access.InJurisdiction(who, inv.Jurisdiction) {
		return 0
	}
	var n int64
	for _, e := range items {
		if e.Destroyed.IsZero() {
			n += e.Size
		}
	}
	return n
}
