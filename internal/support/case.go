package support

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Limits on what a caseworker types.
const (
	maxAlias     = 64
	maxRegion    = 64
	maxLanguages = 8
	maxShort     = 500  // a name, a contact, a line of a plan
	maxLong      = 5000 // notes
	maxLines     = 20   // lines in a section of a safety plan
)

var errNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.case.not_found"}
var errDeleted = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.deleted"}

// audit writes one entry about a case (or about none, when id is "").
func (s *Service) audit(ctx context.Context, who *canopy.Account, action audit.Action, id string, outcome audit.Outcome, details map[string]string) error {
	e := audit.Entry{Actor: audit.Staff(who.ID), Action: action, Outcome: outcome, Details: details}
	if id != "" {
		e.Kind, e.ID = audit.KindCase, id
	}
	if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("support: audit %s: %w", action, err)
	}
	return nil
}

// allow checks a permission, and for a case that it lies in one of the
// account's jurisdictions. A refusal is audited and returned as
// EFORBIDDEN, or as ENOTFOUND for a case out of scope: saying it exists
// would already say something.
func (s *Service) allow(ctx context.Context, who *canopy.Account, p access.Permission, id string) error {
	if !access.Can(who.Role, p) {
		if err := s.audit(ctx, who, audit.ActionPermissionDenied, id, audit.Denied, map[string]string{"permission": string(p)}); err != nil {
			return err
		}
		return &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.forbidden"}
	}
	if id == "" || len(who.Jurisdictions) == 0 {
		return nil
	}
	c, err := s.DB.Case(ctx, id)
	if err != nil {
		return err
	}
	if access.InJurisdiction(who, c.Jurisdiction) {
		return nil
	}
	if err := s.audit(ctx, who, audit.ActionPermissionDenied, id, audit.Denied, map[string]string{"permission": string(p), "scope": "jurisdiction"}); err != nil {
		return err
	}
	return errNotFound
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// dataKey unwraps a case's data key; nil when it was destroyed.
func (s *Service) dataKey(c *store.SealedCase) (*seal.DataKey, error) {
	if c.WrappedKey == nil {
		return nil, nil
	}
	dk, err := s.Keys.OpenDataKey(keyID(c.ID), c.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("support: key of case %s: %w", c.ID, err)
	}
	return dk, nil
}

// keyID binds a case's wrapped key to the case, apart from report keys.
func keyID(caseID string) string { return "case/" + caseID }

// Contexts bind each sealed value to the case and the place it is kept.
func detailsContext(id string) string        { return "case/" + id + "/details" }
func planContext(id string) string           { return "case/" + id + "/plan" }
func checkInContext(id string, n int) string { return fmt.Sprintf("case/%s/checkin/%d", id, n) }
func erasureContext(id, e string) string     { return "case/" + id + "/erasure/" + e }
func holdContext(id string, n int) string    { return fmt.Sprintf("case/%s/hold/%d", id, n) }
func liftContext(id string, n int) string    { return fmt.Sprintf("case/%s/hold/%d/lift", id, n) }

// Profile is the pseudonymous part of a case, as a caseworker types it.
type Profile struct {
	Alias     string
	AgeBand   string
	Languages []string
	Region    string
}

// NewCase is what a caseworker gives to open a case. Details are optional.
// Jurisdiction may be left empty when the caseworker or the node has only
// one.
type NewCase struct {
	Profile
	Needs        []string
	Details      canopy.CaseDetails
	Jurisdiction string
}

// jurisdiction settles the jurisdiction of a new case: the one asked
// for, which must be the node's and the caseworker's; else the only one
// the caseworker has, or the node has; else "" for a node that serves
// none in particular.
func (s *Service) jurisdiction(who *canopy.Account, asked string) (string, []canopy.FieldError) {
	asked = strings.ToUpper(strings.TrimSpace(asked))
	bad := []canopy.FieldError{{Field: "jurisdiction", Key: "error.case.jurisdiction"}}
	switch {
	case asked != "":
		if len(s.Jurisdictions) > 0 && !slices.Contains(s.Jurisdictions, asked) || !access.InJurisdiction(who, asked) {
			return "", bad
		}
		return asked, nil
	case len(who.Jurisdictions) == 1:
		return who.Jurisdictions[0], nil
	case len(s.Jurisdictions) == 1:
		return s.Jurisdictions[0], nil
	case len(s.Jurisdictions) == 0 && len(who.Jurisdictions) == 0:
		return "", nil
	}
	return "", []canopy.FieldError{{Field: "jurisdiction", Key: "error.required"}}
}

func invalid(fields []canopy.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: fields}
}

var languageRE = regexp.MustCompile(`^[a-z]{2,3}$`)

func (p *Profile) normalise() []canopy.FieldError {
	var fields []canopy.FieldError
	bad := func(f, key string) { fields = append(fields, canopy.FieldError{Field: f, Key: key}) }
	p.Alias = strings.TrimSpace(p.Alias)
	p.Region = strings.TrimSpace(p.Region)
	switch {
	case p.Alias == "":
		bad("alias", "error.required")
	case len([]rune(p.Alias)) > maxAlias:
		bad("alias", "error.too_long")
	case hasControl(p.Alias, false):
		bad("alias", "error.control_chars")
	}
	if !slices.Contains(canopy.CaseAgeBands, p.AgeBand) {
		bad("age_band", "error.unknown_code")
	}
	var langs []string
	for _, l := range p.Languages {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" || slices.Contains(langs, l) {
			continue
		}
		if !languageRE.MatchString(l) {
			bad("languages", "error.case.language")
			break
		}
		langs = append(langs, l)
	}
	if len(langs) > maxLanguages {
		bad("languages", "error.too_many")
	}
	p.Languages = langs
	switch {
	case len([]rune(p.Region)) > maxRegion:
		bad("region", "error.too_long")
	case hasControl(p.Region, false):
		bad("region", "error.control_chars")
	}
	return fields
}

func normaliseNeeds(needs []string) ([]string, []canopy.FieldError) {
	var out []string
	for _, n := range needs {
		if !slices.Contains(canopy.CaseNeeds, n) {
			return nil, []canopy.FieldError{{Field: "needs", Key: "error.unknown_code"}}
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	// Display order, so that the same needs always read the same.
	slices.SortFunc(out, func(a, b string) int { return slices.Index(canopy.CaseNeeds, a) - slices.Index(canopy.CaseNeeds, b) })
	return out, nil
}

func normaliseDetails(d *canopy.CaseDetails, now time.Time) []canopy.FieldError {
	var fields []canopy.FieldError
	bad := func(f, key string) { fields = append(fields, canopy.FieldError{Field: f, Key: key}) }
	for _, f := range []struct {
		code  string
		v     *string
		max   int
		lines bool
	}{{"name", &d.Name, maxShort, false}, {"contact", &d.Contact, maxShort, true}, {"guardian", &d.Guardian, maxShort, true}, {"notes", &d.Notes, maxLong, true}} {
		*f.v = strings.TrimSpace(strings.ReplaceAll(*f.v, "\r\n", "\n"))
		switch {
		case len([]rune(*f.v)) > f.max:
			bad(f.code, "error.too_long")
		case hasControl(*f.v, f.lines):
			bad(f.code, "error.control_chars")
		}
	}
	d.BirthDate = strings.TrimSpace(d.BirthDate)
	if d.BirthDate != "" {
		t, err := time.Parse(time.DateOnly, d.BirthDate)
		if err != nil || t.After(now) || t.Year() < 1900 {
			bad("birth_date", "error.case.date")
		}
	}
	return fields
}

// hasControl reports whether s has a control character (other than new
// lines and tabs where lines are allowed).
func hasControl(s string, lines bool) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		if lines && (r == '\n' || r == '\t') {
			return false
		}
		return canopy.IsControlRune(r) || r == '\ufffd'
	})
}

// OpenCase opens a support case. Its identifying details, when given, are
// sealed with a data key of its own.
func (s *Service) OpenCase(ctx context.Context, who *canopy.Account, in NewCase) (*canopy.Case, error) {
	if err := s.allow(ctx, who, access.CaseManage, ""); err != nil {
		return nil, err
	}
	now := s.now()
	fields := in.Profile.normalise()
	needs, nf := normaliseNeeds(in.Needs)
	fields = append(fields, nf...)
	fields = append(fields, normaliseDetails(&in.Details, now)...)
	j, jf := s.jurisdiction(who, in.Jurisdiction)
	fields = append(fields, jf...)
	if err := invalid(fields); err != nil {
		return nil, err
	}
	id := canopy.NewID()
	dk, wrapped, err := s.Keys.NewDataKey(keyID(id))
	if err != nil {
		return nil, fmt.Errorf("support: open case: %w", err)
	}
	c := &store.SealedCase{
		Case: canopy.Case{ID: id, Alias: in.Alias, AgeBand: in.AgeBand, Languages: in.Languages, Region: in.Region,
			Needs: needs, Opened: now, OpenedBy: who.ID, Updated: now, Jurisdiction: j, AssignedTo: who.ID},
		WrappedKey: wrapped,
	}
	if c.Details, err = sealDetails(dk, id, &in.Details); err != nil {
		return nil, err
	}
	if err := s.DB.CreateCase(ctx, c); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, who, audit.ActionCaseCreate, id, audit.OK, map[string]string{"details": yesNo(c.Details != nil)}); err != nil {
		return nil, err
	}
	return &c.Case, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func sealDetails(dk *seal.DataKey, id string, d *canopy.CaseDetails) ([]byte, error) {
	if d.Empty() {
		return nil, nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("support: seal details of %s: %w", id, err)
	}
	return dk.Seal(b, detailsContext(id)), nil
}

func openDetails(dk *seal.DataKey, id string, sealed []byte) (*canopy.CaseDetails, error) {
	d := &canopy.CaseDetails{}
	if sealed == nil || dk == nil {
		return d, nil
	}
	b, err := dk.Open(sealed, detailsContext(id))
	if err != nil {
		return nil, fmt.Errorf("support: open details of %s: %w", id, err)
	}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("support: open details of %s: %w", id, err)
	}
	return d, nil
}

// Cases lists a page of cases, newest first, with the total: only the
// pseudonymous fields, so the list is not an opening.
func (s *Service) Cases(ctx context.Context, who *canopy.Account, limit, offset int) ([]canopy.Case, int, error) {
	return s.FindCases(ctx, who, store.CaseFilter{Limit: limit, Offset: offset})
}

// FindCases lists a page of the cases f selects, within the account's
// jurisdictions, newest first, with the total. The listing is audited
// with the number of rows shown.
func (s *Service) FindCases(ctx context.Context, who *canopy.Account, f store.CaseFilter) ([]canopy.Case, int, error) {
	if err := s.allow(ctx, who, access.CaseManage, ""); err != nil {
		return nil, 0, err
	}
	f.Jurisdictions = who.Jurisdictions
	list, total, err := s.DB.Cases(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	// A list is not an opening, but it shows aliases: who saw which
	// page of them is on record.
	if err := s.audit(ctx, who, audit.ActionCaseView, "", audit.OK, map[string]string{"part": "list", "rows": strconv.Itoa(len(list))}); err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

// Referral is a service referral with the service's name, when the
// directory has it.
type Referral struct {
	canopy.ServiceReferral
	ServiceName string
}

// File is a case as its caseworker works it: everything but the
// identifying details, which Details opens apart.
type File struct {
	Case      canopy.Case
	Consents  canopy.Consents
	Links     []store.CaseLink
	Referrals []Referral
	Plan      *canopy.SafetyPlan // nil when there is none
	CheckIns  []canopy.CheckIn
	Erasures  []canopy.Erasure
	Holds     []canopy.LegalHold
	// HasDetails is true when identifying details are recorded; they are
	// not opened here.
	HasDetails bool
	// Redacted holds when each detail field was last redacted.
	Redacted map[string]time.Time
	// FirstReport is when the earliest linked report arrived, or zero;
	// FirstSupport is the first contact of any service, or zero.
	FirstReport, FirstSupport time.Time
	// At is when the file was read: consent is judged at this time.
	At time.Time
}

// Allows reports whether consent to purpose stands now, on a case not
// deleted.
func (f *File) Allows(purpose string) bool {
	return !f.Case.IsDeleted() && f.Consents.Allows(purpose, f.At)
}

// Case opens a case for its caseworker: the opening is audited first.
// The safety plan and notes are opened; the identifying details are not
// (see Details). A deleted case shows what is left of it.
func (s *Service) Case(ctx context.Context, who *canopy.Account, id string) (*File, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, err
	}
	c, err := s.DB.Case(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, who, audit.ActionCaseView, id, audit.OK, map[string]string{"part": "case"}); err != nil {
		return nil, err
	}
	dk, err := s.dataKey(c)
	if err != nil {
		return nil, err
	}
	f := &File{Case: c.Case, HasDetails: c.Details != nil && dk != nil, Redacted: map[string]time.Time{}, At: s.now()}
	if f.Consents, err = s.DB.CaseConsents(ctx, id); err != nil {
		return nil, err
	}
	if f.Links, err = s.DB.CaseLinks(ctx, id); err != nil {
		return nil, err
	}
	for _, l := range f.Links {
		if f.FirstReport.IsZero() || l.Received.Before(f.FirstReport) {
			f.FirstReport = l.Received
		}
	}
	refs, err := s.DB.ServiceReferrals(ctx, id)
	if err != nil {
		return nil, err
	}
	f.FirstSupport = canopy.FirstSupport(refs)
	names := s.serviceNames(ctx)
	for _, r := range refs {
		f.Referrals = append(f.Referrals, Referral{ServiceReferral: r, ServiceName: names[r.ServiceID]})
	}
	if f.Plan, err = s.plan(ctx, c, dk); err != nil && canopy.ErrorCode(err) != canopy.ENOTFOUND {
		return nil, err
	}
	if f.CheckIns, err = s.checkIns(ctx, id, dk); err != nil {
		return nil, err
	}
	erasures, err := s.DB.CaseErasures(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range erasures {
		if e.Note, err = openText(dk, e.SealedNote, erasureContext(id, e.ID)); err != nil {
			return nil, err
		}
		f.Erasures = append(f.Erasures, e.Erasure)
		if e.Kind == canopy.ErasureRedact && e.Decision == canopy.ErasureDone && slices.Contains(canopy.DetailFields, e.Target) {
			f.Redacted[e.Target] = e.At
		}
	}
	if f.Holds, err = s.holds(ctx, id, dk); err != nil {
		return nil, err
	}
	return f, nil
}

// openText opens a sealed text; "" when there is none or the key is gone.
func openText(dk *seal.DataKey, sealed []byte, context string) (string, error) {
	if sealed == nil || dk == nil {
		return "", nil
	}
	b, err := dk.Open(sealed, context)
	if err != nil {
		return "", fmt.Errorf("support: open %s: %w", context, err)
	}
	return string(b), nil
}

// serviceNames names the directory's services by id. The directory is
// another part of the node; if it cannot be read, referrals show the ids.
func (s *Service) serviceNames(ctx context.Context) map[string]string {
	out := map[string]string{}
	choices, err := s.DB.ServiceChoices(ctx)
	if err != nil {
		s.logger().Warn("support: service names", "err", err)
		return out
	}
	for _, c := range choices {
		out[c.ID] = c.Name
	}
	return out
}

// ServiceChoices lists the active services of the directory a caseworker
// may refer to.
func (s *Service) ServiceChoices(ctx context.Context, who *canopy.Account) ([]store.ServiceChoice, error) {
	if err := s.allow(ctx, who, access.CaseManage, ""); err != nil {
		return nil, err
	}
	all, err := s.DB.ServiceChoices(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(c store.ServiceChoice) bool { return !c.Active }), nil
}

// Details opens a case's identifying details. The opening is audited
// apart from the case's, so auditors see who read what identifies a child.
func (s *Service) Details(ctx context.Context, who *canopy.Account, id string) (*canopy.CaseDetails, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, err
	}
	c, err := s.DB.Case(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.IsDeleted() {
		return nil, errDeleted
	}
	if err := s.audit(ctx, who, audit.ActionCaseView, id, audit.OK, map[string]string{"part": "details"}); err != nil {
		return nil, err
	}
	dk, err := s.dataKey(c)
	if err != nil {
		return nil, err
	}
	return openDetails(dk, id, c.Details)
}

var errClosed = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.closed"}

// Steps a closed case still takes: what ends a link, and what a service
// reports late of a referral made while the case was open. Consent,
// erasure and holds have their own paths and always work.
var afterClose = []string{"unlink", "referral_status", "reopen"}

// update changes a live case under its lock and audits the change with
// details. fn gets the case and its data key. The caller has checked the
// permission. A closed case refuses every step but those of afterClose.
func (s *Service) update(ctx context.Context, who *canopy.Account, id string, details map[string]string,
	fn func(tx *store.Tx, c *store.SealedCase, dk *seal.DataKey, now time.Time) error) error {
	now := s.now()
	err := s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
		if c.IsDeleted() {
			return errDeleted
		}
		if c.IsClosed() && !slices.Contains(afterClose, details["step"]) {
			return errClosed
		}
		dk, err := s.dataKey(c)
		if err != nil {
			return err
		}
		return fn(tx, c, dk, now)
	})
	if err != nil {
		return err
	}
	return s.audit(ctx, who, audit.ActionCaseUpdate, id, audit.OK, details)
}

// SetProfile changes a case's alias, age band, languages and region.
func (s *Service) SetProfile(ctx context.Context, who *canopy.Account, id string, p Profile) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	if err := invalid(p.normalise()); err != nil {
		return err
	}
	return s.update(ctx, who, id, map[string]string{"step": "profile"}, func(tx *store.Tx, c *store.SealedCase, _ *seal.DataKey, now time.Time) error {
		c.Alias, c.AgeBand, c.Languages, c.Region, c.Updated = p.Alias, p.AgeBand, p.Languages, p.Region, now
		return tx.PutCase(c)
	})
}

// SetNeeds replaces a case's needs.
func (s *Service) SetNeeds(ctx context.Context, who *canopy.Account, id string, needs []string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	needs, fields := normaliseNeeds(needs)
	if err := invalid(fields); err != nil {
		return err
	}
	return s.update(ctx, who, id, map[string]string{"step": "needs", "needs": strings.Join(needs, ",")},
		func(tx *store.Tx, c *store.SealedCase, _ *seal.DataKey, now time.Time) error {
			c.Needs, c.Updated = needs, now
			return tx.PutCase(c)
		})
}

// SetDetails replaces a case's identifying details; all empty removes
// them.
func (s *Service) SetDetails(ctx context.Context, who *canopy.Account, id string, d canopy.CaseDetails) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	if err := invalid(normaliseDetails(&d, s.now())); err != nil {
		return err
	}
	return s.update(ctx, who, id, map[string]string{"step": "details"}, func(tx *store.Tx, c *store.SealedCase, dk *seal.DataKey, now time.Time) error {
		sealed, err := sealDetails(dk, id, &d)
		if err != nil {
			return err
		}
		c.Details, c.Updated = sealed, now
		return tx.PutCase(c)
	})
}

// LinkReport ties a case to a report. The child's consent to
// investigation must stand: it is what lets analysts and liaisons see that
// the report has a support case.
func (s *Service) LinkReport(ctx context.Context, who *canopy.Account, id, reportID string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	reportID = strings.ToLower(strings.TrimSpace(reportID))
	if reportID == "" {
		return invalid([]canopy.FieldError{{Field: "report", Key: "error.required"}})
	}
	var after func()
	err := s.update(ctx, who, id, map[string]string{"step": "link", "report": auditToken(reportID)},
		func(tx *store.Tx, c *store.SealedCase, _ *seal.DataKey, now time.Time) error {
			after = nil
			consents, err := tx.CaseConsents(id)
			if err != nil {
				return err
			}
			if !consents.Allows(canopy.PurposeInvestigation, now) {
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.consent_investigation"}
			}
			err = tx.LinkCaseReport(store.CaseLink{CaseID: id, ReportID: reportID, Linked: now, By: who.ID})
			if canopy.ErrorCode(err) == canopy.ENOTFOUND {
				return invalid([]canopy.FieldError{{Field: "report", Key: "error.report.not_found"}})
			}
			if err != nil || consents.Allows(canopy.PurposeCrossBorder, now) {
				return err
			}
			// The report may already have gone abroad with what the
			// child has not agreed to share: tell those peers.
			after, err = s.withdraw(tx, []string{reportID}, canopy.WithdrawalNoConsent, now)
			return err
		})
	if err == nil && after != nil {
		after()
	}
	return err
}

// withdraw tells the peers the reports were referred to that the child's
// consent to share them abroad no longer stands, as part of tx.
func (s *Service) withdraw(tx *store.Tx, reportIDs []string, reason string, now time.Time) (func(), error) {
	if s.Sharing == nil || len(reportIDs) == 0 {
		return nil, nil
	}
	after, err := s.Sharing.Withdraw(tx, reportIDs, reason, now)
	if err != nil {
		return nil, fmt.Errorf("support: tell peers (%s): %w", reason, err)
	}
	return after, nil
}

// UnlinkReport unties a case from a report.
func (s *Service) UnlinkReport(ctx context.Context, who *canopy.Account, id, reportID string) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	reportID = strings.ToLower(strings.TrimSpace(reportID))
	return s.update(ctx, who, id, map[string]string{"step": "unlink", "report": auditToken(reportID)},
		func(tx *store.Tx, _ *store.SealedCase, _ *seal.DataKey, _ time.Time) error {
			ok, err := tx.UnlinkCaseReport(id, reportID)
			if err == nil && !ok {
				err = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
			}
			return err
		})
}

// auditToken keeps a typed id out of the audit log unless it is one.
func auditToken(s string) string {
	if len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') }) {
		return "invalid"
	}
	return s
}

// Refer refers a case to a service of the directory for a need. The
// child's consent to support must stand: a referral sends the child to
// people outside the node.
func (s *Service) Refer(ctx context.Context, who *canopy.Account, id, serviceID, need string) (*canopy.ServiceReferral, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, err
	}
	var fields []canopy.FieldError
	if need != "" && !slices.Contains(canopy.CaseNeeds, need) {
		fields = append(fields, canopy.FieldError{Field: "need", Key: "error.unknown_code"})
	}
	serviceID = strings.TrimSpace(serviceID)
	if serviceID == "" {
		fields = append(fields, canopy.FieldError{Field: "service", Key: "error.required"})
	} else if len(serviceID) > 128 {
		fields = append(fields, canopy.FieldError{Field: "service", Key: "error.too_long"})
	}
	if err := invalid(fields); err != nil {
		return nil, err
	}
	choices, err := s.DB.ServiceChoices(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(choices, func(c store.ServiceChoice) bool { return c.ID == serviceID && c.Active })
	if i < 0 {
		return nil, invalid([]canopy.FieldError{{Field: "service", Key: "error.case.service"}})
	}
	abroad := s.abroad(choices[i].Country)
	r := &canopy.ServiceReferral{ID: canopy.NewID(), CaseID: id, ServiceID: serviceID, Need: need, Status: canopy.ServiceReferralSent, By: who.ID}
	err = s.update(ctx, who, id, map[string]string{"step": "refer", "referral": r.ID},
		func(tx *store.Tx, _ *store.SealedCase, _ *seal.DataKey, now time.Time) error {
			consents, err := tx.CaseConsents(id)
			if err != nil {
				return err
			}
			if !consents.Allows(canopy.PurposeSupport, now) {
				return errNoSupportConsent
			}
			if abroad && !consents.Allows(canopy.PurposeCrossBorder, now) {
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.consent_cross_border"}
			}
			r.Sent = now
			return tx.AddServiceReferral(r)
		})
	if err != nil {
		return nil, err
	}
	return r, nil
}

var errNoSupportConsent = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.consent_support"}

// abroad reports whether a service's country is outside the node's
// jurisdictions. A node that names none, or a service that names no
// country, is taken as home.
func (s *Service) abroad(country string) bool {
	return country != "" && len(s.Jurisdictions) > 0 && !slices.Contains(s.Jurisdictions, country)
}

// requireSupport refuses a step of the support purpose (a plan, a
// check-in) when the child's consent to support does not stand.
func requireSupport(tx *store.Tx, id string, now time.Time) error {
	consents, err := tx.CaseConsents(id)
	if err != nil {
		return err
	}
	if !consents.Allows(canopy.PurposeSupport, now) {
		return errNoSupportConsent
	}
	return nil
}

// AdvanceReferral records the next step of a service referral, which
// happened at at (now when zero).
func (s *Service) AdvanceReferral(ctx context.Context, who *canopy.Account, id, referralID, status string, at time.Time) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	return s.update(ctx, who, id, map[string]string{"step": "referral_status", "referral": auditToken(referralID), "status": auditToken(status)},
		func(tx *store.Tx, _ *store.SealedCase, _ *seal.DataKey, now time.Time) error {
			if at.IsZero() {
				at = now
			}
			if at.After(now) {
				return invalid([]canopy.FieldError{{Field: "on", Key: "error.case.date"}})
			}
			r, err := tx.ServiceReferral(id, referralID)
			if err != nil {
				return err
			}
			if err := r.Advance(status, at); err != nil {
				return err
			}
			return tx.PutServiceReferral(r)
		})
}
