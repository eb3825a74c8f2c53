package opsmetrics

import (
	"context"
	"time"

	"github.com/canopy-org/canopy/internal/store"
)

// StoreTimeout bounds each database collector at each scrape. Prometheus
// gives a scrape 10 seconds by default; the collectors run side by side,
// so a slow database leaves the other families whole.
const StoreTimeout = 3 * time.Second

// CollectStore registers the collectors that read the node's database at
// each scrape: the triage queue, the federation outbox, the takedown
// backlog and the audit log. Each is its own collector, so one failing
// query leaves the others' series in place. Ages are measured with db.Now.
func CollectStore(r *Registry, db *store.DB) {
	open := r.NewCollectedGauge("canopy_triage_open_reports",
		"Open reports in the triage queue, by stage (new, claimed, reopened).", "stage")
	r.Collect("triage", StoreTimeout, func(ctx context.Context, s *Scrape) error {
		counts, err := db.OpenReportsByStage(ctx)
		if err != nil {
			return err
		}
		for stage, n := range counts {
			s.Set(open, float64(n), stage)
		}
		return nil
	})

	pending := r.NewCollectedGauge("canopy_federation_outbox_pending_messages",
		"Messages waiting in the outbox for delivery, by peer (removed peers left out).", "peer")
	lag := r.NewCollectedGauge("canopy_federation_outbox_lag_seconds",
		"Age of the oldest message waiting in the outbox, by peer; 0 when none waits.", "peer")
	r.Collect("federation", StoreTimeout, func(ctx context.Context, s *Scrape) error {
		backlogs, err := db.OutboxBacklogs(ctx)
		if err != nil {
			return err
		}
		now := db.Now()
		for _, b := range backlogs {
			s.Set(pending, float64(b.Pending), b.PeerID)
			age := 0.0
			if !b.Oldest.IsZero() {
				age = max(0, now.Sub(b.Oldest).Seconds())
			}
			s.Set(lag, age, b.PeerID)
		}
		return nil
	})

	due := r.NewCollectedGauge("canopy_takedown_notices_due",
		"Notices whose delivery or reminder is due now and not yet done.")
	failed := r.NewCollectedGauge("canopy_takedown_notices_failed",
		"Notices a host refused for good, waiting for staff to act.")
	r.Collect("takedown", StoreTimeout, func(ctx context.Context, s *Scrape) error {
		d, f, err := db.NoticeBacklog(ctx, db.Now())
		if err != nil {
			return err
		}
		s.Set(due, float64(d))
		s.Set(failed, float64(f))
		return nil
	})

	entries := r.NewCollectedGauge("canopy_audit_log_entries", "Entries in the audit log.")
	r.Collect("audit", StoreTimeout, func(ctx context.Context, s *Scrape) error {
		n, err := db.AuditSize(ctx)
		if err != nil {
			return err
		}
		s.Set(entries, float64(n))
		return nil
	})
}

// MatchMetrics times hash matching.
type MatchMetrics struct{ duration *Histogram }

// NewMatchMetrics registers canopy_match_duration_seconds.
func NewMatchMetrics(r *Registry) *MatchMetrics {
	return &MatchMetrics{r.NewHistogram("canopy_match_duration_seconds",
		"Time to match one report's or one lookup's hashes against the hash banks.", MatchBuckets)}
}

// ObserveMatch records how long one matching call took. A nil
// *MatchMetrics records nothing, so a node or test without metrics need
// not check.
func (m *MatchMetrics) ObserveMatch(d time.Duration) {
	if m == nil {
		return
	}
	m.duration.ObserveDuration(d)
}
