package support

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// NewConsent is a consent as a caseworker records it.
type NewConsent struct {
	Purpose string
	GivenBy string
	Method  string
	Expires time.Time // zero: until withdrawn
}

// GiveConsent records a consent to one purpose, given now.
func (s *Service) GiveConsent(ctx context.Context, who *canopy.Account, id string, in NewConsent) (*canopy.Consent, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, err
	}
	now := s.now()
	var fields []canopy.FieldError
	if !slices.Contains(canopy.Purposes, in.Purpose) {
		fields = append(fields, canopy.FieldError{Field: "purpose", Key: "error.unknown_code"})
	}
	if !slices.Contains(canopy.ConsentGivers, in.GivenBy) {
		fields = append(fields, canopy.FieldError{Field: "given_by", Key: "error.unknown_code"})
	}
	if !slices.Contains(canopy.ConsentMethods, in.Method) {
		fields = append(fields, canopy.FieldError{Field: "method", Key: "error.unknown_code"})
	}
	if !in.Expires.IsZero() && !in.Expires.After(now) {
		fields = append(fields, canopy.FieldError{Field: "expires", Key: "error.case.expired"})
	}
	if err := invalid(fields); err != nil {
		return nil, err
	}
	c := &canopy.Consent{ID: canopy.NewID(), CaseID: id, Purpose: in.Purpose, GivenBy: in.GivenBy, Method: in.Method,
		Expires: in.Expires, RecordedBy: who.ID}
	err := s.DB.UpdateCase(ctx, id, func(tx *store.Tx, sc *store.SealedCase) error {
		if sc.IsDeleted() {
			return errDeleted
		}
		c.Given = now
		return tx.AddConsent(c)
	})
	if err != nil {
		return nil, err
	}
	details := map[string]string{"purpose": in.Purpose, "given_by": in.GivenBy, "method": in.Method}
	if err := s.audit(ctx, who, audit.ActionConsentGive, id, audit.OK, details); err != nil {
		return nil, err
	}
	return c, nil
}

// WithdrawConsent withdraws every standing consent of a case to purpose.
// It takes effect at once: every read that depends on the purpose judges
// consent when it reads.
func (s *Service) WithdrawConsent(ctx context.Context, who *canopy.Account, id, purpose string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	if !slices.Contains(canopy.Purposes, purpose) {
		return invalid([]canopy.FieldError{{Field: "purpose", Key: "error.unknown_code"}})
	}
	now := s.now()
	var n int
	var after func()
	err := s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
		after = nil
		var err error
		n, err = tx.WithdrawConsent(id, purpose, now, who.ID)
		if err == nil && n == 0 {
			err = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.no_consent"}
		}
		if err != nil || purpose != canopy.PurposeCrossBorder || c.IsDeleted() {
			return err
		}
		reports, err := tx.CaseReportIDs(id)
		if err != nil {
			return err
		}
		after, err = s.withdraw(tx, reports, canopy.WithdrawalConsent, now)
		return err
	})
	if err != nil {
		return err
	}
	if after != nil {
		after()
	}
	return s.audit(ctx, who, audit.ActionConsentWithdraw, id, audit.OK, map[string]string{"purpose": purpose, "count": strconv.Itoa(n)})
}

// LinkedCase is what an analyst or a liaison may know of a support case
// linked to a report they see: an alias and an age band, nothing more.
type LinkedCase struct {
	Alias   string
	AgeBand string
}

// LinkedCases returns the support cases linked to a report, for a member
// of staff who may see the report, and only those whose child's consent
// to investigation stands now: a withdrawal hides the link from the next
// read on. Each case shown is audited as read through the report.
func (s *Service) LinkedCases(ctx context.Context, who *canopy.Account, reportID string) ([]LinkedCase, error) {
	if !access.Can(who.Role, access.ReportView) {
		return nil, nil // the report page is theirs to refuse; nothing to add
	}
	st, err := s.DB.TriageState(ctx, reportID)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !access.InJurisdiction(who, st.Jurisdiction) {
		return nil, nil
	}
	links, err := s.DB.ReportCaseLinks(ctx, reportID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []LinkedCase
	for _, l := range links {
		consents, err := s.DB.CaseConsents(ctx, l.CaseID)
		if err != nil {
			return nil, err
		}
		if !consents.Allows(canopy.PurposeInvestigation, now) {
			continue
		}
		c, err := s.DB.Case(ctx, l.CaseID)
		if err != nil {
			return nil, err
		}
		if c.IsDeleted() {
			continue
		}
		if err := s.audit(ctx, who, audit.ActionCaseView, c.ID, audit.OK, map[string]string{"part": "link", "report": auditToken(reportID)}); err != nil {
			return nil, err
		}
		out = append(out, LinkedCase{Alias: c.Alias, AgeBand: c.AgeBand})
	}
	return out, nil
}

// StatisticsRow is one case as the anonymised statistics count it: codes,
// a month and durations, never an id, an alias or a region.
type StatisticsRow struct {
	Opened    string // the month the case was opened, YYYY-MM
	AgeBand   string
	Languages []string
	Needs     []string
	Referrals int
	// ToFirstSupport is the time from the earliest linked report (or the
	// case's opening) to the first contact of a service; negative when
	// there is none yet.
	ToFirstSupport time.Duration
	CheckIns       int
	// FirstWellBeing and LastWellBeing are the first and latest check-in
	// scores as percentages; -1 when there is none.
	FirstWellBeing, LastWellBeing int
}

// Statistics returns the anonymised statistics of every case whose
// child's consent to statistics stands now. Deleted cases and cases whose
// consent was withdrawn or has expired are left out. The export is
// audited with the number of rows.
func (s *Service) Statistics(ctx context.Context, who *canopy.Account) ([]StatisticsRow, error) {
	if err := s.allow(ctx, who, access.CaseManage, ""); err != nil {
		return nil, err
	}
	consents, err := s.DB.ConsentsTo(ctx, canopy.PurposeStatistics)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var ids []string
	for id, cs := range consents {
		if cs.Allows(canopy.PurposeStatistics, now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []StatisticsRow
	for _, id := range ids {
		c, err := s.DB.Case(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.IsDeleted() {
			continue
		}
		row := StatisticsRow{Opened: c.Opened.Format("2006-01"), AgeBand: c.AgeBand, Languages: c.Languages, Needs: c.Needs,
			ToFirstSupport: -1, FirstWellBeing: -1, LastWellBeing: -1}
		refs, err := s.DB.ServiceReferrals(ctx, id)
		if err != nil {
			return nil, err
		}
		row.Referrals = len(refs)
		if first := canopy.FirstSupport(refs); !first.IsZero() {
			start := c.Opened
			links, err := s.DB.CaseLinks(ctx, id)
			if err != nil {
				return nil, err
			}
			for _, l := range links {
				if l.Received.Before(start) {
					start = l.Received
				}
			}
			row.ToFirstSupport = first.Sub(start)
		}
		checkIns, err := s.DB.CaseCheckIns(ctx, id)
		if err != nil {
			return nil, err
		}
		row.CheckIns = len(checkIns)
		if len(checkIns) > 0 {
			row.FirstWellBeing, row.LastWellBeing = checkIns[0].Percent(), checkIns[len(checkIns)-1].Percent()
		}
		out = append(out, row)
	}
	if err := s.audit(ctx, who, audit.ActionCaseView, "", audit.OK, map[string]string{"part": "statistics", "rows": strconv.Itoa(len(out))}); err != nil {
		return nil, err
	}
	return out, nil
}

// holds reads a case's legal holds and opens their reasons.
func (s *Service) holds(ctx context.Context, id string, dk *seal.DataKey) ([]canopy.LegalHold, error) {
	sealed, err := s.DB.CaseHolds(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]canopy.LegalHold, len(sealed))
	for i, h := range sealed {
		out[i] = h.LegalHold
		if out[i].Reason, err = openText(dk, h.SealedReason, holdContext(id, h.N)); err != nil {
			return nil, err
		}
		if out[i].LiftReason, err = openText(dk, h.SealedLiftReason, liftContext(id, h.N)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
