package opsmetrics_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/opsmetrics"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newReport(i int) *store.SealedReport {
	return &store.SealedReport{
		Report: canopy.Report{
			ID:           fmt.Sprintf("R-SECRET-%04d", i),
			Received:     t0.Add(-time.Duration(i) * time.Hour),
			Channel:      canopy.ChannelPortal,
			Reporter:     canopy.ReporterChild,
			Category:     "sextortion",
			ChildCountry: "FR",
			Language:     "fr",
		},
		Content:     []byte{1, 2, 3, byte(i)},
		WrappedKey:  []byte{9, 9, byte(i)},
		ReceiptHash: []byte(fmt.Sprintf("receipt-%d", i)),
	}
}

func newPeer(id, state string, key byte) *canopy.Peer {
	return &canopy.Peer{
		ID: id, Name: "hotline-" + id, URL: "https://" + id + ".example",
		SigningKey: bytes.Repeat([]byte{key}, 32), EncryptionKey: bytes.Repeat([]byte{key ^ 0xff}, 32),
		State: state, Added: t0.Add(-24 * time.Hour), AddedBy: "staff:admin1",
	}
}

// fill gives the database a known state and returns the ids of its
// reports, which must never appear in the metrics.
func fill(t *testing.T, db *store.DB) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	// Seven reports: after their events, r1 and r7 are new, r2 and r3
	// claimed, r4 reopened, r5 decided, r6 merged.
	events := map[int][]canopy.Event{
		2: {{Kind: canopy.EventClaimed}},
		3: {{Kind: canopy.EventClaimed}},
		4: {{Kind: canopy.EventClaimed}, {Kind: canopy.EventNoFurtherAction, Data: map[string]string{"outcome": canopy.OutcomeNoFurtherAction}},
			{Kind: canopy.EventReopened}},
		5: {{Kind: canopy.EventNoFurtherAction, Data: map[string]string{"outcome": canopy.OutcomeNoFurtherAction}}},
		6: {{Kind: canopy.EventMerged, Data: map[string]string{"into": "R-SECRET-0001"}}},
	}
	err := db.Update(ctx, func(tx *store.Tx) error {
		for i := 1; i <= 7; i++ {
			r := newReport(i)
			ids = append(ids, r.Report.ID)
			if err := tx.CreateReport(r); err != nil {
				return err
			}
			for _, e := range events[i] {
				e.ReportID, e.At, e.Actor = r.Report.ID, r.Report.Received.Add(time.Minute), "analyst1"
				if _, err := tx.ApplyEvents(r.Report.ID, nil, &store.SealedEvent{Event: e}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Peers: be and nl active, fr suspended, de removed.
	for i, p := range []*canopy.Peer{
		newPeer("be", canopy.PeerActive, 1), newPeer("nl", canopy.PeerActive, 2),
		newPeer("fr", canopy.PeerSuspended, 3), newPeer("de", canopy.PeerRemoved, 4),
	} {
		if err := db.CreatePeer(ctx, p); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	// be: one delivered an hour ago, three waiting since 10, 5 and 1
	// minutes ago; fr: one waiting for two hours; de: two waiting, for
	// good.
	msgs := []struct {
		peer      string
		age       time.Duration
		delivered bool
	}{
		{"be", time.Hour, true}, {"be", 10 * time.Minute, false}, {"be", 5 * time.Minute, false}, {"be", time.Minute, false},
		{"fr", 2 * time.Hour, false}, {"de", 3 * time.Hour, false}, {"de", time.Hour, false},
	}
	var delivered []string
	err = db.Update(ctx, func(tx *store.Tx) error {
		for i, m := range msgs {
			om := &store.OutboxMessage{ID: fmt.Sprintf("msg-%d", i), PeerID: m.peer, Kind: "referral", Thread: "REF-SECRET-1",
				Created: t0.Add(-m.age), Sealed: []byte("sealed")}
			if err := tx.Enqueue(om); err != nil {
				return err
			}
			if m.delivered {
				delivered = append(delivered, om.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDelivered(ctx, delivered, t0.Add(-50*time.Minute)); err != nil {
		t.Fatal(err)
	}

	// Notices: two due (one a minute ago, one exactly now), one due in an
	// hour, two failed, one sent and done.
	notices := []struct {
		status string
		next   time.Time
	}{
		{canopy.NoticeQueued, t0.Add(-time.Minute)}, {canopy.NoticeSent, t0}, {canopy.NoticeSent, t0.Add(time.Hour)},
		{canopy.NoticeFailed, time.Time{}}, {canopy.NoticeFailed, time.Time{}}, {canopy.NoticeSent, time.Time{}},
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		for i, n := range notices {
			if err := tx.CreateNotice(&canopy.Notice{ID: fmt.Sprintf("N-%d", i), Host: "host-a", ReportID: ids[i%len(ids)],
				Reference: fmt.Sprintf("ref-%d", i), Status: n.status, Created: t0.Add(-time.Hour), Next: n.next}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var entries []store.AuditEntry
	for i := range 5 {
		entries = append(entries, store.AuditEntry{Index: int64(i), Data: []byte("entry"), At: t0})
	}
	if err := db.AppendAudit(ctx, entries, nil); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestCollectStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		db.Now = func() time.Time { return t0 }
		ids := fill(t, db)
		r := opsmetrics.NewRegistry(nil)
		opsmetrics.CollectStore(r, db)
		e, text := scrape(t, r)

		want := []struct {
			name   string
			labels []string
			value  float64
		}{
			{"canopy_triage_open_reports", []string{"stage", "new"}, 2},
			{"canopy_triage_open_reports", []string{"stage", "claimed"}, 2},
			{"canopy_triage_open_reports", []string{"stage", "reopened"}, 1},
			{"canopy_federation_outbox_pending_messages", []string{"peer", "be"}, 3},
			{"canopy_federation_outbox_pending_messages", []string{"peer", "nl"}, 0},
			{"canopy_federation_outbox_pending_messages", []string{"peer", "fr"}, 1},
			{"canopy_federation_outbox_lag_seconds", []string{"peer", "be"}, 600},
			{"canopy_federation_outbox_lag_seconds", []string{"peer", "nl"}, 0},
			{"canopy_federation_outbox_lag_seconds", []string{"peer", "fr"}, 7200},
			{"canopy_takedown_notices_due", nil, 2},
			{"canopy_takedown_notices_failed", nil, 2},
			{"canopy_audit_log_entries", nil, 5},
		}
		for _, w := range want {
			if got := e.value(t, w.name, w.labels...); got != w.value {
				t.Errorf("%s%v = %v; want %v", w.name, w.labels, got, w.value)
			}
		}
		// Exactly these series: decided and merged reports are not in
		// the queue, and a removed peer is not watched.
		for name, n := range map[string]int{"canopy_triage_open_reports": 3, "canopy_federation_outbox_pending_messages": 3,
			"canopy_federation_outbox_lag_seconds": 3} {
			if got := len(e.families[name].samples); got != n {
				t.Errorf("%s has %d series; want %d\n%s", name, got, n, text)
			}
		}
		for _, leak := range append(ids, "REF-SECRET", "msg-", "host-a", "N-0", "\"de\"") {
			if strings.Contains(text, leak) {
				t.Errorf("output holds %q", leak)
			}
		}
		if got := e.value(t, "canopy_metrics_collector_errors_total", "collector", "triage"); got != 0 {
			t.Errorf("triage collector errors = %v", got)
		}

		// Time passes: lag grows with the clock; a message delivered
		// leaves the backlog.
		db.Now = func() time.Time { return t0.Add(time.Minute) }
		if err := db.MarkDelivered(context.Background(), []string{"msg-1"}, t0); err != nil {
			t.Fatal(err)
		}
		e, _ = scrape(t, r)
		if got := e.value(t, "canopy_federation_outbox_pending_messages", "peer", "be"); got != 2 {
			t.Errorf("pending be after a delivery = %v; want 2", got)
		}
		if got := e.value(t, "canopy_federation_outbox_lag_seconds", "peer", "be"); got != 360 {
			t.Errorf("lag be a minute later, oldest delivered = %v; want 360", got)
		}
		if got := e.value(t, "canopy_takedown_notices_due"); got != 2 {
			t.Errorf("due a minute later = %v; want 2", got)
		}
	})
}

// TestCollectStoreEmpty checks a new node: zeros, not missing series,
// where a count is known to be zero.
func TestCollectStoreEmpty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := opsmetrics.NewRegistry(nil)
		opsmetrics.CollectStore(r, db)
		e, text := scrape(t, r)
		for _, stage := range []string{"new", "claimed", "reopened"} {
			if got := e.value(t, "canopy_triage_open_reports", "stage", stage); got != 0 {
				t.Errorf("open %s = %v", stage, got)
			}
		}
		for _, name := range []string{"canopy_takedown_notices_due", "canopy_takedown_notices_failed", "canopy_audit_log_entries"} {
			if got := e.value(t, name); got != 0 {
				t.Errorf("%s = %v", name, got)
			}
		}
		if n := len(e.families["canopy_federation_outbox_lag_seconds"].samples); n != 0 {
			t.Errorf("lag series without peers:\n%s", text)
		}
	})
}

// TestCollectStoreFailure scrapes a database that has gone away: each
// collector's failure is counted and its series left out, and the scrape
// still answers.
func TestCollectStoreFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := opsmetrics.NewRegistry(nil)
		opsmetrics.CollectStore(r, db)
		db.Close()
		for round := 1; round <= 2; round++ {
			e, text := scrape(t, r)
			for _, c := range []string{"triage", "federation", "takedown", "audit"} {
				if got := e.value(t, "canopy_metrics_collector_errors_total", "collector", c); got != float64(round) {
					t.Errorf("round %d: errors of %s = %v", round, c, got)
				}
			}
			for _, name := range []string{"canopy_triage_open_reports", "canopy_federation_outbox_pending_messages",
				"canopy_takedown_notices_due", "canopy_audit_log_entries"} {
				if f := e.families[name]; f == nil || len(f.samples) != 0 {
					t.Errorf("round %d: %s should be declared and empty:\n%s", round, name, text)
				}
			}
		}
	})
}

func TestMatchMetrics(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	m := opsmetrics.NewMatchMetrics(r)
	for _, d := range []time.Duration{5 * time.Microsecond, 80 * time.Microsecond, 3 * time.Millisecond, 2 * time.Second} {
		m.ObserveMatch(d)
	}
	e, _ := scrape(t, r)
	for le, want := range map[string]float64{"1e-05": 1, "0.0001": 2, "0.005": 3, "1": 3, "+Inf": 4} {
		if got := e.value(t, "canopy_match_duration_seconds_bucket", "le", le); got != want {
			t.Errorf("le=%s: %v; want %v", le, got, want)
		}
	}
	if got := e.value(t, "canopy_match_duration_seconds_sum"); got < 2.003 || got > 2.0031 {
		t.Errorf("sum %v", got)
	}
}
