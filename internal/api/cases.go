package api

import (
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/support"
)

// The case routes let staff read support cases with a session token, as
// the workspace shows them: caseworkers the list, a case's file and the
// anonymised statistics; staff who see a report which cases are linked to
// it. They read only, and only through package support, which checks the
// role, judges the child's consent at the moment of reading and audits
// what it shows. What a case records that could identify the child (the
// sealed details) and every text in someone's own words (the safety plan,
// check-in notes, erasure notes, hold reasons) are never answered: a
// client of the API gets pseudonymous fields, codes and dates.

// Paging of GET /api/v1/cases. The store reads at most 1000 cases at once.
const (
	defaultCasesLimit = 100
	maxCasesLimit     = 1000
	maxCasesOffset    = math.MaxInt32
)

// caseSummary is a case as the list shows it.
type caseSummary struct {
	ID        string   `json:"id"`
	Alias     string   `json:"alias"`
	AgeBand   string   `json:"age_band"`
	Languages []string `json:"languages"`
	Region    string   `json:"region"`
	Needs     []string `json:"needs"`
	Opened    string   `json:"opened"`
	Updated   string   `json:"updated"`
	Deleted   bool     `json:"deleted"`
	Held      bool     `json:"held"`
}

// caseList is the answer to GET /api/v1/cases.
type caseList struct {
	Cases  []caseSummary `json:"cases"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`
}

// caseFileAnswer is the answer to GET /api/v1/cases/{id}.
type caseFileAnswer struct {
	caseSummary
	Consents   []consentAnswer  `json:"consents"`
	Reports    []string         `json:"reports"`
	Referrals  []referralAnswer `json:"referrals"`
	CheckIns   []checkInAnswer  `json:"check_ins"`
	SafetyPlan bool             `json:"safety_plan"`
	Holds      []holdAnswer     `json:"holds"`
	Erasures   []erasureAnswer  `json:"erasures"`
}

type consentAnswer struct {
	Purpose   string `json:"purpose"`
	GivenBy   string `json:"given_by"`
	Method    string `json:"method"`
	Given     string `json:"given"`
	Expires   string `json:"expires,omitempty"`
	Withdrawn string `json:"withdrawn,omitempty"`
	// Standing is whether the consent stands when the file was read.
	Standing bool `json:"standing"`
}

type referralAnswer struct {
	ID           string `json:"id"`
	ServiceID    string `json:"service_id"`
	ServiceName  string `json:"service_name,omitempty"`
	Need         string `json:"need,omitempty"`
	Status       string `json:"status"`
	Sent         string `json:"sent"`
	Accepted     string `json:"accepted,omitempty"`
	FirstContact string `json:"first_contact,omitempty"`
	Completed    string `json:"completed,omitempty"`
	Declined     string `json:"declined,omitempty"`
}

type checkInAnswer struct {
	N       int    `json:"n"`
	At      string `json:"at"`
	Scale   string `json:"scale"`
	Percent int    `json:"percent"`
}

type holdAnswer struct {
	Placed string `json:"placed"`
	Lifted string `json:"lifted,omitempty"`
}

type erasureAnswer struct {
	Kind     string `json:"kind"`
	Target   string `json:"target,omitempty"`
	Decision string `json:"decision"`
	At       string `json:"at"`
}

// caseStatisticsAnswer is the answer to GET /api/v1/cases/statistics.
type caseStatisticsAnswer struct {
	Rows []statisticsRow `json:"rows"`
}

type statisticsRow struct {
	Opened    string   `json:"opened"`
	AgeBand   string   `json:"age_band"`
	Languages []string `json:"languages"`
	Needs     []string `json:"needs"`
	Referrals int      `json:"referrals"`
	// SecondsToFirstSupport is absent while no service has met the child.
	SecondsToFirstSupport *int64 `json:"seconds_to_first_support,omitempty"`
	CheckIns              int    `json:"check_ins"`
	// The well-being scores are absent without a check-in.
	FirstWellBeing *int `json:"first_well_being,omitempty"`
	LastWellBeing  *int `json:"last_well_being,omitempty"`
}

// reportCasesAnswer is the answer to GET /api/v1/reports/{id}/cases.
type reportCasesAnswer struct {
	Report string       `json:"report"`
	Cases  []linkedCase `json:"cases"`
}

type linkedCase struct {
	Alias   string `json:"alias"`
	AgeBand string `json:"age_band"`
}

// caseCall checks what every case route needs before it reads anything:
// the services (503), ?lang= (400) and a staff session (401). What the
// member's role allows is support's to judge, and to audit. needTriage is
// whether the route also asks triage which reports the member may see.
func (h *handler) caseCall(w http.ResponseWriter, r *http.Request, needTriage bool) (*canopy.Account, bool) {
	if h.support == nil || h.staff == nil || needTriage && h.triage == nil {
		h.fail(w, r, &canopy.Error{Code: canopy.EUNAVAILABLE})
		return nil, false
	}
	if _, err := lang(r); err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return h.staffMember(w, r)
}

// cases answers GET /api/v1/cases?limit=&offset= with a page of cases,
// newest first, and how many there are.
func (h *handler) cases(w http.ResponseWriter, r *http.Request) {
	who, ok := h.caseCall(w, r, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	var fields []canopy.FieldError
	limit := pageParam(q["limit"], "limit", 1, maxCasesLimit, defaultCasesLimit, &fields)
	offset := pageParam(q["offset"], "offset", 0, maxCasesOffset, 0, &fields)
	if len(fields) > 0 {
		h.fail(w, r, badParams(fields))
		return
	}
	list, total, err := h.support.Cases(r.Context(), who, limit, offset)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer := caseList{Cases: make([]caseSummary, len(list)), Total: total, Limit: limit, Offset: offset}
	for i := range list {
		answer.Cases[i] = summarise(&list[i])
	}
	h.writeJSON(w, r, http.StatusOK, answer)
}

// pageParam reads a paging parameter between lo and hi, def when absent,
// adding a field error when it is repeated, not a number, under lo or
// over hi.
func pageParam(v []string, name string, lo, hi, def int, fields *[]canopy.FieldError) int {
	if len(v) == 0 {
		return def
	}
	n, ok := parseCount(v[0])
	switch {
	case len(v) > 1:
		*fields = append(*fields, canopy.FieldError{Field: name, Key: intake.KeyDuplicate})
	case !ok || n < int64(lo):
		*fields = append(*fields, canopy.FieldError{Field: name, Key: intake.KeyInvalid})
	case n > int64(hi):
		*fields = append(*fields, canopy.FieldError{Field: name, Key: intake.KeyTooMany, Args: []any{hi}})
	default:
		return int(n)
	}
	return def
}

// summarise keeps a case's pseudonymous fields. The store blanks the
// alias and region of a deleted case; they are blanked here again, so
// that nothing that pointed to the child can leave through the API
// whatever the store keeps.
func summarise(c *canopy.Case) caseSummary {
	s := caseSummary{ID: c.ID, Alias: c.Alias, AgeBand: c.AgeBand, Languages: nonNil(c.Languages), Region: c.Region,
		Needs: nonNil(c.Needs), Opened: timestamp(c.Opened), Updated: timestamp(c.Updated), Deleted: c.IsDeleted(), Held: c.Held}
	if s.Deleted {
		s.Alias, s.Region = "", ""
	}
	return s
}

// caseFile answers GET /api/v1/cases/{id} with a case's file: an opening
// that support audits. A deleted case answers with what is left of it.
func (h *handler) caseFile(w http.ResponseWriter, r *http.Request) {
	who, ok := h.caseCall(w, r, false)
	if !ok {
		return
	}
	f, err := h.support.Case(r.Context(), who, pathID(r))
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		err = &canopy.Error{Code: canopy.ENOTFOUND}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, fileAnswer(f))
}

// fileAnswer is a case's file without anything sealed: no details, no
// words of the plan, no notes, no reasons.
func fileAnswer(f *support.File) caseFileAnswer {
	deleted := f.Case.IsDeleted()
	a := caseFileAnswer{
		caseSummary: summarise(&f.Case),
		Consents:    make([]consentAnswer, len(f.Consents)),
		Reports:     []string{},
		Referrals:   make([]referralAnswer, len(f.Referrals)),
		CheckIns:    make([]checkInAnswer, len(f.CheckIns)),
		// A deleted case's plan, or a redacted one, has no words left.
		SafetyPlan: f.Plan != nil && !deleted && f.Plan.Redacted.IsZero(),
		Holds:      make([]holdAnswer, len(f.Holds)),
		Erasures:   make([]erasureAnswer, len(f.Erasures)),
	}
	for i, c := range f.Consents {
		a.Consents[i] = consentAnswer{Purpose: c.Purpose, GivenBy: c.GivenBy, Method: c.Method, Given: timestamp(c.Given),
			Expires: optional(c.Expires), Withdrawn: optional(c.Withdrawn), Standing: !deleted && c.Active(f.At)}
	}
	// The store unlinks a deleted case; a link left over is not shown.
	if !deleted {
		for _, l := range f.Links {
			a.Reports = append(a.Reports, l.ReportID)
		}
	}
	for i, r := range f.Referrals {
		a.Referrals[i] = referralAnswer{ID: r.ID, ServiceID: r.ServiceID, ServiceName: r.ServiceName, Need: r.Need, Status: r.Status,
			Sent: timestamp(r.Sent), Accepted: optional(r.Accepted), FirstContact: optional(r.FirstContact),
			Completed: optional(r.Completed), Declined: optional(r.Declined)}
	}
	for i, c := range f.CheckIns {
		a.CheckIns[i] = checkInAnswer{N: c.N, At: timestamp(c.At), Scale: c.Scale, Percent: c.Percent()}
	}
	for i, hd := range f.Holds {
		a.Holds[i] = holdAnswer{Placed: timestamp(hd.Placed), Lifted: optional(hd.Lifted)}
	}
	for i, e := range f.Erasures {
		a.Erasures[i] = erasureAnswer{Kind: e.Kind, Target: e.Target, Decision: e.Decision, At: timestamp(e.At)}
	}
	return a
}

// caseStatistics answers GET /api/v1/cases/statistics with the anonymised
// rows of the cases whose consent to statistics stands now.
func (h *handler) caseStatistics(w http.ResponseWriter, r *http.Request) {
	who, ok := h.caseCall(w, r, false)
	if !ok {
		return
	}
	rows, err := h.support.Statistics(r.Context(), who)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer := caseStatisticsAnswer{Rows: make([]statisticsRow, len(rows))}
	for i, row := range rows {
		out := statisticsRow{Opened: row.Opened, AgeBand: row.AgeBand, Languages: nonNil(row.Languages), Needs: nonNil(row.Needs),
			Referrals: row.Referrals, CheckIns: row.CheckIns}
		if row.ToFirstSupport >= 0 {
			s := int64(row.ToFirstSupport / time.Second)
			out.SecondsToFirstSupport = &s
		}
		if row.FirstWellBeing >= 0 {
			out.FirstWellBeing = &row.FirstWellBeing
		}
		if row.LastWellBeing >= 0 {
			out.LastWellBeing = &row.LastWellBeing
		}
		answer.Rows[i] = out
	}
	h.writeJSON(w, r, http.StatusOK, answer)
}

// reportCases answers GET /api/v1/reports/{id}/cases with the alias and
// age band of each support case linked to the report whose child's
// consent to investigation stands now. Triage decides whether the member
// may see the report at all: a report outside their jurisdictions is not
// found, exactly as one that does not exist.
func (h *handler) reportCases(w http.ResponseWriter, r *http.Request) {
	who, ok := h.caseCall(w, r, true)
	if !ok {
		return
	}
	ctx := r.Context()
	id := pathID(r)
	_, err := h.triage.Authorize(ctx, who, access.ReportView, id)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		err = &canopy.Error{Code: canopy.ENOTFOUND} // the same answer whichever the reason
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	linked, err := h.support.LinkedCases(ctx, who, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer := reportCasesAnswer{Report: id, Cases: make([]linkedCase, len(linked))}
	for i, c := range linked {
		answer.Cases[i] = linkedCase{Alias: c.Alias, AgeBand: c.AgeBand}
	}
	h.writeJSON(w, r, http.StatusOK, answer)
}

// pathID returns the {id} of the path when it could be a record id
// (lowercase letters and digits, as canopy.NewID makes them), and ""
// otherwise, which names no record. What is not an id never reaches the
// store or the audit log, and is answered as any unknown id is.
func pathID(r *http.Request) string {
	id := r.PathValue("id")
	if len(id) > 64 || slices.ContainsFunc([]byte(id), func(c byte) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') }) {
		return ""
	}
	return id
}

// optional writes a time that may be zero: "" (left out) when it is.
func optional(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timestamp(t)
}

// nonNil writes an empty list as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
