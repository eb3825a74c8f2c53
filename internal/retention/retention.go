// Package retention purges what the node no longer needs, on schedule:
// each kind of record (canopy.RetentionKinds) has a policy saying how
// many days it is kept once done with, and a kind with no policy is kept
// until staff set one. A purge destroys the record's data key, so its
// words can never be read again from any path, while the codes and dates
// the indicators count stay. Legal holds stop it. Each purge is in the
// audit log, by id and kind, never by content.
//
// Reports found not illegal, closed support cases and the evidence of
// closed investigations are purged here. A report linked to an
// investigation or to a held support case is kept.
package retention

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// Service purges on schedule.
type Service struct {
	DB    *store.DB
	Audit *audit.Log
	Now   func() time.Time
	// Cases deletes closed support cases past their days; nil leaves
	// them be.
	Cases purger
	// Evidence purges closed investigations past their days: their
	// files, names, notes and key; nil leaves them be.
	Evidence purger
}

// purger purges up to limit records done with before cutoff that no
// legal hold keeps, and returns their ids.
type purger interface {
	PurgeClosed(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
}

// maxKeep bounds a policy: fifty years.
const maxKeep = 50 * 366

// SetPolicy sets how many days a kind of record is kept once done with.
func (s *Service) SetPolicy(ctx context.Context, by audit.Actor, kind string, days int) error {
	if !slices.Contains(canopy.RetentionKinds, kind) {
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: "kind", Key: "error.unknown_code"}}}
	}
	if days < 1 || days > maxKeep {
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: "days", Key: "error.retention.days"}}}
	}
	if err := s.DB.PutPolicy(ctx, &store.Policy{Kind: kind, KeepDays: days, Updated: s.Now().UTC(), UpdatedBy: string(by)}); err != nil {
		return err
	}
	_, err := s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: by, Action: audit.ActionRetentionSet, Outcome: audit.OK,
		Details: map[string]string{"kind": kind, "days": strconv.Itoa(days)}})
	return err
}

// batch bounds the records one purge takes; the next run takes the rest.
const batch = 500

// Purge purges every record past its kind's policy now, and returns how
// many of each kind that has a policy.
func (s *Service) Purge(ctx context.Context) (map[string]int, error) {
	policies, err := s.DB.Policies(ctx)
	if err != nil {
		return nil, err
	}
	done := map[string]int{}
	now := s.Now().UTC()
	if p, ok := policies[canopy.RetentionReportNotIllegal]; ok {
		done[p.Kind] = 0
		ids, err := s.DB.ExpiredNotIllegal(ctx, now.AddDate(0, 0, -p.KeepDays), batch)
		if err != nil {
			return done, err
		}
		for _, id := range ids {
			if err := s.DB.DestroyReportKey(ctx, id); err != nil {
				return done, fmt.Errorf("retention: report %s: %w", id, err)
			}
			done[p.Kind]++
			if _, err := s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: audit.System, Action: audit.ActionRetentionPurge,
				Kind: audit.KindReport, ID: id, Outcome: audit.OK,
				Details: map[string]string{"kind": p.Kind, "days": strconv.Itoa(p.KeepDays)}}); err != nil {
				return done, err
			}
		}
	}
	if p, ok := policies[canopy.RetentionDeliveredMessage]; ok {
		n, err := s.DB.DropDeliveredPayloads(ctx, now.AddDate(0, 0, -p.KeepDays), 10*batch)
		done[p.Kind] = n
		if err != nil {
			return done, err
		}
		if n > 0 {
			// One entry for the batch: these are payloads no one here
			// can read, not records anyone could ask after by id.
			if _, err := s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: audit.System, Action: audit.ActionRetentionPurge,
				Outcome: audit.OK, Details: map[string]string{"kind": p.Kind, "days": strconv.Itoa(p.KeepDays), "count": strconv.Itoa(n)}}); err != nil {
				return done, err
			}
		}
	}
	for _, k := range []struct {
		kind   string
		purger purger
		audit  audit.Kind
	}{{canopy.RetentionSupportCase, s.Cases, audit.KindCase}, {canopy.RetentionEvidence, s.Evidence, audit.KindInvestigation}} {
		p, ok := policies[k.kind]
		if !ok || k.purger == nil {
			continue
		}
		done[p.Kind] = 0
		ids, err := k.purger.PurgeClosed(ctx, now.AddDate(0, 0, -p.KeepDays), batch)
		for _, id := range ids {
			done[p.Kind]++
			if _, aerr := s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: audit.System, Action: audit.ActionRetentionPurge,
				Kind: k.audit, ID: id, Outcome: audit.OK,
				Details: map[string]string{"kind": p.Kind, "days": strconv.Itoa(p.KeepDays)}}); aerr != nil {
				return done, aerr
			}
		}
		if err != nil {
			return done, err
		}
	}
	for _, n := range done {
		if n > 0 {
			// What was destroyed must not live on in SQLite's log.
			return done, s.DB.Checkpoint(ctx)
		}
	}
	return done, nil
}
