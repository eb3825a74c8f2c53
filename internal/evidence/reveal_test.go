package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/preview"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// thumbnails returns the previews of file the node should show: blurred
// and grey, and as it is.
func thumbnails(t *testing.T, file []byte) (blurred, revealed []byte) {
	t.Helper()
	blurred, _, err := preview.Thumbnail(bytes.NewReader(file), preview.Options{Width: evidence.PreviewBox, Height: evidence.PreviewBox})
	if err != nil {
		t.Fatal(err)
	}
	revealed, _, err = preview.Thumbnail(bytes.NewReader(file),
		preview.Options{Mode: preview.Revealed, Width: evidence.PreviewBox, Height: evidence.PreviewBox})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(blurred, revealed) {
		t.Fatal("the blurred preview is the image as it is")
	}
	return blurred, revealed
}

// TestReveal: an image is previewed blurred until the member reveals it
// with a reason; then, for that member alone and for RevealFor, the
// preview is the image as it is, until it ends or the member hides it.
// Each reveal and each preview is a step of the item's custody (the
// preview after checking the file), and the reveal is audited.
func TestReveal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		w.svc.RevealFor = 5 * time.Minute
		id := w.open(t, frLiaison, "Operation Heron", "")
		file := pngBytes(t)
		item := w.acquire(t, id, "photo.png", file)
		other := w.acquire(t, id, "photo two.png", file)
		blurred, revealed := thumbnails(t, file)
		show := func(who *canopy.Account, itemID string) ([]byte, time.Time) {
			t.Helper()
			var b bytes.Buffer
			until, err := w.svc.Preview(ctx, who, itemID, &b)
			if err != nil {
				t.Fatalf("preview by %s: %v", who.ID, err)
			}
			return b.Bytes(), until
		}
		var whys []string // of the previews of item, in order
		expect := func(name string, who *canopy.Account, itemID string, want []byte, wantUntil time.Time) {
			t.Helper()
			got, until := show(who, itemID)
			if itemID == item.ID {
				why := "preview, blurred and grey"
				if !wantUntil.IsZero() {
					why = "preview, revealed until " + wantUntil.Format("15:04:05") + " UTC"
				}
				whys = append(whys, why)
			}
			if !bytes.Equal(got, want) || !until.Equal(wantUntil) {
				t.Errorf("%s: blurred %v, revealed %v, until %v; want until %v", name, bytes.Equal(got, blurred), bytes.Equal(got, revealed),
					until, wantUntil)
			}
		}

		expect("before any reveal", frLiaison, item.ID, blurred, time.Time{})
		if _, err := w.svc.Reveal(ctx, frLiaison, item.ID, " "); canopy.ErrorCode(err) != canopy.EINVALID ||
			canopy.AsError(err).Fields[0].Field != "why" {
			t.Fatalf("a reveal without a reason: %v", err)
		}
		expect("after a refused reveal", frLiaison, item.ID, blurred, time.Time{})

		w.clock.Add(time.Minute)
		es := len(w.entries(t))
		until, err := w.svc.Reveal(ctx, frLiaison, item.ID, "compare with the bank's image")
		if err != nil {
			t.Fatal(err)
		}
		now := w.clock.Now().Truncate(time.Microsecond)
		if !until.Equal(now.Add(5 * time.Minute)) {
			t.Errorf("revealed until %v, want %v", until, now.Add(5*time.Minute))
		}
		chain := w.custody(t, id, item.ID)
		last := chain[len(chain)-1]
		if last.Action != canopy.CustodyRevealed || last.Why != "compare with the bank's image" || last.Actor != "lifr" || last.SHA256 != item.SHA256 ||
			!last.At.Equal(now) {
			t.Errorf("the reveal's custody step %+v", last)
		}
		var audited []audit.Entry
		for _, e := range w.entries(t)[es:] {
			if e.Action == audit.ActionEvidenceCustody {
				audited = append(audited, e)
			}
		}
		if len(audited) != 1 || audited[0].ID != item.ID || audited[0].Details["action"] != canopy.CustodyRevealed ||
			audited[0].Actor != audit.Staff("lifr") || audited[0].Details["sha256"] != item.SHA256 {
			t.Errorf("the reveal audited as %+v", audited)
		}
		if got := w.svc.RevealedUntil(frLiaison, item.ID); !got.Equal(until) {
			t.Errorf("RevealedUntil %v", got)
		}
		for _, c := range []struct {
			who  *canopy.Account
			item string
		}{{liaison, item.ID}, {frLiaison, other.ID}} {
			if got := w.svc.RevealedUntil(c.who, c.item); !got.IsZero() {
				t.Errorf("%s sees %s revealed until %v", c.who.ID, c.item, got)
			}
		}

		expect("revealed", frLiaison, item.ID, revealed, until)
		expect("another member", liaison, item.ID, blurred, time.Time{})
		expect("another item", frLiaison, other.ID, blurred, time.Time{})
		w.clock.Add(5*time.Minute - time.Microsecond)
		expect("just before the end", frLiaison, item.ID, revealed, until)
		w.clock.Add(time.Microsecond)
		expect("at the end", frLiaison, item.ID, blurred, time.Time{})
		if got := w.svc.RevealedUntil(frLiaison, item.ID); !got.IsZero() {
			t.Errorf("RevealedUntil after the end: %v", got)
		}

		until, err = w.svc.Reveal(ctx, frLiaison, item.ID, "once more")
		if err != nil {
			t.Fatal(err)
		}
		expect("revealed again", frLiaison, item.ID, revealed, until)
		w.svc.Hide(liaison, item.ID) // another member's hiding changes nothing here
		expect("another member hid it", frLiaison, item.ID, revealed, until)
		w.svc.Hide(frLiaison, item.ID)
		expect("hidden", frLiaison, item.ID, blurred, time.Time{})

		// With no RevealFor, DefaultRevealFor.
		w.svc.RevealFor = 0
		until, err = w.svc.Reveal(ctx, liaison, item.ID, "compare")
		if err != nil || !until.Equal(w.clock.Now().Truncate(time.Microsecond).Add(evidence.DefaultRevealFor)) {
			t.Errorf("a reveal by default: %v %v", until, err)
		}

		// Every preview is a "viewed" step, checked, saying how it was shown.
		var viewed []string
		reveals := 0
		for _, c := range w.custody(t, id, item.ID) {
			switch c.Action {
			case canopy.CustodyViewed:
				viewed = append(viewed, c.Why)
				if c.SHA256 != item.SHA256 {
					t.Errorf("a preview's step %+v", c)
				}
			case canopy.CustodyRevealed:
				reveals++
			}
		}
		if !slices.Equal(viewed, whys) || reveals != 3 {
			t.Errorf("previews recorded as %q,\nwant %q; %d reveals", viewed, whys, reveals)
		}
	})
}

// TestPreviewRefusals: a changed file has no preview (the custody says
// the check failed), nor has a file that is not an image or one that was
// destroyed; none of them can be revealed.
func TestPreviewRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		photo := w.acquire(t, id, "photo.png", pngBytes(t))
		chat := w.acquire(t, id, "chat.txt", []byte("a chat log"))
		gone := w.acquire(t, id, "gone.png", pngBytes(t))
		if err := w.svc.Destroy(ctx, frLiaison, gone.ID, "order"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			item string
			key  string
		}{{"not an image", chat.ID, "error.evidence.not_image"}, {"destroyed", gone.ID, "error.evidence.destroyed"}} {
			before := len(w.custody(t, id, c.item))
			var b bytes.Buffer
			if _, err := w.svc.Preview(ctx, frLiaison, c.item, &b); canopy.ErrorCode(err) != canopy.ECONFLICT || canopy.AsError(err).Key != c.key ||
				b.Len() != 0 {
				t.Errorf("a preview, %s: %v", c.name, err)
			}
			if _, err := w.svc.Reveal(ctx, frLiaison, c.item, "compare"); canopy.AsError(err).Key != c.key {
				t.Errorf("a reveal, %s: %v", c.name, err)
			}
			if got := w.custody(t, id, c.item); len(got) != before {
				t.Errorf("%s: custody grew: %+v", c.name, got)
			}
		}

		if _, err := w.svc.Reveal(ctx, frLiaison, photo.ID, "compare"); err != nil {
			t.Fatal(err)
		}
		w.tamper(t, photo.ID)
		for _, who := range []*canopy.Account{frLiaison, liaison} { // revealed, and not
			var b bytes.Buffer
			if _, err := w.svc.Preview(ctx, who, photo.ID, &b); !errors.Is(err, evidence.ErrTampered) || b.Len() != 0 {
				t.Errorf("a preview of a changed file for %s: %v, %d bytes", who.ID, err, b.Len())
			}
			chain := w.custody(t, id, photo.ID)
			if last := chain[len(chain)-1]; last.Action != canopy.CustodyViewed || last.SHA256 != "mismatch" || last.Actor != who.ID {
				t.Errorf("the failed check's step %+v", last)
			}
		}
	})
}

// TestRevealsConcurrently: reveals, hidings and previews of many members
// at once (for the race detector), each member seeing only their own.
func TestRevealsConcurrently(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	w := newWork(t, db)
	id := w.open(t, frLiaison, "Operation Heron", "")
	file := pngBytes(t)
	item := w.acquire(t, id, "photo.png", file)
	blurred, revealed := thumbnails(t, file)
	var wg sync.WaitGroup
	for i := range 6 {
		who := &canopy.Account{ID: "m" + string(rune('a'+i)), Role: canopy.RoleAnalyst}
		wg.Go(func() {
			for range 3 {
				if _, err := w.svc.Reveal(ctx, who, item.ID, "compare"); err != nil {
					t.Error(err)
					return
				}
				var b bytes.Buffer
				if _, err := w.svc.Preview(ctx, who, item.ID, &b); err != nil || !bytes.Equal(b.Bytes(), revealed) {
					t.Errorf("%s: revealed preview: %v", who.ID, err)
				}
				w.svc.Hide(who, item.ID)
				if !w.svc.RevealedUntil(who, item.ID).IsZero() {
					t.Errorf("%s: still revealed after hiding", who.ID)
				}
				b.Reset()
				if _, err := w.svc.Preview(ctx, who, item.ID, &b); err != nil || !bytes.Equal(b.Bytes(), blurred) {
					t.Errorf("%s: blurred preview: %v", who.ID, err)
				}
			}
		})
	}
	wg.Wait()
	if _, err := w.svc.Preview(ctx, frLiaison, item.ID, io.Discard); err != nil {
		t.Fatal(err)
	}
}
