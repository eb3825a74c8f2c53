// Package triage is where a hotline's staff turn reports into decisions:
// the prioritised queue with its service-level clocks, claiming, opening a
// report's sealed content, assessing it in the harmonised taxonomy,
// supervisors' review, linking and merging duplicates, and messages with
// anonymous reporters. Every action is checked against the permission
// matrix (internal/access) and the member's jurisdictions, recorded on the
// report's timeline, and written to the audit log; refusals are audited
// too.
package triage

import (
	"context"
	"encoding/json"
	"fmt"
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

// Default service levels: the time from receipt to the first look.
const (
	DefaultUrgentSLA = time.Hour
	DefaultSLA       = 24 * time.Hour
)

// Service is the triage capability of a node.
type Service struct {
	DB    *store.DB
	Keys  *seal.Keyring
	Audit *audit.Log
	Now   func() time.Time
	// UrgentSLA and SLA are the first-look deadlines; zero means the
	// defaults.
	UrgentSLA, SLA time.Duration
	// Assessed, when set, is told of each assessment once it is recorded
	// (takedown prepares its notices). It must not block.
	Assessed func(id string, a canopy.Assessment)
}

func (s *Service) sla(urgent bool) time.Duration {
	switch {
	case urgent && s.UrgentSLA > 0:
		return s.UrgentSLA
	case urgent:
		return DefaultUrgentSLA
	case s.SLA > 0:
		return s.SLA
	}
	return DefaultSLA
}

func (s *Service) log(ctx context.Context, who *canopy.Account, action audit.Action, id string, outcome audit.Outcome, details map[string]string) error {
	e := audit.Entry{Actor: audit.Staff(who.ID), Action: action, Outcome: outcome, Details: details}
	if id != "" {
		e.Kind, e.ID = audit.KindReport, id
	}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("triage: audit %s: %w", action, err)
	}
	return nil
}

// allow checks a permission; a refusal is audited and returned as
// EFORBIDDEN.
func (s *Service) allow(ctx context.Context, who *canopy.Account, p access.Permission, reportID string) error {
	if access.Can(who.Role, p) {
		return nil
	}
	if err := s.log(ctx, who, audit.ActionPermissionDenied, reportID, audit.Denied, map[string]string{"permission": string(p)}); err != nil {
		return err
	}
	return &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.forbidden"}
}

// Authorize checks that a member of staff holds permission p and may act
// on report id at all, auditing a refusal, and returns the report's triage
// state. Other services that act on reports (federation) check through it.
func (s *Service) Authorize(ctx context.Context, who *canopy.Account, p access.Permission, id string) (*canopy.TriageState, error) {
	return s.state(ctx, who, p, id)
}

// state loads a report's triage state and checks the member may act on it
// at all. A report outside their jurisdictions is "not found", so the
// answer reveals nothing about it.
func (s *Service) state(ctx context.Context, who *canopy.Account, p access.Permission, id string) (*canopy.TriageState, error) {
	if err := s.allow(ctx, who, p, ""); err != nil {
		return nil, err
	}
	st, err := s.DB.TriageState(ctx, id)
	if err != nil {
		return nil, err
	}
	if !access.InJurisdiction(who, st.Jurisdiction) {
		if err := s.log(ctx, who, audit.ActionPermissionDenied, id, audit.Denied, map[string]string{"reason": "jurisdiction"}); err != nil {
			return nil, err
		}
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
	}
	return st, nil
}

// Item is one row of the queue.
type Item struct {
	store.QueueRow
	Age      time.Duration
	Due      time.Time // the first-look deadline
	Breached bool      // no first look by the deadline
}

// Queue returns a page of the member's queue and the total number of open
// reports in it.
func (s *Service) Queue(ctx context.Context, who *canopy.Account, limit, offset int) ([]Item, int, error) {
	if err := s.allow(ctx, who, access.QueueView, ""); err != nil {
		return nil, 0, err
	}
	rows, total, err := s.DB.Queue(ctx, store.QueueFilter{Jurisdictions: who.Jurisdictions, Limit: limit, Offset: offset})
	if err != nil {
		return nil, 0, err
	}
	now := s.Now()
	items := make([]Item, len(rows))
	for i, r := range rows {
		due := r.Received.Add(s.sla(r.Urgent))
		items[i] = Item{QueueRow: r, Age: now.Sub(r.Received), Due: due,
			Breached: r.FirstLook.IsZero() && now.After(due) || !r.FirstLook.IsZero() && r.FirstLook.After(due)}
	}
	return items, total, nil
}

// View is what a report page shows before the sealed content is opened.
type View struct {
	Report   canopy.Report // without Content
	State    canopy.TriageState
	Timeline []canopy.Event // without message bodies
	Linked   map[string][]string
	// Assessment is the latest assessment, if any.
	Assessment *canopy.Assessment
}

// Report returns a report's triage fields, timeline and links. Nothing
// sensitive is opened.
func (s *Service) Report(ctx context.Context, who *canopy.Account, id string) (*View, error) {
	st, err := s.state(ctx, who, access.ReportView, id)
	if err != nil {
		return nil, err
	}
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.DB.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &View{Report: sr.Report, State: *st}
	for _, e := range events {
		e.Body = ""
		v.Timeline = append(v.Timeline, e.Event)
		if e.Kind == canopy.EventAssessed {
			v.Assessment = assessmentOf(e.Event)
		}
	}
	if v.Linked, err = s.DB.Linked(ctx, id); err != nil {
		return nil, err
	}
	return v, nil
}

func assessmentOf(e canopy.Event) *canopy.Assessment {
	return &canopy.Assessment{
		Category: e.Data["category"], Flags: strings.Fields(e.Data["flags"]), Imagery: e.Data["imagery"],
		IndustryClass: e.Data["industry_class"], AgeBand: e.Data["age_band"], Outcome: e.Data["outcome"],
		By: e.Actor, At: e.At,
	}
}

// Opened is a report's sealed content, opened for a member of staff.
type Opened struct {
	Content  canopy.ReportContent
	Messages []canopy.Message
	Reasons  map[int64]string // assessment reasons by event id
}

// Open decrypts a report's content and messages for a member of staff. The
// opening is written to the audit log first; the first opening also marks
// the report's first look.
func (s *Service) Open(ctx context.Context, who *canopy.Account, id string) (*Opened, error) {
	st, err := s.state(ctx, who, access.ReportOpen, id)
	if err != nil {
		return nil, err
	}
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.log(ctx, who, audit.ActionReportView, id, audit.OK, nil); err != nil {
		return nil, err
	}
	if st.FirstLook.IsZero() {
		if _, err := s.DB.ApplyEvents(ctx, id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventFirstLook, At: s.Now().UTC(), Actor: who.ID}}); err != nil {
			return nil, err
		}
	}
	out := &Opened{Reasons: map[int64]string{}}
	if sr.WrappedKey == nil {
		return out, nil // erased: the timeline remains, the words do not
	}
	dk, err := s.Keys.OpenDataKey(id, sr.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("triage: open %s: %w", id, err)
	}
	plain, err := dk.Open(sr.Content, "report/"+id+"/content")
	if err != nil {
		return nil, fmt.Errorf("triage: open %s: %w", id, err)
	}
	if err := json.Unmarshal(plain, &out.Content); err != nil {
		return nil, fmt.Errorf("triage: open %s: %w", id, err)
	}
	events, err := s.DB.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if e.SealedBody == nil {
			continue
		}
		body, err := dk.Open(e.SealedBody, eventContext(id, e.At))
		if err != nil {
			return nil, fmt.Errorf("triage: open event %d of %s: %w", e.ID, id, err)
		}
		if e.IsMessage() {
			out.Messages = append(out.Messages, canopy.Message{At: e.At, FromReporter: e.Kind == canopy.EventReporterMessage, Body: string(body)})
		} else {
			out.Reasons[e.ID] = string(body)
		}
	}
	return out, nil
}

// eventContext binds a sealed event body to its report and time; intake
// uses the same binding for messages.
func eventContext(id string, at time.Time) string {
	return "report/" + id + "/event/" + strconv.FormatInt(at.UnixMicro(), 10)
}

// sealFor seals text for an event on report id at time at.
func (s *Service) sealFor(ctx context.Context, id string, at time.Time, text string) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	if sr.WrappedKey == nil {
		return nil, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.erased"}
	}
	dk, err := s.Keys.OpenDataKey(id, sr.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("triage: seal for %s: %w", id, err)
	}
	return dk.Seal([]byte(text), eventContext(id, at)), nil
}

var errClaimed = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.claimed"}
var errClosed = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.closed"}

// Claim takes a report to work on. Someone else's claim is a conflict,
// except for a supervisor, who may take a report over.
func (s *Service) Claim(ctx context.Context, who *canopy.Account, id string) error {
	if _, err := s.state(ctx, who, access.ReportClaim, id); err != nil {
		return err
	}
	takeover := access.Can(who.Role, access.ReportReview)
	_, err := s.DB.ApplyEvents(ctx, id, func(st *canopy.TriageState) error {
		if !canopy.IsOpen(st.Stage) {
			return errClosed
		}
		if st.ClaimedBy != "" && st.ClaimedBy != who.ID && !takeover {
			return errClaimed
		}
		return nil
	}, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventClaimed, At: s.Now().UTC(), Actor: who.ID}})
	if err != nil {
		return err
	}
	return s.log(ctx, who, audit.ActionReportAssess, id, audit.OK, map[string]string{"step": "claim"})
}

// ValidateAssessment checks an assessment's codes and returns the field
// errors as an EINVALID error.
func ValidateAssessment(a *canopy.Assessment) error {
	var fields []canopy.FieldError
	bad := func(f, key string) { fields = append(fields, canopy.FieldError{Field: f, Key: key}) }
	if !canopy.IsCategory(a.Category) {
		bad("category", "error.unknown_code")
	}
	for _, f := range a.Flags {
		if !canopy.IsFlag(f) {
			bad("flags", "error.unknown_code")
		}
	}
	if a.Imagery != "" && !slices.Contains(canopy.ImageryDecisions, a.Imagery) {
		bad("imagery", "error.unknown_code")
	}
	if a.IndustryClass != "" && !slices.Contains(canopy.IndustryClasses, a.IndustryClass) {
		bad("industry_class", "error.unknown_code")
	}
	if a.AgeBand != "" && !slices.Contains(canopy.AgeBands, a.AgeBand) {
		bad("age_band", "error.unknown_code")
	}
	if a.IndustryClass != "" && a.Imagery == "" {
		bad("imagery", "error.required")
	}
	if !slices.Contains(canopy.Outcomes, a.Outcome) {
		bad("outcome", "error.unknown_code")
	}
	if strings.TrimSpace(a.Reasons) == "" {
		bad("reasons", "error.required")
	} else if len([]rune(a.Reasons)) > 5000 {
		bad("reasons", "error.too_long")
	}
	if len(fields) > 0 {
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: fields}
	}
	return nil
}

// Assess records an assessment and its outcome. The member must hold the
// claim (a supervisor need not). The reporter sees the new status at once.
func (s *Service) Assess(ctx context.Context, who *canopy.Account, id string, a canopy.Assessment) error {
	if _, err := s.state(ctx, who, access.ReportAssess, id); err != nil {
		return err
	}
	if err := ValidateAssessment(&a); err != nil {
		return err
	}
	slices.Sort(a.Flags)
	a.Flags = slices.Compact(a.Flags)
	at := s.Now().UTC()
	reasons, err := s.sealFor(ctx, id, at, strings.TrimSpace(a.Reasons))
	if err != nil {
		return err
	}
	supervisor := access.Can(who.Role, access.ReportReview)
	data := map[string]string{"category": a.Category, "flags": strings.Join(a.Flags, " "), "imagery": a.Imagery,
		"industry_class": a.IndustryClass, "age_band": a.AgeBand, "outcome": a.Outcome}
	_, err = s.DB.ApplyEvents(ctx, id, func(st *canopy.TriageState) error {
		if !canopy.IsOpen(st.Stage) {
			return errClosed
		}
		if st.ClaimedBy != who.ID && !supervisor {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.claim_first"}
		}
		return nil
	},
		&store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventAssessed, At: at, Actor: who.ID, Data: data}, SealedBody: reasons},
		&store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventOfOutcome(a.Outcome), At: at, Actor: who.ID, Data: map[string]string{"outcome": a.Outcome}}},
	)
	if err != nil {
		return err
	}
	if err := s.log(ctx, who, audit.ActionReportAssess, id, audit.OK, map[string]string{"outcome": a.Outcome, "category": a.Category}); err != nil {
		return err
	}
	if s.Assessed != nil {
		s.Assessed(id, a)
	}
	return nil
}

// Review is a supervisor's word on a decision: confirm it, or reopen the
// report with a reason.
func (s *Service) Review(ctx context.Context, who *canopy.Account, id string, confirm bool, reason string) error {
	if _, err := s.state(ctx, who, access.ReportReview, id); err != nil {
		return err
	}
	at := s.Now().UTC()
	kind, step := canopy.EventReviewed, "confirm"
	if !confirm {
		kind, step = canopy.EventReopened, "reopen"
		if strings.TrimSpace(reason) == "" {
			return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: "reason", Key: "error.required"}}}
		}
	}
	sealed, err := s.sealFor(ctx, id, at, strings.TrimSpace(reason))
	if err != nil {
		return err
	}
	_, err = s.DB.ApplyEvents(ctx, id, func(st *canopy.TriageState) error {
		if st.Stage != canopy.StageDecided {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.not_decided"}
		}
		return nil
	}, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: kind, At: at, Actor: who.ID}, SealedBody: sealed})
	if err != nil {
		return err
	}
	return s.log(ctx, who, audit.ActionReportAssess, id, audit.OK, map[string]string{"step": step})
}

// Merge folds a duplicate into a primary report. The duplicate leaves the
// queue; its reporter's receipt keeps working and follows the primary's
// status.
func (s *Service) Merge(ctx context.Context, who *canopy.Account, primary, duplicate string) error {
	if primary == duplicate {
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: "into", Key: "error.duplicate"}}}
	}
	if _, err := s.state(ctx, who, access.ReportMerge, primary); err != nil {
		return err
	}
	if _, err := s.state(ctx, who, access.ReportMerge, duplicate); err != nil {
		return err
	}
	at := s.Now().UTC()
	_, err := s.DB.ApplyEvents(ctx, duplicate, func(st *canopy.TriageState) error {
		if st.Stage == canopy.StageMerged {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.merged"}
		}
		return nil
	}, &store.SealedEvent{Event: canopy.Event{ReportID: duplicate, Kind: canopy.EventMerged, At: at, Actor: who.ID, Data: map[string]string{"into": primary}}})
	if err != nil {
		return err
	}
	if _, err := s.DB.ApplyEvents(ctx, primary, nil, &store.SealedEvent{Event: canopy.Event{ReportID: primary, Kind: canopy.EventMergedFrom, At: at, Actor: who.ID, Data: map[string]string{"from": duplicate}}}); err != nil {
		return err
	}
	return s.log(ctx, who, audit.ActionReportAssess, duplicate, audit.OK, map[string]string{"step": "merge", "into": primary})
}

// Message writes to the report's anonymous reporter, who reads it through
// the receipt.
func (s *Service) Message(ctx context.Context, who *canopy.Account, id, body string) error {
	if _, err := s.state(ctx, who, access.ReportMessage, id); err != nil {
		return err
	}
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	if body == "" || len([]rune(body)) > 5000 {
		key := "error.required"
		if body != "" {
			key = "error.too_long"
		}
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: "body", Key: key}}}
	}
	at := s.Now().UTC()
	sealed, err := s.sealFor(ctx, id, at, body)
	if err != nil {
		return err
	}
	if _, err := s.DB.ApplyEvents(ctx, id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventStaffMessage, At: at, Actor: who.ID}, SealedBody: sealed}); err != nil {
		return err
	}
	return s.log(ctx, who, audit.ActionReportMessage, id, audit.OK, map[string]string{"from": "staff"})
}
