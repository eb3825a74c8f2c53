package support

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Assign gives a case to a caseworker, or takes it from whoever holds it
// when to is "". The caseworker must be able to work cases, be active and
// serve the case's jurisdiction.
func (s *Service) Assign(ctx context.Context, who *canopy.Account, id, to string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	var target *canopy.Account
	if to != "" {
		a, err := s.DB.Account(ctx, to)
		if canopy.ErrorCode(err) == canopy.ENOTFOUND {
			return invalid([]canopy.FieldError{{Field: "assignee", Key: "error.case.assignee"}})
		}
		if err != nil {
			return err
		}
		target = &a.Account
		if target.Disabled || !access.Can(target.Role, access.CaseManage) {
			return invalid([]canopy.FieldError{{Field: "assignee", Key: "error.case.assignee"}})
		}
	}
	details := map[string]string{"step": "assign"}
	if to != "" {
		details["assignee"] = to
	}
	return s.update(ctx, who, id, details, func(tx *store.Tx, c *store.SealedCase, _ *seal.DataKey, now time.Time) error {
		if target != nil && !access.InJurisdiction(target, c.Jurisdiction) {
			return invalid([]canopy.FieldError{{Field: "assignee", Key: "error.case.assignee"}})
		}
		if c.AssignedTo == to {
			return nil
		}
		c.AssignedTo, c.Updated = to, now
		return tx.PutCase(c)
	})
}

// Caseworkers lists the active accounts a case of a jurisdiction may be
// assigned to, for the assignment form.
func (s *Service) Caseworkers(ctx context.Context, who *canopy.Account, jurisdiction string) ([]canopy.Account, error) {
	if err := s.allow(ctx, who, access.CaseManage, ""); err != nil {
		return nil, err
	}
	all, err := s.DB.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []canopy.Account
	for _, a := range all {
		if !a.Disabled && a.Enrolled && access.Can(a.Role, access.CaseManage) && access.InJurisdiction(&a.Account, jurisdiction) {
			out = append(out, a.Account)
		}
	}
	return out, nil
}

// Close closes a case for a reason. A closed case keeps its record and
// takes no new work until it is opened again; consent, erasure and holds
// still apply to it.
func (s *Service) Close(ctx context.Context, who *canopy.Account, id, reason string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	if !slices.Contains(canopy.CaseCloseReasons, reason) {
		return invalid([]canopy.FieldError{{Field: "reason", Key: "error.unknown_code"}})
	}
	return s.update(ctx, who, id, map[string]string{"step": "close", "reason": reason},
		func(tx *store.Tx, c *store.SealedCase, _ *seal.DataKey, now time.Time) error {
			c.Closed, c.ClosedBy, c.CloseReason, c.Updated = now, who.ID, reason, now
			return tx.PutCase(c)
		})
}

// Reopen opens a closed case again.
func (s *Service) Reopen(ctx context.Context, who *canopy.Account, id string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	return s.update(ctx, who, id, map[string]string{"step": "reopen"},
		func(tx *store.Tx, c *store.SealedCase, _ *seal.DataKey, now time.Time) error {
			if !c.IsClosed() {
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.not_closed"}
			}
			c.Closed, c.ClosedBy, c.CloseReason, c.Updated = time.Time{}, "", "", now
			return tx.PutCase(c)
		})
}

// sweepBatch bounds the cases one sweep acts on; the next sweep takes the
// rest.
const sweepBatch = 200

// SweepLapses acts on consents to cross-border sharing that expired: a
// withdrawal is written by a caseworker, an expiry by the clock, and peers
// must hear of both. Each case whose last such consent lapsed has its
// reports' peers told, and the lapse is marked handled in the same
// transaction; a case where another consent still stands is only marked.
// It returns how many cases it acted on.
func (s *Service) SweepLapses(ctx context.Context) (int, error) {
	now := s.now()
	ids, err := s.DB.LapsedConsents(ctx, canopy.PurposeCrossBorder, now, sweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		var after func()
		told := false
		err := s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
			after, told = nil, false
			consents, err := tx.CaseConsents(id)
			if err != nil {
				return err
			}
			if !c.IsDeleted() && !consents.Allows(canopy.PurposeCrossBorder, now) {
				reports, err := tx.CaseReportIDs(id)
				if err != nil {
					return err
				}
				if after, err = s.withdraw(tx, reports, canopy.WithdrawalConsent, now); err != nil {
					return err
				}
				told = len(reports) > 0
			}
			return tx.MarkLapsesHandled(id, canopy.PurposeCrossBorder, now)
		})
		if err != nil {
			return n, fmt.Errorf("support: lapsed consent of case %s: %w", id, err)
		}
		if after != nil {
			after()
		}
		n++
		e := audit.Entry{Actor: audit.System, Action: audit.ActionConsentWithdraw, Kind: audit.KindCase, ID: id, Outcome: audit.OK,
			Details: map[string]string{"purpose": canopy.PurposeCrossBorder, "cause": "expired", "peers_told": yesNo(told)}}
		if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
			return n, fmt.Errorf("support: audit lapsed consent: %w", err)
		}
	}
	return n, nil
}

// JurisdictionChoices lists the jurisdictions a caseworker may open a
// case in, when there is a choice to make; nil when OpenCase settles it.
func (s *Service) JurisdictionChoices(who *canopy.Account) []string {
	var out []string
	for _, j := range s.Jurisdictions {
		if access.InJurisdiction(who, j) {
			out = append(out, j)
		}
	}
	if len(out) < 2 || len(who.Jurisdictions) == 1 {
		return nil
	}
	return out
}

// PurgeClosed deletes, for retention, the cases closed before cutoff that
// no legal hold keeps: their keys are destroyed as a caseworker's
// deletion destroys them, and the peers their reports went to are told.
// It returns the cases deleted, at most limit.
func (s *Service) PurgeClosed(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	ids, err := s.DB.ExpiredCases(ctx, cutoff, limit)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, id := range ids {
		now := s.now()
		var after func()
		purged := false
		err := s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
			after, purged = nil, false
			held, err := tx.Held(id)
			if err != nil || held || c.IsDeleted() || !c.IsClosed() {
				return err // a hold placed since the query keeps it
			}
			reports, err := tx.CaseReportIDs(id)
			if err != nil {
				return err
			}
			if err := tx.DestroyCase(id, now); err != nil {
				return err
			}
			purged = true
			after, err = s.withdraw(tx, reports, canopy.WithdrawalDeleted, now)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("support: purge case %s: %w", id, err)
		}
		if !purged {
			continue
		}
		if after != nil {
			after()
		}
		done = append(done, id)
	}
	return done, nil
}
