package federation

import (
	"context"
	"slices"
	"testing"

	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// TestShareIndicators: a node's publication reaches its peer, which keeps
// the latest, drops the rows of indicators it does not know, and refuses
// a malformed one.
func TestShareIndicators(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		pub := &indicators.Publication{Definitions: indicators.Definitions, Node: "hotline-fr", Jurisdictions: []string{"FR"},
			Generated: "2026-11-27T09:00:00Z", From: "2026-01", To: "2026-02",
			Rows: []indicators.Row{
				{Indicator: indicators.FirstLook, Month: "2026-01", Members: indicators.Value{N: 120}, Reached: indicators.Value{N: 118},
					MedianSeconds: ptr(int64(3600))},
				{Indicator: indicators.Takedown, Month: "2026-02", Members: indicators.Value{Mark: "<10"}, Reached: indicators.Value{Mark: "<10"}},
				{Indicator: "from_the_future", Month: "2026-02", Members: indicators.Value{N: 40}},
			}}
		if n, err := fr.svc.ShareIndicators(ctx, pub); err != nil || n != 1 {
			t.Fatalf("shared with %d: %v", n, err)
		}
		for _, r := range pump(t, fr, "be", be) {
			if r.Status != StatusAccepted {
				t.Fatalf("refused: %+v", r)
			}
		}
		got, err := be.svc.PeerIndicators(ctx)
		if err != nil || len(got) != 1 {
			t.Fatalf("kept %+v: %v", got, err)
		}
		g := got[0]
		if g.Peer.ID != "fr" || !g.Comparable || len(g.Publication.Rows) != 2 || g.Publication.Rows[1].Members.Mark != "<10" ||
			*g.Publication.Rows[0].MedianSeconds != 3600 {
			t.Fatalf("kept %+v", g)
		}

		// A later publication replaces it.
		pub.To, pub.Rows = "2026-03", pub.Rows[:1]
		if _, err := fr.svc.ShareIndicators(ctx, pub); err != nil {
			t.Fatal(err)
		}
		pump(t, fr, "be", be)
		if got, _ := be.svc.PeerIndicators(ctx); len(got) != 1 || got[0].Publication.To != "2026-03" {
			t.Fatalf("after a second publication: %+v", got)
		}

		// A row outside the period is refused, and the refusal audited.
		// The sender will not send it; a node that did would be refused.
		pub.Rows = append(pub.Rows, indicators.Row{Indicator: indicators.FirstLook, Month: "2027-01", Members: indicators.Value{N: 1}})
		if _, err := fr.svc.ShareIndicators(ctx, pub); err == nil {
			t.Fatal("shared a row outside the period")
		}
		peer, err := fr.db.Peer(ctx, "be")
		if err != nil {
			t.Fatal(err)
		}
		msg, err := fr.svc.message(peer, KindIndicators, indicatorsThread, pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := fr.db.Update(ctx, func(tx *store.Tx) error { return tx.Enqueue(msg) }); err != nil {
			t.Fatal(err)
		}
		rs := pump(t, fr, "be", be)
		if len(rs) == 0 || rs[len(rs)-1].Status != StatusRefused {
			t.Fatalf("a row outside the period: %+v", rs)
		}
		es, err := be.log.Entries(ctx, 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(es, func(e audit.Entry) bool {
			return e.Action == audit.ActionMessageRefused && e.Details["kind"] == KindIndicators
		}) {
			t.Error("the refusal is not audited")
		}
	})
}
