package federation

import (
	"context"
	"slices"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestContentRemovedClosesTheLoop: when the last address of a report a
// peer referred comes down at the receiving node, the referring node
// hears "content removed" on the referral's thread, its timeline says so
// and its reporter sees the content removed; telling twice sends nothing
// new.
func TestContentRemovedClosesTheLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		id := fr.submit(nil).ReportID
		if _, err := fr.svc.Refer(ctx, analyst, id, "be"); err != nil {
			t.Fatal(err)
		}
		pump(t, fr, "be", be)
		pump(t, be, "fr", fr) // "received"
		local := be.referral("fr", fr.referralTo(id, "be"), false).ReportID
		removed := func() {
			t.Helper()
			var after func()
			if err := be.db.Update(ctx, func(tx *store.Tx) error {
				var err error
				after, err = be.svc.ContentRemoved(tx, local, p.clock.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if after != nil {
				after()
			}
		}
		removed()
		for _, r := range pump(t, be, "fr", fr) {
			if r.Status != StatusAccepted {
				t.Fatalf("refused: %+v", r)
			}
		}
		var statuses []string
		for _, d := range fr.events(id, canopy.EventReferralStatus) {
			if d["direction"] == "in" {
				statuses = append(statuses, d["status"])
			}
		}
		if !slices.Equal(statuses, []string{canopy.ReferralReceived, canopy.ReferralContentRemoved}) {
			t.Fatalf("the referring node heard %v", statuses)
		}
		evs, err := fr.db.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var plain []canopy.Event
		for _, e := range evs {
			plain = append(plain, e.Event)
		}
		if st := canopy.StatusOf(plain); st != canopy.StatusContentRemoved {
			t.Errorf("the reporter sees %q", st)
		}
		removed() // the referral is closed: nothing more to say
		if n := len(be.outbox("fr")); n != 0 {
			t.Errorf("telling twice queued %d messages", n)
		}
	})
}
