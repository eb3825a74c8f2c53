package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func TestOpsCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		stages, err := db.OpenReportsByStage(ctx)
		want := map[string]int{canopy.StageNew: 0, canopy.StageClaimed: 0, canopy.StageReopened: 0}
		if err != nil || !maps.Equal(stages, want) {
			t.Errorf("OpenReportsByStage on an empty node = %v, %v; want %v", stages, err, want)
		}

		// Reports 1–3 new, 4 claimed, 5 decided.
		update(t, db, func(tx *store.Tx) error {
			for i := 1; i <= 5; i++ {
				r := newReport(i)
				if err := tx.CreateReport(r); err != nil {
					return err
				}
				var e *canopy.Event
				switch i {
				case 4:
					e = &canopy.Event{Kind: canopy.EventClaimed}
				case 5:
					e = &canopy.Event{Kind: canopy.EventActionTaken, Data: map[string]string{"outcome": canopy.OutcomeTakedown}}
				}
				if e != nil {
					e.ReportID, e.At, e.Actor = r.Report.ID, r.Report.Received, "analyst1"
					if _, err := tx.ApplyEvents(r.Report.ID, nil, &store.SealedEvent{Event: *e}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		stages, err = db.OpenReportsByStage(ctx)
		want = map[string]int{canopy.StageNew: 3, canopy.StageClaimed: 1, canopy.StageReopened: 0}
		if err != nil || !maps.Equal(stages, want) {
			t.Errorf("OpenReportsByStage = %v, %v; want %v", stages, err, want)
		}

		// Peers be (active) and nl (removed), each with two messages
		// waiting and one delivered; be also one delivered long ago.
		for i, p := range []*canopy.Peer{newPeer("be", 1), newPeer("nl", 2)} {
			if i == 1 {
				p.State = canopy.PeerRemoved
			}
			if err := db.CreatePeer(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		update(t, db, func(tx *store.Tx) error {
			for i, m := range []struct {
				peer string
				at   time.Duration
			}{{"be", -time.Hour}, {"be", 3 * time.Minute}, {"be", 7 * time.Minute}, {"nl", time.Minute}, {"nl", 2 * time.Minute}} {
				if err := tx.Enqueue(&store.OutboxMessage{ID: fmt.Sprintf("m%d", i), PeerID: m.peer, Kind: "referral",
					Thread: "t", Created: fedT0.Add(m.at), Sealed: []byte{1}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err := db.MarkDelivered(ctx, []string{"m0"}, fedT0); err != nil {
			t.Fatal(err)
		}
		backlogs, err := db.OutboxBacklogs(ctx)
		wantB := []store.OutboxBacklog{{PeerID: "be", Pending: 2, Oldest: fedT0.Add(3 * time.Minute)}}
		if err != nil || !slices.EqualFunc(backlogs, wantB, func(a, b store.OutboxBacklog) bool {
			return a.PeerID == b.PeerID && a.Pending == b.Pending && a.Oldest.Equal(b.Oldest)
		}) {
			t.Errorf("OutboxBacklogs = %+v, %v; want %+v", backlogs, err, wantB)
		}
		if err := db.MarkDelivered(ctx, []string{"m1", "m2"}, fedT0); err != nil {
			t.Fatal(err)
		}
		backlogs, err = db.OutboxBacklogs(ctx)
		if err != nil || len(backlogs) != 1 || backlogs[0].Pending != 0 || !backlogs[0].Oldest.IsZero() {
			t.Errorf("OutboxBacklogs with nothing waiting = %+v, %v", backlogs, err)
		}

		// Notices due at fedT0, fedT0+1m and never; one failed.
		update(t, db, func(tx *store.Tx) error {
			for i, n := range []struct {
				status string
				next   time.Time
			}{{canopy.NoticeQueued, fedT0}, {canopy.NoticeSent, fedT0.Add(time.Minute)}, {canopy.NoticeFailed, time.Time{}}} {
				if err := tx.CreateNotice(&canopy.Notice{ID: fmt.Sprintf("n%d", i), Host: "h", ReportID: newReport(1).Report.ID,
					Reference: "r", Status: n.status, Created: fedT0, Next: n.next}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			at          time.Time
			due, failed int
		}{{fedT0.Add(-time.Second), 0, 1}, {fedT0, 1, 1}, {fedT0.Add(time.Hour), 2, 1}} {
			due, failed, err := db.NoticeBacklog(ctx, c.at)
			if err != nil || due != c.due || failed != c.failed {
				t.Errorf("NoticeBacklog(%v) = %d, %d, %v; want %d, %d", c.at, due, failed, err, c.due, c.failed)
			}
		}
	})
}
