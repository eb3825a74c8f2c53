package workspace

import (
	"net/http"
	"slices"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/triage"
)

// reportView is a report page. Until the member opens the report (Opened),
// nothing the reporter wrote is in it.
type reportView struct {
	ID string
	// Cases are the support cases linked to the report, as far as the
	// child's consent lets this member of staff see them.
	Cases      []support.LinkedCase
	Report     canopy.Report
	State      canopy.TriageState
	Clock      string
	Breached   bool
	ClaimedBy  string
	Timeline   []timelineEntry
	Linked     []linkedReport
	Assessment *canopy.Assessment
	Reasons    string // the latest assessment's reasons, once opened

	Opened   bool
	Content  canopy.ReportContent
	Messages []canopy.Message

	Border   crossBorder
	Takedown takedownPanel
	// Investigations are those the report is in that the member may
	// work on; OpenInvestigations, those it could be added to.
	Investigations, OpenInvestigations []evidence.Summary

	Can    actions
	Assess assessForm
	Review reviewForm
	Into   string // the merge form as typed
	Body   string // the message form as typed
}

type timelineEntry struct {
	canopy.Event
	Detail  string // a code-derived fact: the category and outcome, the report merged into…
	LinkID  string // another report the event points to
	Reasons string // the sealed words the event carries, once opened
}

type linkedReport struct {
	ID    string
	Kinds []string
}

// actions are the forms the page offers: what the member's role allows
// and the report's stage makes sense of. The services decide.
type actions struct {
	Open, Claim, Assess, Review, Merge, Message bool
	Route                                       bool // choose the jurisdiction, refer to a peer
	Status                                      bool // answer the peer that referred the report here
	Investigate                                 bool // see the investigations it is in, add it to one
}

type assessForm struct {
	Category      string
	Flags         []string
	Imagery       string
	IndustryClass string
	AgeBand       string
	Outcome       string
	Reasons       string
}

// HasFlag reports whether the flag's box is ticked.
func (f assessForm) HasFlag(code string) bool { return slices.Contains(f.Flags, code) }

type reviewForm struct {
	Decision, Reason string
}

// Labels and targets of the report page's fields, for the error summary.
var reportLabels = map[string]string{
	"category":       "Category",
	"flags":          "Flags",
	"imagery":        "Imagery decision (ICCAM)",
	"industry_class": "Industry class",
	"age_band":       "Apparent age band",
	"outcome":        "Outcome",
	"reasons":        "Reasons",
	"decision":       "Review decision",
	"reason":         "Reason for reopening",
	"into":           "Merge into report",
	"body":           "Message to the reporter",
	"jurisdiction":   "Jurisdiction",
	"peer":           "Peer to refer to",
	"status":         "Status for the peer",
	"status_reason":  "Reason for the peer",
}

var reportTargets = map[string]string{
	"category": "category-" + canopy.Categories[0].Code,
	"flags":    "flag-" + canopy.Flags[0],
	"imagery":  "imagery-none",
	"outcome":  "outcome-" + canopy.Outcomes[0],
	"decision": "decision-confirm",
	"peer":     "refer-peer-0",
	"status":   "status-" + canopy.ReferralAccepted,
}

// Notices after an action, by the "done" parameter of the redirect.
var doneNotices = map[string]string{
	"investigation_linked": "The report is added to the investigation. It is kept until the investigation's own retention ends.",
	"claimed":              "You have claimed this report.",
	"assessed":             "Your assessment is recorded. The reporter now sees the new status.",
	"reviewed":             "The decision is confirmed.",
	"reopened":             "The report is reopened and back in the queue.",
	"merged":               "This report is merged into the other.",
	"sent":                 "Your message is sent. The reporter reads it with their receipt code.",
	"routed":               "The jurisdiction you chose is recorded. It stands over what the node found.",
	"referred":             "The report is referred. It is delivered as soon as the peer can be reached; its status is under Referrals.",
	"status":               "The status is sent to the peer that referred this report.",
}

func (s *server) report(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.reportPage(w, r, m)
	if !ok {
		return
	}
	p.Notice = doneNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// reportPage loads what a report page shows before it is opened, or
// answers the error and returns false.
func (s *server) reportPage(w http.ResponseWriter, r *http.Request, m *member) (*page, *reportView, bool) {
	id := r.PathValue("id")
	view, err := s.triage.Report(r.Context(), m.account, id)
	if err != nil {
		s.fail(w, r, m, err)
		return nil, nil, false
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	p := s.newPage(r, "report", "Report "+id, m)
	p.names = names
	s.withForm(w, r, p)
	v := &reportView{ID: id, Report: view.Report, State: view.State, Assessment: view.Assessment}
	v.Clock, v.Breached = s.reportClock(view.State)
	if c := view.State.ClaimedBy; c != "" {
		v.ClaimedBy = p.Who(c)
	}
	for _, e := range view.Timeline {
		v.Timeline = append(v.Timeline, timelineEntryOf(e))
	}
	for _, other := range sortedKeys(view.Linked) {
		v.Linked = append(v.Linked, linkedReport{ID: other, Kinds: view.Linked[other]})
	}
	role, st := m.account.Role, view.State
	open := canopy.IsOpen(st.Stage)
	v.Can = actions{
		Open:    access.Can(role, access.ReportOpen),
		Claim:   access.Can(role, access.ReportClaim) && open && st.ClaimedBy != m.account.ID,
		Assess:  access.Can(role, access.ReportAssess) && open,
		Review:  access.Can(role, access.ReportReview) && st.Stage == canopy.StageDecided,
		Merge:   access.Can(role, access.ReportMerge) && st.Stage != canopy.StageMerged,
		Message: access.Can(role, access.ReportMessage),
	}
	if err := s.loadCrossBorder(r.Context(), v, view.Timeline); err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v.Cases = s.linkedCases(r.Context(), m.account, id)
	if v.Can.Investigate = access.Can(role, access.InvestigationManage); v.Can.Investigate {
		if err := s.loadReportInvestigations(r.Context(), v, m.account); err != nil {
			s.internalError(w, r, err)
			return nil, nil, false
		}
	}
	s.loadTakedown(r.Context(), v, m.account)
	refer := access.Can(role, access.ReportRefer)
	v.Can.Route = refer && st.Stage != canopy.StageMerged
	v.Can.Status = refer && v.Border.Inbound != nil && !v.Border.Closed
	v.Assess = assessForm{Category: st.Category, Flags: view.Report.Flags}
	if a := view.Assessment; a != nil {
		v.Assess = assessForm{Category: a.Category, Flags: a.Flags, Imagery: a.Imagery, IndustryClass: a.IndustryClass, AgeBand: a.AgeBand}
	}
	return p, v, true
}

func timelineEntryOf(e canopy.Event) timelineEntry {
	t := timelineEntry{Event: e}
	switch e.Kind {
	case canopy.EventAssessed:
		t.Detail = categoryName(e.Data["category"])
		if o := e.Data["outcome"]; o != "" {
			t.Detail += "; outcome: " + word(outcomeNames, o)
		}
	case canopy.EventMatched:
		var parts []string
		for _, k := range []string{"bank", "algorithm", "distance"} {
			if v := e.Data[k]; v != "" {
				parts = append(parts, k+" "+v)
			}
		}
		if c := e.Data["category"]; c != "" {
			parts = append(parts, "category: "+categoryName(c))
		}
		t.Detail = strings.Join(parts, ", ")
	case canopy.EventRouted:
		t.Detail = routedDetail(e.Data)
	case canopy.EventReferred, canopy.EventReferralReceived, canopy.EventReferralStatus:
		t.Detail = referralDetail(e)
	case canopy.EventMerged:
		t.LinkID = e.Data["into"]
	case canopy.EventMergedFrom:
		t.LinkID = e.Data["from"]
	case canopy.EventNoticeSent, canopy.EventTakedownEscalate, canopy.EventTakedownStatus:
		t.Detail = takedownDetail(e)
	case canopy.EventSharingWithdrawn:
		t.Detail = withdrawnDetail(e)
	}
	return t
}

// reportClock is the queue's service-level clock for one report, with
// triage's deadlines.
func (s *server) reportClock(st canopy.TriageState) (string, bool) {
	sla := s.triage.SLA
	if sla <= 0 {
		sla = triage.DefaultSLA
	}
	if st.Urgent {
		sla = s.triage.UrgentSLA
		if sla <= 0 {
			sla = triage.DefaultUrgentSLA
		}
	}
	due := st.Received.Add(sla)
	now := s.now()
	breached := st.FirstLook.IsZero() && now.After(due) || !st.FirstLook.IsZero() && st.FirstLook.After(due)
	return clock(triage.Item{Due: due, Breached: breached, QueueRow: store.QueueRow{TriageState: st}}, now), breached
}

func (s *server) openReport(w http.ResponseWriter, r *http.Request, m *member) {
	id := r.PathValue("id")
	opened, err := s.triage.Open(r.Context(), m.account, id)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	// Loaded after the opening, so the timeline shows the first look.
	p, v, ok := s.reportPage(w, r, m)
	if !ok {
		return
	}
	v.Opened = true
	v.Takedown.reveal()
	v.Content = opened.Content
	v.Messages = opened.Messages
	for i := range v.Timeline {
		v.Timeline[i].Reasons = opened.Reasons[v.Timeline[i].ID]
	}
	if v.Assessment != nil {
		for i := len(v.Timeline) - 1; i >= 0; i-- {
			if v.Timeline[i].Kind == canopy.EventAssessed {
				v.Reasons = v.Timeline[i].Reasons
				break
			}
		}
	}
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// done sends the browser back to the report after an action.
func done(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/staff/reports/"+r.PathValue("id")+"?done="+what, http.StatusSeeOther)
}

// invalidReport shows the report again with the form as typed and its
// problems.
func (s *server) invalidReport(w http.ResponseWriter, r *http.Request, m *member, err error, keep func(*reportView)) {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID {
		s.fail(w, r, m, err)
		return
	}
	p, v, ok := s.reportPage(w, r, m)
	if !ok {
		return
	}
	keep(v)
	p.Errors = newFormErrors(e.Fields, reportLabels, reportTargets)
	p.Data = v
	s.render(w, r, http.StatusUnprocessableEntity, p)
}

func (s *server) claim(w http.ResponseWriter, r *http.Request, m *member) {
	if err := s.triage.Claim(r.Context(), m.account, r.PathValue("id")); err != nil {
		s.fail(w, r, m, err)
		return
	}
	done(w, r, "claimed")
}

func (s *server) assess(w http.ResponseWriter, r *http.Request, m *member) {
	f := assessForm{
		Category:      r.PostForm.Get("category"),
		Imagery:       r.PostForm.Get("imagery"),
		IndustryClass: r.PostForm.Get("industry_class"),
		AgeBand:       r.PostForm.Get("age_band"),
		Outcome:       r.PostForm.Get("outcome"),
		Reasons:       r.PostForm.Get("reasons"),
	}
	for _, v := range r.PostForm["flags"] {
		if !slices.Contains(f.Flags, v) {
			f.Flags = append(f.Flags, v)
		}
	}
	a := canopy.Assessment{Category: f.Category, Flags: f.Flags, Imagery: f.Imagery, IndustryClass: f.IndustryClass,
		AgeBand: f.AgeBand, Outcome: f.Outcome, Reasons: strings.ReplaceAll(f.Reasons, "\r\n", "\n")}
	if err := s.triage.Assess(r.Context(), m.account, r.PathValue("id"), a); err != nil {
		s.invalidReport(w, r, m, err, func(v *reportView) { v.Assess = f })
		return
	}
	done(w, r, "assessed")
}

func (s *server) review(w http.ResponseWriter, r *http.Request, m *member) {
	f := reviewForm{Decision: r.PostForm.Get("decision"), Reason: r.PostForm.Get("reason")}
	keep := func(v *reportView) { v.Review = f }
	if f.Decision != "confirm" && f.Decision != "reopen" {
		s.invalidReport(w, r, m, fieldError("decision", "error.unknown_code"), keep)
		return
	}
	confirm := f.Decision == "confirm"
	reason := strings.ReplaceAll(f.Reason, "\r\n", "\n")
	if confirm {
		reason = "" // a reason typed and then "confirm" chosen is not meant to be kept
	}
	if err := s.triage.Review(r.Context(), m.account, r.PathValue("id"), confirm, reason); err != nil {
		s.invalidReport(w, r, m, err, keep)
		return
	}
	if confirm {
		done(w, r, "reviewed")
		return
	}
	done(w, r, "reopened")
}

func (s *server) merge(w http.ResponseWriter, r *http.Request, m *member) {
	into := strings.ToLower(strings.TrimSpace(r.PostForm.Get("into")))
	keep := func(v *reportView) { v.Into = r.PostForm.Get("into") }
	if into == "" {
		s.invalidReport(w, r, m, fieldError("into", "error.required"), keep)
		return
	}
	err := s.triage.Merge(r.Context(), m.account, into, r.PathValue("id"))
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		// This report, or the one typed? If the member can see this one,
		// it was the one typed.
		if _, err := s.triage.Report(r.Context(), m.account, r.PathValue("id")); err != nil {
			s.fail(w, r, m, err)
			return
		}
		err = fieldError("into", "error.report.not_found")
	}
	if err != nil {
		s.invalidReport(w, r, m, err, keep)
		return
	}
	done(w, r, "merged")
}

func (s *server) sendMessage(w http.ResponseWriter, r *http.Request, m *member) {
	body := r.PostForm.Get("body")
	if err := s.triage.Message(r.Context(), m.account, r.PathValue("id"), body); err != nil {
		s.invalidReport(w, r, m, err, func(v *reportView) { v.Body = body })
		return
	}
	done(w, r, "sent")
}

func fieldError(field, key string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: field, Key: key}}}
}
