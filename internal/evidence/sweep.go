package evidence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/blob"
)

// SweepGrace is how old a file with no item must be before SweepOrphans
// deletes it: an acquisition stores the file before it commits the item,
// and one that takes longer than this is not expected.
const SweepGrace = 24 * time.Hour

// SweepOrphans deletes the files in the blob store that no evidence item
// can open any more, and returns how many. They are left behind when the
// node stops between committing a destruction or a purge and deleting the
// bytes, or during an acquisition before its item is committed. Their
// keys are gone, so nobody can read them; this only gives the space back.
// A file with no item is deleted only once older than grace, and only
// in an investigation the database knows: pointed at the wrong database,
// the sweep deletes nothing.
func (s *Service) SweepOrphans(ctx context.Context, grace time.Duration) (int, error) {
	now := s.Now()
	n := 0
	err := s.Blobs.List(ctx, "evidence/", func(b blob.Info) error {
		parts := strings.Split(b.Key, "/") // evidence/INVESTIGATION/ITEM
		if len(parts) != 3 {
			return nil
		}
		e, err := s.DB.Evidence(ctx, parts[2])
		switch {
		case canopy.ErrorCode(err) == canopy.ENOTFOUND:
			if now.Sub(b.Modified) < grace {
				return nil
			}
			// Only within an investigation this database knows: a node
			// started on the wrong database must not empty its store.
			if _, err := s.DB.Investigation(ctx, parts[1]); canopy.ErrorCode(err) == canopy.ENOTFOUND {
				return nil
			} else if err != nil {
				return err
			}
		case err != nil:
			return err
		case e.DataKey != nil && e.BlobKey == b.Key:
			return nil
		}
		if err := s.Blobs.Delete(ctx, b.Key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("evidence: sweep %s: %w", b.Key, err)
		}
		n++
		return nil
	})
	return n, err
}
