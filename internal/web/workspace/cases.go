package workspace

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/support"
)

// Support cases: the caseworker's pages. Only caseworkers reach them
// (access.CaseManage), except the legal holds, which are the
// administrator's (access.CaseHold). The support service checks the
// permission, audits each opening and change, and judges consent; these
// pages only show what it returns.

func init() {
	pageNames = append(pageNames, "cases", "case_new", "case", "case_plan", "case_checkin", "case_erase", "case_holds")
	messageSets = append(messageSets, caseMessages)
	for name, fn := range caseFuncs {
		if _, dup := funcs[name]; dup {
			panic("workspace: template function " + name + " is defined twice")
		}
		funcs[name] = fn
	}
}

// caseRoutes registers the pages of support cases.
func (s *server) caseRoutes(handle func(string, http.HandlerFunc)) {
	// The report page shows the support cases linked to a report, as far
	// as the child's consent allows (case_link.html, included from
	// report.html; the report's handler looks them up).
	if t := s.pages.t["report"]; t != nil {
		template.Must(t.ParseFS(templateFiles, "templates/case_link.html"))
	}
	// The forms a case shares between its pages.
	for _, name := range []string{"case_new", "case"} {
		template.Must(s.pages.t[name].ParseFS(templateFiles, "templates/case_parts.html"))
	}

	handle("GET /staff/cases", s.signedIn(s.cases))
	handle("GET /staff/cases/new", s.signedIn(s.newCaseForm))
	handle("POST /staff/cases", s.post(s.signedIn(s.openCase)))
	handle("GET /staff/cases/export.csv", s.signedIn(s.exportStatistics))
	handle("GET /staff/cases/holds", s.signedIn(s.holds))
	handle("POST /staff/cases/holds", s.post(s.signedIn(s.placeHold)))
	handle("POST /staff/cases/holds/lift", s.post(s.signedIn(s.liftHold)))
	handle("GET /staff/cases/{id}", s.signedIn(s.casePage))
	handle("POST /staff/cases/{id}/reveal", s.post(s.signedIn(s.revealDetails)))
	handle("POST /staff/cases/{id}/details", s.post(s.signedIn(s.saveDetails)))
	handle("POST /staff/cases/{id}/profile", s.post(s.signedIn(s.saveProfile)))
	handle("POST /staff/cases/{id}/needs", s.post(s.signedIn(s.saveNeeds)))
	handle("POST /staff/cases/{id}/links", s.post(s.signedIn(s.linkReport)))
	handle("POST /staff/cases/{id}/links/remove", s.post(s.signedIn(s.unlinkReport)))
	handle("POST /staff/cases/{id}/referrals", s.post(s.signedIn(s.referCase)))
	handle("POST /staff/cases/{id}/referrals/{ref}", s.post(s.signedIn(s.advanceReferral)))
	handle("POST /staff/cases/{id}/consents", s.post(s.signedIn(s.giveConsent)))
	handle("POST /staff/cases/{id}/consents/withdraw", s.post(s.signedIn(s.withdrawConsent)))
	handle("POST /staff/cases/{id}/assign", s.post(s.signedIn(s.assignCase)))
	handle("POST /staff/cases/{id}/close", s.post(s.signedIn(s.closeCase)))
	handle("POST /staff/cases/{id}/reopen", s.post(s.signedIn(s.reopenCase)))
	handle("GET /staff/cases/{id}/plan", s.signedIn(s.planForm))
	handle("POST /staff/cases/{id}/plan", s.post(s.signedIn(s.savePlan)))
	handle("GET /staff/cases/{id}/plan/print", s.signedIn(s.printPlan))
	handle("GET /staff/cases/{id}/checkin", s.signedIn(s.checkInForm))
	handle("POST /staff/cases/{id}/checkin", s.post(s.signedIn(s.recordCheckIn)))
	handle("GET /staff/cases/{id}/erase", s.signedIn(s.eraseForm))
	handle("POST /staff/cases/{id}/erase", s.post(s.signedIn(s.erase)))
}

// caseMessages are the messages of the support service's error keys.
var caseMessages = map[string]string{
	"error.case.not_found":             "There is no such case.",
	"error.case.exists":                "There is already a case with this id.",
	"error.case.deleted":               "This case was deleted: its details, safety plan and notes can no longer be read, and nothing can be added to it.",
	"error.case.held":                  "A legal hold stands on this case, so it cannot be deleted. The request is recorded; it can be carried out once an administrator lifts the hold.",
	"error.case.already_held":          "A legal hold already stands on this case.",
	"error.case.not_held":              "No legal hold stands on this case.",
	"error.case.language":              "Use two- or three-letter language codes, such as ar or fr, separated by spaces.",
	"error.case.date":                  "Give a real date, not in the future, such as 2026-03-14.",
	"error.case.date_order":            "This date is before the referral's previous step.",
	"error.case.expired":               "This date has passed. Leave it empty for consent until it is withdrawn.",
	"error.case.consent_investigation": "The child's consent to investigation is not recorded, or was withdrawn. Record it before linking the case to a report.",
	"error.case.consent_support":       "The child's consent to support is not recorded, or was withdrawn. Record it before referring to a service.",
	"error.case.no_consent":            "There is no consent to this purpose to withdraw.",
	"error.case.service":               "Pick an active service of the directory.",
	"error.case.referral_not_found":    "There is no such referral on this case.",
	"error.case.referral_closed":       "This referral is completed or declined, so it can move no further.",
	"error.case.referral_backwards":    "A referral's steps go forward only: pick a later step.",
	"error.case.no_plan":               "This case has no safety plan.",
	"error.case.checkin_not_found":     "This case has no check-in with this number.",
	"error.case.answer_all":            "Answer every question: pick one answer for each.",
	"error.control_chars":              "Remove the special characters that cannot be shown.",
	"error.case.consent_cross_border":  "This service is in another country, and the child's consent to sharing with another country is not recorded, or was withdrawn. Record it first, or choose a service at home.",
	"error.case.closed":                "This case is closed, so nothing new can be added. Open it again first.",
	"error.case.not_closed":            "This case is open already.",
	"error.case.assignee":              "Choose an active caseworker who serves this case's jurisdiction.",
	"error.case.jurisdiction":          "Choose one of the jurisdictions you work in.",
}

var closeReasonNames = map[string]string{
	canopy.CaseClosedSupported:   "Support completed: the child's needs are met",
	canopy.CaseClosedDeclined:    "The child or guardian no longer wants support",
	canopy.CaseClosedTransferred: "Transferred to another organisation or country",
	canopy.CaseClosedNoContact:   "The child could not be reached",
	canopy.CaseClosedOther:       "Another reason",
}

func (p *page) CaseCloseReasons() []string { return canopy.CaseCloseReasons }

var caseFuncs = template.FuncMap{
	"need":        func(code string) string { return word(needNames, code) },
	"servicekind": func(code string) string { return word(serviceKindNames, code) },
	"purpose":     func(code string) string { return word(purposeNames, code) },
	"purposelong": func(code string) string { return word(purposeLong, code) },
	"giver":       func(code string) string { return word(giverNames, code) },
	"method":      func(code string) string { return word(methodNames, code) },
	"step":        func(code string) string { return word(stepNames, code) },
	"scale":       func(code string) string { return word(scaleNames, code) },
	"asker":       func(code string) string { return word(askerNames, code) },
	"reason":      func(code string) string { return word(reasonNames, code) },
	"decision":    func(code string) string { return word(decisionNames, code) },
	"closereason": func(code string) string { return word(closeReasonNames, code) },
	"target":      targetName,
	"caseage":     caseAgeName,
	"face":        func(n int) string { return word(faceNames, strconv.Itoa(n)) },
	"faceicon":    func(n int) string { return word(faceIcons, strconv.Itoa(n)) },
	"day":         day,
	"langname":    langName,
	"faces":       func() []int { return []int{1, 2, 3, 4, 5} },
	// The shared parts of the case forms (case_parts.html) take the page
	// and the values to show.
	"caseProfile": func(p *page, f newCaseView) formPart[newCaseView] { return formPart[newCaseView]{P: p, F: f} },
	"caseDetails": func(p *page, d any) formPart[*canopy.CaseDetails] {
		f := formPart[*canopy.CaseDetails]{P: p, F: &canopy.CaseDetails{}}
		switch d := d.(type) {
		case *canopy.CaseDetails:
			if d != nil {
				f.F = d
			}
		case canopy.CaseDetails:
			f.F = &d
		}
		return f
	},
}

// formPart is what a shared part of a form needs: the page, for its
// errors, and the values.
type formPart[T any] struct {
	P *page
	F T
}

var needNames = map[string]string{
	canopy.NeedSafety:         "Safety now (a safety plan)",
	canopy.NeedEmotional:      "Someone to talk to, counselling",
	canopy.NeedMedical:        "Medical care, sexual health",
	canopy.NeedContentRemoval: "Getting images or videos taken down",
	canopy.NeedLegal:          "Legal advice, police and court",
	canopy.NeedEducation:      "School and training",
	canopy.NeedFamily:         "Support for the family",
	canopy.NeedHousing:        "A safe place to live",
	canopy.NeedOther:          "Other",
}

var serviceKindNames = map[string]string{
	canopy.ServiceMedical:     "medical",
	canopy.ServiceCounselling: "counselling",
	canopy.ServiceLegal:       "legal",
	canopy.ServiceShelter:     "shelter",
	canopy.ServiceHelpline:    "helpline",
	canopy.ServiceEducation:   "education",
}

var purposeNames = map[string]string{
	canopy.PurposeSupport:       "Support",
	canopy.PurposeInvestigation: "Investigation",
	canopy.PurposeCrossBorder:   "Sharing with another country",
	canopy.PurposeStatistics:    "Anonymised statistics",
}

var purposeLong = map[string]string{
	canopy.PurposeSupport:       "Support: working on the case and referring the child to services",
	canopy.PurposeInvestigation: "Investigation: analysts and police liaisons see the case's alias and age band on the reports it is linked to",
	canopy.PurposeCrossBorder:   "Sharing with another country: a hotline or service abroad may receive what it needs",
	canopy.PurposeStatistics:    "Anonymised statistics: the case is counted, without alias, region or id",
}

var giverNames = map[string]string{
	canopy.ConsentByChild:    "The child or young person",
	canopy.ConsentByGuardian: "A parent or guardian",
}

var methodNames = map[string]string{
	canopy.ConsentVerbal:  "Spoken",
	canopy.ConsentWritten: "Written",
	canopy.ConsentOnline:  "Online",
}

var stepNames = map[string]string{
	canopy.ServiceReferralSent:         "Sent",
	canopy.ServiceReferralAccepted:     "Accepted",
	canopy.ServiceReferralFirstContact: "First contact",
	canopy.ServiceReferralCompleted:    "Completed",
	canopy.ServiceReferralDeclined:     "Declined",
}

var scaleNames = map[string]string{
	canopy.ScaleWHO5:  "WHO-5 Well-Being Index",
	canopy.ScaleFaces: "Five faces",
}

var askerNames = map[string]string{
	canopy.AskedByChild:      "The child or young person",
	canopy.AskedByGuardian:   "A parent or guardian",
	canopy.AskedByCaseworker: "A caseworker (found wrong or not needed)",
}

var reasonNames = map[string]string{
	canopy.ReasonChildWishes:      "The child or guardian asked, and nothing weighs against it",
	canopy.ReasonNoLongerNeeded:   "No longer needed: support has ended",
	canopy.ReasonInaccurate:       "The information is wrong",
	canopy.ReasonConsentWithdrawn: "The consent it rested on was withdrawn",
	canopy.ReasonSafeguarding:     "Keeping it protects the child now",
	canopy.ReasonLegalObligation:  "The law requires keeping it",
}

var decisionNames = map[string]string{
	canopy.ErasureDone:    "Carried out",
	canopy.ErasureRefused: "Refused",
	canopy.ErasureHeld:    "Stopped by a legal hold",
}

var detailNames = map[string]string{
	"name":       "Name",
	"birth_date": "Date of birth",
	"contact":    "How to reach the child safely",
	"guardian":   "Parent or guardian",
	"notes":      "Notes",
}

// The pictorial scale for younger children: five faces, 1 to 5.
var faceNames = map[string]string{"1": "Very sad", "2": "Sad", "3": "Okay", "4": "Happy", "5": "Very happy"}
var faceIcons = map[string]string{"1": "😢", "2": "🙁", "3": "😐", "4": "🙂", "5": "😄"}

// who5Items are the five statements of the WHO-5 Well-Being Index (WHO
// Collaborating Centre in Mental Health, Psychiatric Centre North Zealand,
// 1998), about the last two weeks, and who5Answers its answers with their
// scores, from "all of the time" down.
var who5Items = []string{
	"I have felt cheerful and in good spirits",
	"I have felt calm and relaxed",
	"I have felt active and vigorous",
	"I woke up feeling fresh and rested",
	"My daily life has been filled with things that interest me",
}

var who5Answers = []struct {
	Score int
	Label string
}{{5, "All of the time"}, {4, "Most of the time"}, {3, "More than half of the time"}, {2, "Less than half of the time"},
	{1, "Some of the time"}, {0, "At no time"}}

func targetName(code string) string {
	if n, ok := strings.CutPrefix(code, "checkin:"); ok {
		return "Note of check-in " + n
	}
	if code == "plan" {
		return "Safety plan"
	}
	return word(detailNames, code)
}

func caseAgeName(code string) string {
	switch code {
	case "18-24":
		return "18 to 24 years"
	case "25+":
		return "25 years or older"
	}
	return word(ageBandNames, code)
}

// day writes a date without the time: what caseworkers record.
func day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006")
}

// langName names a language the node prints in, in that language.
func langName(code string) string { return i18n.Get(code).T("portal.lang.self") }

// cases is the list of cases: pseudonymous fields only. It shows the open
// cases by default, the caseworker's own or all of them, within their
// jurisdictions.
func (s *server) cases(w http.ResponseWriter, r *http.Request, m *member) {
	q := r.URL.Query()
	page := pageNumber(q)
	v := casesView{State: q.Get("state"), Mine: q.Get("mine") == "1"}
	if v.State != "closed" && v.State != "all" {
		v.State = "open"
	}
	f := store.CaseFilter{Limit: perPage, Offset: (page - 1) * perPage}
	if v.State != "all" {
		f.State = v.State
	}
	if v.Mine {
		f.AssignedTo = m.account.ID
	}
	list, total, err := s.support.FindCases(r.Context(), m.account, f)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	v.Cases = list
	v.paging = pageOf(total, page, func(page int) string {
		u := url.Values{"state": {v.State}, "page": {strconv.Itoa(page)}}
		if v.Mine {
			u.Set("mine", "1")
		}
		return "/staff/cases?" + u.Encode()
	})
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p := s.newPage(r, "cases", "Support cases", m)
	p.names = names
	p.Notice = caseNotices[q.Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

type casesView struct {
	Cases []canopy.Case
	paging
	State string // open, closed or all
	Mine  bool
}

// newCaseView is the form that opens a case.
type newCaseView struct {
	Alias, AgeBand, Languages, Region string
	Needs                             []string
	Details                           canopy.CaseDetails
	Jurisdiction                      string
	// Jurisdictions are the choices, when the caseworker has one to make.
	Jurisdictions []string
}

// HasNeed reports whether a need's box is ticked.
func (v newCaseView) HasNeed(code string) bool { return slices.Contains(v.Needs, code) }

func (p *page) CaseAgeBands() []string   { return canopy.CaseAgeBands }
func (p *page) CaseNeeds() []string      { return canopy.CaseNeeds }
func (p *page) Purposes() []string       { return canopy.Purposes }
func (p *page) ConsentGivers() []string  { return canopy.ConsentGivers }
func (p *page) ConsentMethods() []string { return canopy.ConsentMethods }
func (p *page) Askers() []string         { return canopy.Askers }
func (p *page) ErasureReasons() []string { return canopy.ErasureReasons }
func (p *page) DetailFields() []string   { return canopy.DetailFields }
func (p *page) PlanLanguages() []string  { return canopy.Languages }

// ReferralSteps are the steps a caseworker may record after sending.
func (p *page) ReferralSteps() []string { return canopy.ServiceReferralStatuses[1:] }

// Labels and targets of the case forms' fields, for the error summary.
var caseLabels = map[string]string{
	"alias": "Alias", "age_band": "Age band", "languages": "Languages", "region": "Region", "needs": "Needs",
	"name": "Name", "birth_date": "Date of birth", "contact": "How to reach the child safely", "guardian": "Parent or guardian",
	"notes": "Notes", "report": "Report id", "service": "Service", "need": "Need it answers", "status": "Step", "on": "Date of the step",
	"purpose": "Purpose", "given_by": "Given by", "method": "How it was given", "expires": "Until", "language": "Language of the plan",
	"warning_signs": "Signs that something is wrong", "trusted_adults": "People to talk to", "safe_places": "Safe places",
	"online": "When something bad happens online", "emergency": "In an emergency", "scale": "Scale", "items": "Answers",
	"note": "Note", "kind": "What was asked", "target": "Part to redact", "asked_by": "Asked by", "reason": "Reason", "decision": "Decision",
	"case": "Case id", "assignee": "Caseworker", "jurisdiction": "Jurisdiction",
}

var caseTargets = map[string]string{
	"age_band": "age_band", "needs": "need-" + canopy.CaseNeeds[0], "purpose": "purpose-" + canopy.Purposes[0],
	"given_by": "given_by-" + canopy.ConsentGivers[0], "method": "method-" + canopy.ConsentMethods[0], "language": "language",
	"kind": "kind-redact", "asked_by": "asked_by-" + canopy.Askers[0], "reason": "reason", "decision": "decision-carry",
	"items": "item-0-5", "target": "target",
}

// Notices after an action, by the "done" parameter of the redirect.
var caseNotices = map[string]string{
	"opened":    "The case is open. Record the child's consent before referring them to a service or linking the case to a report.",
	"profile":   "The case's alias, age band, languages and region are changed.",
	"details":   "The identifying details are saved, sealed with the case's own key.",
	"needs":     "The needs are saved.",
	"linked":    "The case is linked to the report. Analysts and liaisons see its alias and age band there while consent to investigation stands.",
	"unlinked":  "The case is no longer linked to the report.",
	"referred":  "The referral is recorded as sent.",
	"step":      "The referral's step is recorded.",
	"consent":   "The consent is recorded.",
	"withdrawn": "The consent is withdrawn. It took effect at once: nothing more flows to this purpose.",
	"plan":      "The safety plan is saved.",
	"checkin":   "The check-in is recorded.",
	"redacted":  "The redaction is carried out and recorded with its reason.",
	"refused":   "The request is recorded as refused, with its reason.",
	"held":      "A legal hold stands on this case, so it was not deleted. The request is recorded as stopped by the hold.",
	"deleted":   "The case is deleted: its key is destroyed, so its details, safety plan and notes can never be read again.",
	"assigned":  "The case's caseworker is changed.",
	"closed":    "The case is closed. Its record stays; open it again if the child needs support again.",
	"reopened":  "The case is open again.",
}

func (s *server) newCaseForm(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.CaseManage) {
		return
	}
	p := s.newPage(r, "case_new", "Open a support case", m)
	s.withForm(w, r, p)
	p.Data = newCaseView{Jurisdictions: s.support.JurisdictionChoices(m.account)}
	s.render(w, r, http.StatusOK, p)
}

// fields splits a list typed with spaces or commas.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

func detailsForm(r *http.Request) canopy.CaseDetails {
	return canopy.CaseDetails{Name: r.PostForm.Get("name"), BirthDate: r.PostForm.Get("birth_date"), Contact: r.PostForm.Get("contact"),
		Guardian: r.PostForm.Get("guardian"), Notes: r.PostForm.Get("notes")}
}

func (s *server) openCase(w http.ResponseWriter, r *http.Request, m *member) {
	f := newCaseView{Alias: r.PostForm.Get("alias"), AgeBand: r.PostForm.Get("age_band"), Languages: r.PostForm.Get("languages"),
		Region: r.PostForm.Get("region"), Needs: r.PostForm["needs"], Details: detailsForm(r), Jurisdiction: r.PostForm.Get("jurisdiction"),
		Jurisdictions: s.support.JurisdictionChoices(m.account)}
	c, err := s.support.OpenCase(r.Context(), m.account, support.NewCase{
		Profile: support.Profile{Alias: f.Alias, AgeBand: f.AgeBand, Languages: fields(f.Languages), Region: f.Region},
		Needs:   f.Needs, Details: f.Details, Jurisdiction: f.Jurisdiction})
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		p := s.newPage(r, "case_new", "Open a support case", m)
		s.withForm(w, r, p)
		p.Errors = newFormErrors(e.Fields, caseLabels, caseTargets)
		p.Data = f
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/cases/"+c.ID+"?done=opened", http.StatusSeeOther)
}

// caseView is a case's page.
type caseView struct {
	ID       string
	File     *support.File
	OpenedBy string
	Held     *canopy.LegalHold // the hold that stands, if any
	// Details are the identifying details, once revealed (an audited
	// opening of its own).
	Details  *canopy.CaseDetails
	Purposes []purposeState
	Choices  []store.ServiceChoice
	// Caseworkers are those the case may be assigned to.
	Caseworkers []canopy.Account
	Trend       *trend
	Today       string // for the date fields' max
	PlanLang    string // the language the plan prints in

	// The forms as typed, after a problem.
	Failed  string // which form failed: "profile", "details", "consent", "refer", "link", "needs" or "step:<ref>"
	Profile newCaseView
	Needs   []string
	Link    string
	Refer   struct{ Service, Need string }
	Consent struct{ Purpose, GivenBy, Method, Expires string }
	Step    struct{ Status, On string }
}

// purposeState is whether consent to a purpose stands now.
type purposeState struct {
	Purpose string
	Allowed bool
}

// HasNeed reports whether a need's box is ticked.
func (v *caseView) HasNeed(code string) bool { return slices.Contains(v.Needs, code) }

// Allows reports whether consent to purpose stands now.
func (v *caseView) Allows(purpose string) bool { return v.File.Allows(purpose) }

// FailedStep reports whether the step form of a referral failed.
func (v *caseView) FailedStep(ref string) bool { return v.Failed == "step:"+ref }

// ToFirstSupport says how long the child waited for a service's first
// contact, or "" while none has met them.
func (v *caseView) ToFirstSupport() string {
	f := v.File
	switch {
	case f.FirstSupport.IsZero():
		return ""
	case f.FirstReport.IsZero():
		return dur(f.FirstSupport.Sub(f.Case.Opened)) + " from the case's opening (no report is linked)"
	}
	return dur(f.FirstSupport.Sub(f.FirstReport)) + " from the first linked report"
}

// caseFile loads a case's page, or answers the error and returns false.
func (s *server) caseFile(w http.ResponseWriter, r *http.Request, m *member) (*page, *caseView, bool) {
	id := r.PathValue("id")
	f, err := s.support.Case(r.Context(), m.account, id)
	if err != nil {
		s.fail(w, r, m, err)
		return nil, nil, false
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	title := "Case " + f.Case.Alias
	if f.Case.IsDeleted() {
		title = "Deleted case"
	}
	p := s.newPage(r, "case", title, m)
	p.names = names
	s.withForm(w, r, p)
	v := &caseView{ID: id, File: f, OpenedBy: p.Who(f.Case.OpenedBy), Today: s.now().UTC().Format(time.DateOnly),
		Needs: f.Case.Needs, Trend: newTrend(f.CheckIns), PlanLang: support.PlanLanguage(&f.Case)}
	if f.Plan != nil {
		v.PlanLang = f.Plan.Language
	}
	v.Profile = newCaseView{Alias: f.Case.Alias, AgeBand: f.Case.AgeBand, Languages: strings.Join(f.Case.Languages, " "), Region: f.Case.Region}
	for i := range f.Holds {
		if f.Holds[i].Active() {
			v.Held = &f.Holds[i]
		}
	}
	for _, purpose := range canopy.Purposes {
		v.Purposes = append(v.Purposes, purposeState{Purpose: purpose, Allowed: f.Allows(purpose)})
	}
	v.Consent.GivenBy, v.Consent.Method = canopy.ConsentByChild, canopy.ConsentVerbal
	if !f.Case.IsDeleted() && !f.Case.IsClosed() {
		if v.Caseworkers, err = s.support.Caseworkers(r.Context(), m.account, f.Case.Jurisdiction); err != nil {
			s.internalError(w, r, err)
			return nil, nil, false
		}
	}
	if !f.Case.IsDeleted() && f.Allows(canopy.PurposeSupport) {
		if v.Choices, err = s.support.ServiceChoices(r.Context(), m.account); err != nil {
			// The directory is another part of the node: a case can be
			// worked without it.
			s.log.Warn("workspace: services to refer to", "err", err)
		}
	}
	return p, v, true
}

func (s *server) casePage(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.caseFile(w, r, m)
	if !ok {
		return
	}
	p.Notice = caseNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// revealDetails shows the page with the identifying details opened, an
// opening audited apart from the case's.
func (s *server) revealDetails(w http.ResponseWriter, r *http.Request, m *member) {
	d, err := s.support.Details(r.Context(), m.account, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	p, v, ok := s.caseFile(w, r, m)
	if !ok {
		return
	}
	v.Details = d
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// caseDone sends the browser back to the case after an action.
func caseDone(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/staff/cases/"+r.PathValue("id")+"?done="+what, http.StatusSeeOther)
}

// invalidCase shows the case again with the form as typed and its
// problems, or the error's page when it is not about the form.
func (s *server) invalidCase(w http.ResponseWriter, r *http.Request, m *member, err error, form string, keep func(*caseView)) {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID && !(e.Code == canopy.ECONFLICT && strings.HasPrefix(e.Key, "error.case.")) {
		s.fail(w, r, m, err)
		return
	}
	p, v, ok := s.caseFile(w, r, m)
	if !ok {
		return
	}
	v.Failed = form
	if keep != nil {
		keep(v)
	}
	status := http.StatusUnprocessableEntity
	if e.Code == canopy.EINVALID {
		targets := caseTargets
		if ref, ok := strings.CutPrefix(form, "step:"); ok {
			targets = map[string]string{"status": "status-" + ref, "on": "on-" + ref}
		}
		p.Errors = newFormErrors(e.Fields, caseLabels, targets)
	} else {
		status = http.StatusConflict
		p.Errors = formError(messageOf(e.Key))
	}
	p.Data = v
	s.render(w, r, status, p)
}

func (s *server) saveProfile(w http.ResponseWriter, r *http.Request, m *member) {
	f := newCaseView{Alias: r.PostForm.Get("alias"), AgeBand: r.PostForm.Get("age_band"), Languages: r.PostForm.Get("languages"), Region: r.PostForm.Get("region")}
	err := s.support.SetProfile(r.Context(), m.account, r.PathValue("id"),
		support.Profile{Alias: f.Alias, AgeBand: f.AgeBand, Languages: fields(f.Languages), Region: f.Region})
	if err != nil {
		s.invalidCase(w, r, m, err, "profile", func(v *caseView) { v.Profile = f })
		return
	}
	caseDone(w, r, "profile")
}

func (s *server) saveDetails(w http.ResponseWriter, r *http.Request, m *member) {
	d := detailsForm(r)
	if err := s.support.SetDetails(r.Context(), m.account, r.PathValue("id"), d); err != nil {
		s.invalidCase(w, r, m, err, "details", func(v *caseView) { v.Details = &d })
		return
	}
	caseDone(w, r, "details")
}

func (s *server) saveNeeds(w http.ResponseWriter, r *http.Request, m *member) {
	needs := r.PostForm["needs"]
	if err := s.support.SetNeeds(r.Context(), m.account, r.PathValue("id"), needs); err != nil {
		s.invalidCase(w, r, m, err, "needs", func(v *caseView) { v.Needs = needs })
		return
	}
	caseDone(w, r, "needs")
}

func (s *server) linkReport(w http.ResponseWriter, r *http.Request, m *member) {
	report := r.PostForm.Get("report")
	if err := s.support.LinkReport(r.Context(), m.account, r.PathValue("id"), report); err != nil {
		s.invalidCase(w, r, m, err, "link", func(v *caseView) { v.Link = report })
		return
	}
	caseDone(w, r, "linked")
}

func (s *server) unlinkReport(w http.ResponseWriter, r *http.Request, m *member) {
	if err := s.support.UnlinkReport(r.Context(), m.account, r.PathValue("id"), r.PostForm.Get("report")); err != nil {
		s.fail(w, r, m, err)
		return
	}
	caseDone(w, r, "unlinked")
}

func (s *server) referCase(w http.ResponseWriter, r *http.Request, m *member) {
	service, need := r.PostForm.Get("service"), r.PostForm.Get("need")
	if _, err := s.support.Refer(r.Context(), m.account, r.PathValue("id"), service, need); err != nil {
		s.invalidCase(w, r, m, err, "refer", func(v *caseView) { v.Refer.Service, v.Refer.Need = service, need })
		return
	}
	caseDone(w, r, "referred")
}

// parseDay reads a date field (YYYY-MM-DD); empty is the zero time.
func parseDay(field, value string) (time.Time, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, value)
	if err != nil {
		return time.Time{}, fieldError(field, "error.case.date")
	}
	return t, nil
}

func (s *server) advanceReferral(w http.ResponseWriter, r *http.Request, m *member) {
	ref, status, on := r.PathValue("ref"), r.PostForm.Get("status"), r.PostForm.Get("on")
	keep := func(v *caseView) { v.Step.Status, v.Step.On = status, on }
	d, err := parseDay("on", on)
	if err == nil && !d.IsZero() {
		// A step dated today happened now; an earlier day counts as its
		// end, so the time to support is never understated.
		if now := s.now().UTC(); d.Format(time.DateOnly) == now.Format(time.DateOnly) {
			d = time.Time{}
		} else {
			d = d.Add(24*time.Hour - time.Second)
		}
	}
	if err == nil {
		err = s.support.AdvanceReferral(r.Context(), m.account, r.PathValue("id"), ref, status, d)
	}
	if err != nil {
		s.invalidCase(w, r, m, err, "step:"+ref, keep)
		return
	}
	caseDone(w, r, "step")
}

func (s *server) giveConsent(w http.ResponseWriter, r *http.Request, m *member) {
	in := support.NewConsent{Purpose: r.PostForm.Get("purpose"), GivenBy: r.PostForm.Get("given_by"), Method: r.PostForm.Get("method")}
	expires := r.PostForm.Get("expires")
	keep := func(v *caseView) {
		v.Consent.Purpose, v.Consent.GivenBy, v.Consent.Method, v.Consent.Expires = in.Purpose, in.GivenBy, in.Method, expires
	}
	d, err := parseDay("expires", expires)
	if err == nil {
		if !d.IsZero() {
			in.Expires = d.Add(24 * time.Hour) // consent until a day lasts through it
		}
		_, err = s.support.GiveConsent(r.Context(), m.account, r.PathValue("id"), in)
	}
	if err != nil {
		s.invalidCase(w, r, m, err, "consent", keep)
		return
	}
	caseDone(w, r, "consent")
}

func (s *server) withdrawConsent(w http.ResponseWriter, r *http.Request, m *member) {
	if err := s.support.WithdrawConsent(r.Context(), m.account, r.PathValue("id"), r.PostForm.Get("purpose")); err != nil {
		s.invalidCase(w, r, m, err, "withdraw", nil)
		return
	}
	caseDone(w, r, "withdrawn")
}

func (s *server) assignCase(w http.ResponseWriter, r *http.Request, m *member) {
	if err := s.support.Assign(r.Context(), m.account, r.PathValue("id"), r.PostForm.Get("assignee")); err != nil {
		s.invalidCase(w, r, m, err, "assign", nil)
		return
	}
	caseDone(w, r, "assigned")
}

func (s *server) closeCase(w http.ResponseWriter, r *http.Request, m *member) {
	if err := s.support.Close(r.Context(), m.account, r.PathValue("id"), r.PostForm.Get("reason")); err != nil {
		s.invalidCase(w, r, m, err, "close", nil)
		return
	}
	caseDone(w, r, "closed")
}

func (s *server) reopenCase(w http.ResponseWriter, r *http.Request, m *member) {
	if err := s.support.Reopen(r.Context(), m.account, r.PathValue("id")); err != nil {
		s.invalidCase(w, r, m, err, "reopen", nil)
		return
	}
	caseDone(w, r, "reopened")
}

// trend is the check-ins as a small chart: one point per check-in on a
// scale of 0 to 100, with the line below which well-being is low.
type trend struct {
	Points  []trendPoint
	Line    string // the polyline's points
	Width   int
	LowY    int // where 50 sits
	Summary string
}

type trendPoint struct {
	X, Y int
	canopy.CheckIn
}

const (
	trendHeight = 160
	trendTop    = 10
	trendLeft   = 40
	trendStep   = 60
)

func newTrend(checkIns []canopy.CheckIn) *trend {
	if len(checkIns) == 0 {
		return nil
	}
	t := &trend{Width: max(trendLeft+trendStep*len(checkIns)+10, 300), LowY: trendTop + trendHeight/2}
	var pts []string
	for i, c := range checkIns {
		p := trendPoint{X: trendLeft + trendStep/2 + i*trendStep, Y: trendTop + trendHeight - c.Percent()*trendHeight/100, CheckIn: c}
		t.Points = append(t.Points, p)
		pts = append(pts, fmt.Sprintf("%d,%d", p.X, p.Y))
	}
	t.Line = strings.Join(pts, " ")
	first, last := checkIns[0], checkIns[len(checkIns)-1]
	t.Summary = fmt.Sprintf("%d check-ins from %s to %s, scored on a scale of 0 to 100: first %d, latest %d.",
		len(checkIns), day(first.At), day(last.At), first.Percent(), last.Percent())
	if len(checkIns) == 1 {
		t.Summary = fmt.Sprintf("One check-in, on %s, scored %d on a scale of 0 to 100.", day(first.At), first.Percent())
	}
	return t
}

// planView is the safety plan's form.
type planView struct {
	ID, Alias string
	Language  string
	Sections  []planSection
	Redacted  time.Time
	Updated   time.Time
	UpdatedBy string
}

type planSection struct {
	Code, Label, Hint, Text string
}

// planHints say what each section is for, in the caseworker's words.
var planHints = []struct{ code, label, hint string }{
	{"warning_signs", "Signs that something is wrong", "Feelings, thoughts, or things that happen, that tell the child they may not be safe. One a line."},
	{"trusted_adults", "People to talk to", "Adults the child trusts and how to reach them. One a line."},
	{"safe_places", "Safe places", "Places where the child feels safe and can go. One a line."},
	{"online", "When something bad happens online", "The child's own steps: stop, do not answer or pay, block and report, keep the messages, tell someone. One a line."},
	{"emergency", "In an emergency", "Who to call when the child is in danger now: the emergency number, a helpline, a person. One a line."},
}

func (s *server) planForm(w http.ResponseWriter, r *http.Request, m *member) {
	f, err := s.support.Case(r.Context(), m.account, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	if f.Case.IsDeleted() {
		s.fail(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.deleted"})
		return
	}
	plan := f.Plan
	if plan == nil {
		plan = &canopy.SafetyPlan{Language: support.PlanLanguage(&f.Case)}
	}
	s.renderPlanForm(w, r, m, http.StatusOK, f, plan, nil)
}

func (s *server) renderPlanForm(w http.ResponseWriter, r *http.Request, m *member, status int, f *support.File, plan *canopy.SafetyPlan, errs *formErrors) {
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p := s.newPage(r, "case_plan", "Safety plan of "+f.Case.Alias, m)
	p.names = names
	s.withForm(w, r, p)
	p.Errors = errs
	v := planView{ID: f.Case.ID, Alias: f.Case.Alias, Language: plan.Language, Redacted: plan.Redacted, Updated: plan.Updated}
	if plan.UpdatedBy != "" {
		v.UpdatedBy = p.Who(plan.UpdatedBy)
	}
	for _, h := range planHints {
		v.Sections = append(v.Sections, planSection{Code: h.code, Label: h.label, Hint: h.hint, Text: strings.Join(plan.Section(h.code), "\n")})
	}
	p.Data = v
	s.render(w, r, status, p)
}

func (s *server) savePlan(w http.ResponseWriter, r *http.Request, m *member) {
	plan := canopy.SafetyPlan{Language: r.PostForm.Get("language")}
	for _, code := range canopy.PlanSections {
		plan.SetSection(code, strings.Split(r.PostForm.Get(code), "\n"))
	}
	err := s.support.SavePlan(r.Context(), m.account, r.PathValue("id"), plan)
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		f, ferr := s.support.Case(r.Context(), m.account, r.PathValue("id"))
		if ferr != nil {
			s.fail(w, r, m, ferr)
			return
		}
		s.renderPlanForm(w, r, m, http.StatusUnprocessableEntity, f, &plan, newFormErrors(e.Fields, caseLabels, caseTargets))
		return
	}
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	caseDone(w, r, "plan")
}

// printTemplate is the printable safety plan: a page of its own, in the
// child's language and direction, with nothing of the workspace around it.
var printTemplate = template.Must(template.New("case_print.html").ParseFS(templateFiles, "templates/case_print.html"))

type printView struct {
	Lang, Dir, CSS string
	Title, Intro   string
	Sections       []printSection
	Made, Reminder string
	Empty          string
}

type printSection struct {
	Code, Heading, Prompt string
	Lines                 []string
}

// printPlan shows a case's safety plan to print, in the plan's language
// or the one asked for (?lang=), worded for the child's age.
func (s *server) printPlan(w http.ResponseWriter, r *http.Request, m *member) {
	plan, c, err := s.support.Plan(r.Context(), m.account, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	lang := plan.Language
	if l := r.URL.Query().Get("lang"); canopy.IsLanguage(l) {
		lang = l
	}
	cat := i18n.Get(lang)
	age := "teen"
	if canopy.CheckInScaleFor(c.AgeBand) == canopy.ScaleFaces {
		age = "child" // the bands young enough for the faces are young enough for the simpler words
	}
	made := plan.Updated.UTC()
	v := printView{Lang: cat.Lang, Dir: cat.Dir, CSS: s.assets.URL("staff.css"),
		Title: cat.T("safetyplan.title"), Intro: cat.T("safetyplan.intro." + age),
		Made:     cat.T("safetyplan.made", cat.T("portal.date", made.Day(), cat.T("portal.month."+strconv.Itoa(int(made.Month()))), made.Year())),
		Reminder: cat.T("safetyplan.reminder"), Empty: cat.T("safetyplan.empty")}
	for _, code := range canopy.PlanSections {
		v.Sections = append(v.Sections, printSection{Code: code, Heading: cat.T("safetyplan." + code + ".heading"),
			Prompt: cat.T("safetyplan." + code + "." + age), Lines: plan.Section(code)})
	}
	var buf bytes.Buffer
	if err := printTemplate.Execute(&buf, v); err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// checkInView is the form of a check-in on one scale.
type checkInView struct {
	ID, Alias, Scale, Other string
	Items                   []string
	Answers                 []struct {
		Score int
		Label string
	}
	Chosen []int // the answers as given, -1 for none
	Note   string
}

// Picked reports whether answer score was chosen for item i.
func (v checkInView) Picked(i, score int) bool { return i < len(v.Chosen) && v.Chosen[i] == score }

func (s *server) checkInForm(w http.ResponseWriter, r *http.Request, m *member) {
	s.renderCheckIn(w, r, m, http.StatusOK, r.URL.Query().Get("scale"), nil, "", nil)
}

func (s *server) renderCheckIn(w http.ResponseWriter, r *http.Request, m *member, status int, scale string, chosen []int, note string, errs *formErrors) {
	f, err := s.support.Case(r.Context(), m.account, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	if f.Case.IsDeleted() {
		s.fail(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.deleted"})
		return
	}
	if !slices.Contains(canopy.Scales, scale) {
		scale = canopy.CheckInScaleFor(f.Case.AgeBand)
	}
	v := checkInView{ID: f.Case.ID, Alias: f.Case.Alias, Scale: scale, Chosen: chosen, Note: note}
	if scale == canopy.ScaleWHO5 {
		v.Items, v.Answers, v.Other = who5Items, who5Answers, canopy.ScaleFaces
	} else {
		v.Other = canopy.ScaleWHO5
	}
	p := s.newPage(r, "case_checkin", "Well-being check-in for "+f.Case.Alias, m)
	s.withForm(w, r, p)
	p.Errors = errs
	p.Data = v
	s.render(w, r, status, p)
}

func (s *server) recordCheckIn(w http.ResponseWriter, r *http.Request, m *member) {
	scale, note := r.PostForm.Get("scale"), r.PostForm.Get("note")
	n := 1
	if scale == canopy.ScaleWHO5 {
		n = len(who5Items)
	}
	items := make([]int, n)
	complete := true
	for i := range items {
		v, err := strconv.Atoi(r.PostForm.Get("item" + strconv.Itoa(i)))
		if err != nil {
			v, complete = -1, false
		}
		items[i] = v
	}
	var err error
	if !complete {
		err = fieldError("items", "error.case.answer_all")
	} else {
		_, err = s.support.RecordCheckIn(r.Context(), m.account, r.PathValue("id"), support.NewCheckIn{Scale: scale, Items: items, Note: note})
	}
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		targets := map[string]string{"items": "item-0-5", "note": "note"}
		if scale != canopy.ScaleWHO5 {
			targets["items"] = "item-0-1"
		}
		s.renderCheckIn(w, r, m, http.StatusUnprocessableEntity, scale, items, note, newFormErrors(e.Fields, caseLabels, targets))
		return
	}
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	caseDone(w, r, "checkin")
}

// eraseView is the form of a redaction or deletion.
type eraseView struct {
	ID, Alias                                     string
	Held                                          *canopy.LegalHold
	Targets                                       []string // what can be redacted now
	Kind, Target, AskedBy, Decision, Reason, Note string
}

func (s *server) eraseForm(w http.ResponseWriter, r *http.Request, m *member) {
	s.renderErase(w, r, m, http.StatusOK, eraseView{Kind: canopy.ErasureRedact, Decision: "carry"}, nil)
}

func (s *server) renderErase(w http.ResponseWriter, r *http.Request, m *member, status int, v eraseView, errs *formErrors) {
	f, err := s.support.Case(r.Context(), m.account, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	if f.Case.IsDeleted() {
		s.fail(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.deleted"})
		return
	}
	v.ID, v.Alias = f.Case.ID, f.Case.Alias
	for i := range f.Holds {
		if f.Holds[i].Active() {
			v.Held = &f.Holds[i]
		}
	}
	if f.HasDetails {
		v.Targets = append(v.Targets, canopy.DetailFields...)
	}
	if f.Plan != nil && !f.Plan.Empty() {
		v.Targets = append(v.Targets, "plan")
	}
	for _, c := range f.CheckIns {
		if c.Note != "" {
			v.Targets = append(v.Targets, "checkin:"+strconv.Itoa(c.N))
		}
	}
	p := s.newPage(r, "case_erase", "Redact or delete: "+f.Case.Alias, m)
	s.withForm(w, r, p)
	p.Errors = errs
	p.Data = v
	s.render(w, r, status, p)
}

func (s *server) erase(w http.ResponseWriter, r *http.Request, m *member) {
	v := eraseView{Kind: r.PostForm.Get("kind"), Target: r.PostForm.Get("target"), AskedBy: r.PostForm.Get("asked_by"),
		Decision: r.PostForm.Get("decision"), Reason: r.PostForm.Get("reason"), Note: r.PostForm.Get("note")}
	var err error
	if v.Decision != "carry" && v.Decision != "refuse" {
		err = fieldError("decision", "error.unknown_code")
	} else {
		_, err = s.support.Erase(r.Context(), m.account, r.PathValue("id"), support.ErasureRequest{Kind: v.Kind, Target: v.Target,
			AskedBy: v.AskedBy, Carry: v.Decision == "carry", Reason: v.Reason, Note: v.Note})
	}
	switch e := canopy.AsError(err); {
	case err == nil && v.Decision == "refuse":
		caseDone(w, r, "refused")
	case err == nil && v.Kind == canopy.ErasureDelete:
		caseDone(w, r, "deleted")
	case err == nil:
		caseDone(w, r, "redacted")
	case errors.Is(err, support.ErrHeld):
		caseDone(w, r, "held")
	case e.Code == canopy.EINVALID:
		s.renderErase(w, r, m, http.StatusUnprocessableEntity, v, newFormErrors(e.Fields, caseLabels, caseTargets))
	default:
		s.fail(w, r, m, err)
	}
}

// holdsView is the administrator's page of legal holds.
type holdsView struct {
	Holds        []support.Hold
	Case, Reason string
	Lift         string // the case whose lift failed
	LiftReason   string
}

func (s *server) holds(w http.ResponseWriter, r *http.Request, m *member) {
	s.renderHolds(w, r, m, http.StatusOK, holdsView{}, nil)
}

func (s *server) renderHolds(w http.ResponseWriter, r *http.Request, m *member, status int, v holdsView, errs *formErrors) {
	hs, err := s.support.Holds(r.Context(), m.account)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	v.Holds = hs
	p := s.newPage(r, "case_holds", "Legal holds", m)
	p.names = names
	s.withForm(w, r, p)
	p.Notice = caseHoldNotices[r.URL.Query().Get("done")]
	p.Errors = errs
	p.Data = v
	s.render(w, r, status, p)
}

var caseHoldNotices = map[string]string{
	"placed": "The legal hold is placed. The case cannot be deleted until the hold is lifted; its caseworkers see the hold and its reason.",
	"lifted": "The legal hold is lifted. The case can be deleted again if its caseworker so decides.",
}

func (s *server) placeHold(w http.ResponseWriter, r *http.Request, m *member) {
	v := holdsView{Case: strings.ToLower(strings.TrimSpace(r.PostForm.Get("case"))), Reason: r.PostForm.Get("reason")}
	var err error
	if v.Case == "" {
		err = fieldError("case", "error.required")
	} else {
		err = s.support.PlaceHold(r.Context(), m.account, v.Case, v.Reason)
		if canopy.ErrorCode(err) == canopy.ENOTFOUND {
			err = fieldError("case", "error.case.not_found")
		}
	}
	s.holdDone(w, r, m, err, v, "placed")
}

func (s *server) liftHold(w http.ResponseWriter, r *http.Request, m *member) {
	v := holdsView{Lift: r.PostForm.Get("case"), LiftReason: r.PostForm.Get("lift_reason")}
	err := s.support.LiftHold(r.Context(), m.account, v.Lift, v.LiftReason)
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		for i := range e.Fields {
			e.Fields[i].Field = "lift_reason"
		}
	}
	s.holdDone(w, r, m, err, v, "lifted")
}

func (s *server) holdDone(w http.ResponseWriter, r *http.Request, m *member, err error, v holdsView, done string) {
	e := canopy.AsError(err)
	switch {
	case err == nil:
		http.Redirect(w, r, "/staff/cases/holds?done="+done, http.StatusSeeOther)
	case e.Code == canopy.EINVALID:
		s.renderHolds(w, r, m, http.StatusUnprocessableEntity, v, newFormErrors(e.Fields, map[string]string{"case": "Case id", "reason": "Reason",
			"lift_reason": "Reason for lifting"}, map[string]string{"lift_reason": "lift_reason-" + v.Lift}))
	case e.Code == canopy.ECONFLICT:
		s.renderHolds(w, r, m, http.StatusConflict, v, formError(messageOf(e.Key)))
	default:
		s.fail(w, r, m, err)
	}
}

// exportStatistics writes the anonymised statistics of the cases whose
// consent to statistics stands now, as CSV: codes, months and durations.
func (s *server) exportStatistics(w http.ResponseWriter, r *http.Request, m *member) {
	rows, err := s.support.Statistics(r.Context(), m.account)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"opened_month", "age_band", "languages", "needs", "referrals", "days_to_first_support", "check_ins",
		"first_wellbeing", "latest_wellbeing"})
	orEmpty := func(n int) string {
		if n < 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	for _, row := range rows {
		days := ""
		if row.ToFirstSupport >= 0 {
			days = strconv.FormatFloat(row.ToFirstSupport.Hours()/24, 'f', 1, 64)
		}
		cw.Write([]string{row.Opened, row.AgeBand, strings.Join(row.Languages, " "), strings.Join(row.Needs, " "), strconv.Itoa(row.Referrals),
			days, strconv.Itoa(row.CheckIns), orEmpty(row.FirstWellBeing), orEmpty(row.LastWellBeing)})
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="support-statistics-`+s.now().UTC().Format("2006-01-02")+`.csv"`)
	w.Write(buf.Bytes())
}

// linkedCases looks up the support cases linked to a report for the
// report page (case_link.html). A failure shows nothing rather than the
// page failing, and is logged.
func (s *server) linkedCases(ctx context.Context, who *canopy.Account, reportID string) []support.LinkedCase {
	cs, err := s.support.LinkedCases(ctx, who, reportID)
	if err != nil {
		s.log.Error("workspace: support cases of a report", "report", reportID, "err", err)
		return nil
	}
	return cs
}
