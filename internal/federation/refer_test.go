package federation

import (
	"context"
	"sync"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestReferOnce: a report is referred to a peer at most once at a time,
// even when two analysts (or an analyst and an automatic rule) refer it
// at the same moment; again only once the peer has rejected it.
func TestReferOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		const tries = 8
		for round := range 3 {
			id := fr.submit(nil).ReportID
			errs := make([]error, tries)
			var wg sync.WaitGroup
			for i := range tries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = fr.svc.Refer(ctx, analyst, id, "be")
				}()
			}
			wg.Wait()
			made := 0
			for _, err := range errs {
				switch canopy.ErrorCode(err) {
				case "":
					made++
				case canopy.ECONFLICT:
				default:
					t.Errorf("Refer: %v", err)
				}
			}
			if got := fr.outgoing(id); made != 1 || len(got) != 1 {
				t.Errorf("round %d: %d of %d concurrent referrals succeeded, %d recorded; want 1", round, made, tries, len(got))
			}
		}

		// Rejected, it may be referred again, once.
		id := fr.submit(nil).ReportID
		ref, err := fr.svc.Refer(ctx, analyst, id, "be")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fr.svc.Refer(ctx, analyst, id, "be"); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("a second referral while the first stands: %v", err)
		}
		pump(t, fr, "be", be)
		in := be.referral("fr", ref.ID, false)
		if err := be.svc.SendStatus(ctx, analyst, in.ReportID, canopy.ReferralRejected, "Hosted in NL"); err != nil {
			t.Fatal(err)
		}
		if err := be.svc.SendStatus(ctx, analyst, in.ReportID, canopy.ReferralAccepted, ""); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("a status after a rejection: %v", err)
		}
		pump(t, be, "fr", fr)
		if st := fr.state(id); st.Stage != canopy.StageReopened {
			t.Errorf("after the rejection fr's report is %s, want reopened", st.Stage)
		}
		if _, err := fr.svc.Refer(ctx, analyst, id, "be"); err != nil {
			t.Errorf("referring again after a rejection: %v", err)
		}

		// A suspended or removed peer takes no new referrals.
		for _, state := range []string{canopy.PeerSuspended, canopy.PeerRemoved} {
			if _, err := fr.svc.SetPeerState(ctx, audit.System, "be", state); err != nil {
				t.Fatal(err)
			}
			if _, err := fr.svc.Refer(ctx, analyst, fr.submit(nil).ReportID, "be"); canopy.ErrorCode(err) != canopy.ECONFLICT {
				t.Errorf("a referral to a %s peer: %v", state, err)
			}
		}
		if _, err := fr.svc.SetPeerState(ctx, audit.System, "be", canopy.PeerActive); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("resuming a removed peer: %v", err)
		}
	})
}
