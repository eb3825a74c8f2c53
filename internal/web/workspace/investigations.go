package workspace

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/evidence"
)

// Investigations and their evidence: the list, an investigation's page
// (its reports, evidence, tasks, notes and timeline, closing and legal
// holds), the upload of a file, an item's page with its chain of custody
// and a preview blurred by default, the download of the original, and
// destruction. internal/evidence checks access.InvestigationManage and
// access.InvestigationHold and the member's jurisdictions, and audits
// refusals and every access to a file; these pages only show what it
// returns and offer the forms a role may use.

func init() {
	pageNames = append(pageNames, "investigations", "investigation", "evidence", "evidence_destroy")
	messageSets = append(messageSets, investigationMessages)
	for name, fn := range investigationFuncs {
		if _, dup := funcs[name]; dup {
			panic("workspace: template function " + name + " is defined twice")
		}
		funcs[name] = fn
	}
}

// DefaultMaxEvidence is the largest evidence file taken in one upload
// when Config.MaxEvidence is zero.
const DefaultMaxEvidence = 16 << 30

// investigationRoutes registers the pages of investigations and evidence.
func (s *server) investigationRoutes(handle func(string, http.HandlerFunc)) {
	// The report page's section (report_investigations.html, included
	// from report.html; the report's handler loads it).
	if t := s.pages.t["report"]; t != nil {
		template.Must(t.ParseFS(templateFiles, "templates/report_investigations.html"))
	}
	handle("POST /staff/reports/{id}/investigation", s.post(s.signedIn(s.reportToInvestigation)))
	handle("GET /staff/investigations", s.signedIn(s.invList))
	handle("POST /staff/investigations", s.post(s.signedIn(s.invOpen)))
	handle("GET /staff/investigations/{id}", s.signedIn(s.invPage))
	handle("POST /staff/investigations/{id}/reports", s.post(s.signedIn(s.invLink)))
	handle("POST /staff/investigations/{id}/reports/remove", s.post(s.signedIn(s.invUnlink)))
	handle("POST /staff/investigations/{id}/tasks", s.post(s.signedIn(s.invAddTask)))
	handle("POST /staff/investigations/{id}/tasks/{n}", s.post(s.signedIn(s.invTaskDone)))
	handle("POST /staff/investigations/{id}/notes", s.post(s.signedIn(s.invNote)))
	handle("POST /staff/investigations/{id}/close", s.post(s.signedIn(s.invReason(s.evidence.Close, "status", "closed"))))
	handle("POST /staff/investigations/{id}/reopen", s.post(s.signedIn(s.invReason(s.evidence.Reopen, "status", "reopened"))))
	handle("POST /staff/investigations/{id}/hold", s.post(s.signedIn(s.invReason(s.evidence.PlaceHold, "hold", "held"))))
	handle("POST /staff/investigations/{id}/hold/lift", s.post(s.signedIn(s.invReason(s.evidence.LiftHold, "hold", "lifted"))))
	// A file is streamed, not parsed as a form: see invUpload.
	handle("POST /staff/investigations/{id}/evidence", s.signedIn(s.invUpload))
	handle("POST /staff/investigations/{id}/transfer", s.post(s.signedIn(s.invTransfer)))
	handle("POST /staff/investigations/{id}/bundle", s.post(s.signedIn(s.invBundle)))
	handle("GET /staff/evidence/{id}", s.signedIn(s.itemPage))
	handle("GET /staff/evidence/{id}/preview", s.signedIn(s.itemPreview))
	handle("POST /staff/evidence/{id}/reveal", s.post(s.signedIn(s.itemReveal)))
	handle("POST /staff/evidence/{id}/hide", s.post(s.signedIn(s.itemHide)))
	handle("POST /staff/evidence/{id}/file", s.post(s.signedIn(s.itemFile)))
	handle("POST /staff/evidence/{id}/verify", s.post(s.signedIn(s.itemVerify)))
	handle("GET /staff/evidence/{id}/destroy", s.signedIn(s.itemDestroyForm))
	handle("POST /staff/evidence/{id}/destroy", s.post(s.signedIn(s.itemDestroy)))
}

// investigationMessages are the messages of the evidence service's error
// keys, and of the forms' own.
var investigationMessages = map[string]string{
	"error.investigation.not_found":      "There is no such investigation, or it is not in your jurisdictions.",
	"error.investigation.destroyed":      "Retention purged this investigation: its files and its key are destroyed, so nothing in it can be read, changed or added any more. Its hashes, dates and custody actions remain.",
	"error.investigation.closed":         "This investigation is closed, so no evidence can be added to it. Open it again first, giving a reason.",
	"error.investigation.held":           "A legal hold stands on this investigation, so none of its evidence can be destroyed. A supervisor or a liaison must lift the hold first.",
	"error.investigation.held_already":   "A legal hold already stands on this investigation.",
	"error.investigation.not_held":       "No legal hold stands on this investigation, so there is none to lift.",
	"error.investigation.open_already":   "This investigation is open already.",
	"error.investigation.closed_already": "This investigation is closed already.",
	"error.investigation.assignee":       "Choose an active colleague who works on investigations, or nobody yet.",
	"error.investigation.task_not_found": "This investigation has no task with this number.",
	"error.evidence.not_found":           "There is no such evidence item, or it is not in your jurisdictions.",
	"error.evidence.destroyed":           "This item's file was destroyed. Its hashes and its chain of custody remain, but the file can no longer be read, shown, checked or handed over.",
	"error.evidence.tampered":            "Alarm: the file no longer matches the hashes taken when it was acquired. It was changed or damaged in storage. Nothing of it was shown or sent, and the check is recorded in its chain of custody as a mismatch. Tell your supervisor and the node's operator now, and do not rely on this copy.",
	"error.evidence.not_image":           "This item has no preview: it is not an image of a kind the node reads (JPEG, PNG, GIF or WebP), or it is too large to decode. Download the original to look at it.",
	// The forms' own problems.
	"error.investigation.due":       "Give the due date as 2026-12-31, or leave it empty.",
	"error.evidence.file":           "Choose the file to add.",
	"error.evidence.transfer_items": "Tick items that are still held here, or none to hand over every item still held. Destroyed items cannot be handed over.",
}

// investigationNotices are the notices after an action, by the "done"
// parameter of the redirect.
var investigationNotices = map[string]string{
	"opened":      "The investigation is open. Link its reports, add evidence and tasks below.",
	"linked":      "The report is linked. Retention keeps it as long as it is in an investigation that is kept.",
	"unlinked":    "The report is no longer linked to this investigation.",
	"task":        "The task is added.",
	"task_done":   "The task is marked done.",
	"task_undone": "The task is marked not done again.",
	"note":        "The note is added to the timeline.",
	"closed":      "The investigation is closed. Retention counts the time its evidence is kept from today, unless a legal hold stands.",
	"reopened":    "The investigation is open again. Retention stops counting until it is closed again.",
	"held":        "The legal hold is placed. Nothing of this investigation can be destroyed or purged until it is lifted.",
	"lifted":      "The legal hold is lifted. Retention and destruction apply again.",
	"transferred": "The handover is recorded in the chain of custody of each item handed over. Every file matched its hashes.",
}

// itemNotices are the item page's notices, by the "done" parameter.
var itemNotices = map[string]string{
	"revealed":    "The image is shown as it is until the time below. The reveal is recorded in its chain of custody with your reason.",
	"hidden":      "The image is blurred and grey again.",
	"verified":    "The file matches the hashes taken when it was acquired. The check is recorded in its chain of custody.",
	"destroyed":   "The file is destroyed: its bytes and its name are gone. Its hashes and its chain of custody remain.",
	"transferred": "The handover is recorded in the item's chain of custody. The file matched its hashes.",
}

var investigationFuncs = template.FuncMap{
	"invstatus": func(code string) string { return word(investigationStatusNames, code) },
	"custody":   func(code string) string { return word(custodyNames, code) },
	"filesize":  fileSize,
	"shorthash": shortHash,
	"fieldOf":   fieldOf,
}

var investigationStatusNames = map[string]string{
	canopy.InvestigationOpen:   "Open",
	canopy.InvestigationClosed: "Closed",
}

var custodyNames = map[string]string{
	canopy.CustodyAcquired:    "Acquired",
	canopy.CustodyViewed:      "Viewed",
	canopy.CustodyRevealed:    "Revealed unblurred",
	canopy.CustodyExported:    "Exported in an evidence bundle",
	canopy.CustodyTransferred: "Handed over",
	canopy.CustodyDestroyed:   "Destroyed",
	canopy.CustodyVerified:    "Hashes checked",
}

// Labels of the forms' fields, for the error summary.
var investigationLabels = map[string]string{
	"title": "Title", "jurisdiction": "Jurisdiction", "report": "Report id", "assignee": "Assigned to", "due": "Due date",
	"note": "Note", "why": "Reason", "to": "Handed to", "items": "Items", "file": "File", "name": "File name", "status": "Show",
}

// fileSize writes a size for people: "1.5 MiB", "312 bytes".
func fileSize(n int64) string {
	const unit = 1024
	if n < unit {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	s := strconv.FormatFloat(math.Floor(f*10)/10, 'f', -1, 64)
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB", "PiB"}[i]
}

// shortHash is the start of a hash, enough to tell items apart at a
// glance; the full hash is on the item's page.
func shortHash(h string) string {
	if len(h) <= 12 {
		return h
	}
	return h[:12] + "…"
}

// formField is one control of a page with several forms: its id carries
// the form's name, and its messages show only when that form failed.
type formField struct {
	ID   string
	Msgs []string
}

func fieldOf(p *page, form, field string, failed bool) formField {
	f := formField{ID: form + "-" + field}
	if failed && p.Errors != nil {
		f.Msgs = p.Errors.byField[field]
	}
	return f
}

// Block is the field's messages, for the "ferr" template.
func (f formField) Block() errorBlock { return errorBlock{ID: f.ID + "-error", Msgs: f.Msgs} }

// Invalid reports whether the field has an error, for aria-invalid.
func (f formField) Invalid() bool { return len(f.Msgs) > 0 }

// Describe lists the ids the control's aria-describedby names.
func (f formField) Describe(hint bool) string {
	var ids []string
	if hint {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Invalid() {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// formErrorsOf turns a service's field errors into a page's, for a form
// whose controls' ids start with form.
func formErrorsOf(e *canopy.Error, form string, targets map[string]string) *formErrors {
	t := map[string]string{}
	for _, f := range e.Fields {
		t[f.Field] = form + "-" + f.Field
	}
	for k, v := range targets {
		t[k] = v
	}
	return newFormErrors(e.Fields, investigationLabels, t)
}

// invFail answers an error of the evidence service that no form shows:
// its own message where the generic page would say less.
func (s *server) invFail(w http.ResponseWriter, r *http.Request, m *member, err error) {
	e := canopy.AsError(err)
	switch e.Code {
	case canopy.ENOTFOUND:
		v := messageView{Heading: "Not found", Detail: messageOf(e.Key)}
		if _, known := investigationMessages[e.Key]; !known {
			v.Detail = "There is nothing here, or nothing you can see. Check the address or go back to where you came from."
		}
		v.Link, v.LinkLabel = "/staff/investigations", "Back to the investigations"
		s.messageFor(w, r, http.StatusNotFound, m, v)
	case canopy.ECONFLICT:
		v := messageView{Heading: "That could not be done", Detail: messageOf(e.Key)}
		if errors.Is(err, evidence.ErrTampered) {
			v.Heading = "The file does not match its hashes"
		}
		id := r.PathValue("id")
		switch {
		case strings.HasPrefix(r.URL.Path, "/staff/evidence/"):
			v.Link, v.LinkLabel = "/staff/evidence/"+id, "Back to the item"
		case id != "":
			v.Link, v.LinkLabel = "/staff/investigations/"+id, "Back to the investigation"
		}
		s.messageFor(w, r, http.StatusConflict, m, v)
	default:
		s.fail(w, r, m, err)
	}
}

// The report page's section.

// maxChoices bounds the open investigations a report page offers.
const maxChoices = 200

// loadReportInvestigations fills the report page's Investigations
// section: those the report is in, and the open ones it could join.
func (s *server) loadReportInvestigations(ctx context.Context, v *reportView, who *canopy.Account) error {
	in, err := s.evidence.ReportInvestigations(ctx, who, v.ID)
	if err != nil {
		return err
	}
	v.Investigations = in
	open, _, err := s.evidence.List(ctx, who, canopy.InvestigationOpen, maxChoices, 0)
	if err != nil {
		return err
	}
	for _, o := range open {
		if !slices.ContainsFunc(in, func(i evidence.Summary) bool { return i.ID == o.ID }) {
			v.OpenInvestigations = append(v.OpenInvestigations, o)
		}
	}
	return nil
}

// reportToInvestigation adds a report to an investigation from the
// report's page, and goes back to it.
func (s *server) reportToInvestigation(w http.ResponseWriter, r *http.Request, m *member) {
	report, inv := r.PathValue("id"), r.PostForm.Get("investigation")
	if inv == "" {
		s.messageFor(w, r, http.StatusUnprocessableEntity, m, messageView{Heading: "Choose an investigation",
			Detail: "Nothing was changed. Choose the investigation to add this report to.", Link: "/staff/reports/" + report,
			LinkLabel: "Back to the report"})
		return
	}
	if err := s.evidence.LinkReport(r.Context(), m.account, inv, report); err != nil {
		if e := canopy.AsError(err); e.Code == canopy.EINVALID {
			// The only field is the report: it is not one this member
			// may see, or not one at all.
			s.notFoundFor(w, r, m)
			return
		}
		s.invFail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/reports/"+report+"?done=investigation_linked", http.StatusSeeOther)
}

// The list.

type investigationsView struct {
	Rows []evidence.Summary
	paging
	Status string // open, closed or all
	New    newInvestigationForm
	// Jurisdictions are the choices for a new investigation, when the
	// member has one to make.
	Jurisdictions []string
}

type newInvestigationForm struct{ Title, Jurisdiction string }

func (s *server) invList(w http.ResponseWriter, r *http.Request, m *member) {
	s.renderInvList(w, r, m, http.StatusOK, newInvestigationForm{}, nil)
}

func (s *server) renderInvList(w http.ResponseWriter, r *http.Request, m *member, status int, f newInvestigationForm, errs *formErrors) {
	q := r.URL.Query()
	n := pageNumber(q)
	v := investigationsView{Status: q.Get("status"), New: f, Jurisdictions: s.investigationJurisdictions(m.account)}
	if v.Status != canopy.InvestigationClosed && v.Status != "all" {
		v.Status = canopy.InvestigationOpen
	}
	filter := v.Status
	if filter == "all" {
		filter = ""
	}
	rows, total, err := s.evidence.List(r.Context(), m.account, filter, perPage, (n-1)*perPage)
	if err != nil {
		s.invFail(w, r, m, err)
		return
	}
	v.Rows = rows
	v.paging = pageOf(total, n, func(n int) string {
		return "/staff/investigations?" + url.Values{"status": {v.Status}, "page": {strconv.Itoa(n)}}.Encode()
	})
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p := s.newPage(r, "investigations", "Investigations", m)
	p.names = names
	s.withForm(w, r, p)
	p.Errors = errs
	p.Data = v
	s.render(w, r, status, p)
}

// investigationJurisdictions are the jurisdictions a member may open an
// investigation in, when there is a choice to make: their own when they
// have several, or the node's when they work in all of them.
func (s *server) investigationJurisdictions(a *canopy.Account) []string {
	switch {
	case len(a.Jurisdictions) > 1:
		return a.Jurisdictions
	case len(a.Jurisdictions) == 0 && len(s.staff.Jurisdictions) > 1:
		return s.staff.Jurisdictions
	}
	return nil
}

func (s *server) invOpen(w http.ResponseWriter, r *http.Request, m *member) {
	f := newInvestigationForm{Title: r.PostForm.Get("title"), Jurisdiction: r.PostForm.Get("jurisdiction")}
	inv, err := s.evidence.Open(r.Context(), m.account, f.Title, f.Jurisdiction)
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		s.renderInvList(w, r, m, http.StatusUnprocessableEntity, f, formErrorsOf(e, "new", nil))
		return
	}
	if err != nil {
		s.invFail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/investigations/"+inv.ID+"?done=opened", http.StatusSeeOther)
}

// An investigation's page.

type investigationView struct {
	*evidence.Detail
	Gone      bool            // purged by retention
	CanHold   bool            // the member may place and lift legal holds
	Kept      []evidence.Item // the items whose files are still held
	Lines     []timelineLine  // the timeline in words, newest first
	Assignees []canopy.Account
	// HoldReason and CloseReason are the words of the hold that stands
	// and of the closing, from the timeline.
	HoldReason, CloseReason string
	Today                   string
	MaxUpload               string
	Bundle                  bool // the node signs bundles to download

	// The forms as typed, after a problem.
	Failed   string // which form failed: "link", "unlink", "task", "tasks", "note", "status", "hold", "upload", "transfer" or "bundle"
	Link     string
	Task     struct{ Title, Assignee, Due string }
	Note     string
	Why      string // the reason of the form that failed
	To       string
	Ticks    []string // the items ticked for a handover
	Tampered bool     // a file failed its hashes during a handover
}

// Ticked reports whether an item's box of the handover form is ticked.
func (v *investigationView) Ticked(id string) bool { return slices.Contains(v.Ticks, id) }

// OpenTasks counts the tasks not done.
func (v *investigationView) OpenTasks() int {
	n := 0
	for _, t := range v.Tasks {
		if t.Done.IsZero() {
			n++
		}
	}
	return n
}

// timelineLine is one line of the timeline in words.
type timelineLine struct {
	canopy.InvestigationEvent
	Text       string
	Href, Link string // what the line is about, when it has a page
}

// lastBody returns the words of the latest event of a kind.
func lastBody(d *evidence.Detail, kind string) string {
	for i := len(d.Timeline) - 1; i >= 0; i-- {
		if d.Timeline[i].Kind == kind {
			return d.Timeline[i].Body
		}
	}
	return ""
}

// itemLabel names an item for staff: its name, or once the name is
// destroyed the start of its hash.
func itemLabel(it *evidence.Item) string {
	if it.Name != "" {
		return it.Name
	}
	return "the item with SHA-256 " + shortHash(it.SHA256)
}

// timelineOf words an investigation's timeline, newest first.
func timelineOf(d *evidence.Detail) []timelineLine {
	items := map[string]*evidence.Item{}
	for i := range d.Items {
		items[d.Items[i].ID] = &d.Items[i]
	}
	tasks := map[string]string{}
	for _, t := range d.Tasks {
		tasks[strconv.Itoa(t.N)] = t.Title
	}
	itemWords := func(ref string) string {
		ids := strings.Fields(ref)
		if len(ids) == 1 {
			if it := items[ids[0]]; it != nil {
				return itemLabel(it)
			}
			return "an item"
		}
		return fmt.Sprintf("%d items", len(ids))
	}
	taskWords := func(ref string) string {
		if t := tasks[ref]; t != "" {
			return "task " + ref + ", " + t
		}
		return "task " + ref
	}
	out := make([]timelineLine, 0, len(d.Timeline))
	for i := len(d.Timeline) - 1; i >= 0; i-- {
		ev := d.Timeline[i]
		l := timelineLine{InvestigationEvent: ev}
		switch ev.Kind {
		case canopy.InvestigationOpened:
			l.Text = "Opened the investigation"
		case canopy.InvestigationNote:
			l.Text = "Added a note"
		case canopy.InvestigationTaskAdded:
			l.Text = "Added task " + ev.Ref
		case canopy.InvestigationTaskDone:
			l.Text = "Marked " + taskWords(ev.Ref) + " as done"
		case canopy.InvestigationTaskReopen:
			l.Text = "Marked " + taskWords(ev.Ref) + " as not done again"
		case canopy.InvestigationLinked:
			l.Text, l.Href, l.Link = "Linked report", "/staff/reports/"+ev.Ref, ev.Ref
		case canopy.InvestigationUnlinked:
			l.Text, l.Href, l.Link = "Unlinked report", "/staff/reports/"+ev.Ref, ev.Ref
		case canopy.InvestigationAcquired:
			l.Text, l.Href, l.Link = "Added evidence", "/staff/evidence/"+ev.Ref, itemWords(ev.Ref)
		case canopy.InvestigationDestroyed:
			l.Text, l.Href, l.Link = "Destroyed the file of", "/staff/evidence/"+ev.Ref, itemWords(ev.Ref)
		case canopy.InvestigationTransferred:
			l.Text = "Recorded the handover of " + itemWords(ev.Ref)
			if len(strings.Fields(ev.Ref)) == 1 {
				l.Text, l.Href, l.Link = "Recorded the handover of", "/staff/evidence/"+ev.Ref, itemWords(ev.Ref)
			}
		case canopy.InvestigationExported:
			l.Text = "Exported " + itemWords(ev.Ref) + " in a signed evidence bundle"
			if len(strings.Fields(ev.Ref)) == 0 {
				l.Text = "Exported an evidence bundle with no file in it"
			}
		case canopy.InvestigationClosedEvent:
			l.Text = "Closed the investigation"
		case canopy.InvestigationReopened:
			l.Text = "Opened the investigation again"
		case canopy.InvestigationHoldPlaced:
			l.Text = "Placed a legal hold"
		case canopy.InvestigationHoldLifted:
			l.Text = "Lifted the legal hold"
		case canopy.InvestigationPurgedEvent:
			l.Text = "Retention destroyed every file and the investigation's key"
		default:
			l.Text = ev.Kind
		}
		out = append(out, l)
	}
	return out
}

// invLoad loads an investigation's page, or answers the error and
// returns false.
func (s *server) invLoad(w http.ResponseWriter, r *http.Request, m *member, id string) (*page, *investigationView, bool) {
	ctx := r.Context()
	d, err := s.evidence.Investigation(ctx, m.account, id)
	if err != nil {
		s.invFail(w, r, m, err)
		return nil, nil, false
	}
	names, err := s.accountNames(ctx)
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v := &investigationView{Detail: d, Gone: !d.Purged.IsZero(), CanHold: access.Can(m.account.Role, access.InvestigationHold),
		Lines: timelineOf(d), Today: s.now().UTC().Format(time.DateOnly), MaxUpload: fileSize(s.maxUpload), Bundle: s.signer != nil}
	for _, it := range d.Items {
		if it.Destroyed.IsZero() {
			v.Kept = append(v.Kept, it)
		}
	}
	if d.Held {
		v.HoldReason = lastBody(d, canopy.InvestigationHoldPlaced)
	}
	if d.Status == canopy.InvestigationClosed {
		v.CloseReason = lastBody(d, canopy.InvestigationClosedEvent)
	}
	if !v.Gone {
		if v.Assignees, err = s.investigators(r, d.Jurisdiction); err != nil {
			s.internalError(w, r, err)
			return nil, nil, false
		}
	}
	title := d.Title
	if v.Gone {
		title = "Purged investigation"
	}
	p := s.newPage(r, "investigation", title, m)
	p.names = names
	s.withForm(w, r, p)
	return p, v, true
}

// investigators are the accounts a task may be assigned to: active, able
// to work on investigations, in the investigation's jurisdiction.
func (s *server) investigators(r *http.Request, jurisdiction string) ([]canopy.Account, error) {
	as, err := s.staff.Accounts(r.Context())
	if err != nil {
		return nil, err
	}
	var out []canopy.Account
	for _, a := range as {
		if !a.Disabled && access.Can(a.Role, access.InvestigationManage) && access.InJurisdiction(&a, jurisdiction) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *server) invPage(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.invLoad(w, r, m, r.PathValue("id"))
	if !ok {
		return
	}
	p.Notice = investigationNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// invDone sends the browser back to the investigation after an action.
func invDone(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/staff/investigations/"+r.PathValue("id")+"?done="+what, http.StatusSeeOther)
}

// invInvalid shows the investigation again with the form as typed and
// its problem, or the error's own page when it is not about a form.
func (s *server) invInvalid(w http.ResponseWriter, r *http.Request, m *member, err error, form string, keep func(*investigationView)) {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID && e.Code != canopy.ECONFLICT {
		s.invFail(w, r, m, err)
		return
	}
	p, v, ok := s.invLoad(w, r, m, r.PathValue("id"))
	if !ok {
		return
	}
	v.Failed = form
	if keep != nil {
		keep(v)
	}
	status := http.StatusUnprocessableEntity
	if e.Code == canopy.EINVALID {
		var targets map[string]string
		if form == "transfer" && len(v.Kept) > 0 {
			targets = map[string]string{"items": "transfer-item-" + v.Kept[0].ID}
		}
		if form == "upload" {
			targets = map[string]string{"name": "upload-file"}
		}
		p.Errors = formErrorsOf(e, form, targets)
	} else {
		status = http.StatusConflict
		p.Errors = formError(messageOf(e.Key))
		v.Tampered = errors.Is(err, evidence.ErrTampered)
	}
	p.Data = v
	s.render(w, r, status, p)
}

func (s *server) invLink(w http.ResponseWriter, r *http.Request, m *member) {
	report := r.PostForm.Get("report")
	if err := s.evidence.LinkReport(r.Context(), m.account, r.PathValue("id"), report); err != nil {
		s.invInvalid(w, r, m, err, "link", func(v *investigationView) { v.Link = report })
		return
	}
	invDone(w, r, "linked")
}

func (s *server) invUnlink(w http.ResponseWriter, r *http.Request, m *member) {
	err := s.evidence.UnlinkReport(r.Context(), m.account, r.PathValue("id"), r.PostForm.Get("report"))
	if e := canopy.AsError(err); err != nil && e.Code == canopy.ENOTFOUND && e.Key == "error.report.not_found" {
		// Unlinked already, perhaps by a colleague a moment ago.
		s.invInvalid(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: e.Key}, "unlink", nil)
		return
	}
	if err != nil {
		s.invFail(w, r, m, err)
		return
	}
	invDone(w, r, "unlinked")
}

func (s *server) invAddTask(w http.ResponseWriter, r *http.Request, m *member) {
	title, assignee, due := r.PostForm.Get("title"), r.PostForm.Get("assignee"), strings.TrimSpace(r.PostForm.Get("due"))
	keep := func(v *investigationView) { v.Task.Title, v.Task.Assignee, v.Task.Due = title, assignee, due }
	var at time.Time
	var err error
	if due != "" {
		if at, err = time.Parse(time.DateOnly, due); err != nil {
			err = fieldError("due", "error.investigation.due")
		}
	}
	if err == nil {
		_, err = s.evidence.AddTask(r.Context(), m.account, r.PathValue("id"), title, assignee, at)
	}
	if err != nil {
		s.invInvalid(w, r, m, err, "task", keep)
		return
	}
	invDone(w, r, "task")
}

func (s *server) invTaskDone(w http.ResponseWriter, r *http.Request, m *member) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		s.invFail(w, r, m, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.investigation.task_not_found"})
		return
	}
	done := r.PostForm.Get("done") != "no"
	if err := s.evidence.SetTaskDone(r.Context(), m.account, r.PathValue("id"), n, done); err != nil {
		if e := canopy.AsError(err); e.Code == canopy.ENOTFOUND && e.Key == "error.investigation.task_not_found" {
			err = &canopy.Error{Code: canopy.ECONFLICT, Key: e.Key}
		}
		s.invInvalid(w, r, m, err, "tasks", nil)
		return
	}
	if done {
		invDone(w, r, "task_done")
	} else {
		invDone(w, r, "task_undone")
	}
}

func (s *server) invNote(w http.ResponseWriter, r *http.Request, m *member) {
	note := r.PostForm.Get("note")
	if err := s.evidence.AddNote(r.Context(), m.account, r.PathValue("id"), note); err != nil {
		s.invInvalid(w, r, m, err, "note", func(v *investigationView) { v.Note = note })
		return
	}
	invDone(w, r, "note")
}

// invReason answers the forms that take a reason and nothing else:
// closing, reopening, placing and lifting a hold. act is the service's
// step; form names the form that shows a problem, done the notice.
func (s *server) invReason(act func(context.Context, *canopy.Account, string, string) error, form, done string) func(http.ResponseWriter, *http.Request, *member) {
	return func(w http.ResponseWriter, r *http.Request, m *member) {
		why := r.PostForm.Get("why")
		if err := act(r.Context(), m.account, r.PathValue("id"), why); err != nil {
			s.invInvalid(w, r, m, err, form, func(v *investigationView) { v.Why = why })
			return
		}
		invDone(w, r, done)
	}
}

func (s *server) invTransfer(w http.ResponseWriter, r *http.Request, m *member) {
	items, to, why := r.PostForm["items"], r.PostForm.Get("to"), r.PostForm.Get("why")
	// Every file is checked before a handover: give it the time to.
	defer longWrite(w, s.evidence.Size(r.Context(), m.account, r.PathValue("id"), ""))()
	err := s.evidence.Transfer(r.Context(), m.account, r.PathValue("id"), items, to, why)
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		for i := range e.Fields {
			if e.Fields[i].Field == "items" {
				e.Fields[i].Key = "error.evidence.transfer_items"
			}
		}
	}
	// The handover form of an item's page sends its browser back there.
	if item := r.PostForm.Get("item"); item != "" && len(items) == 1 && items[0] == item {
		if err != nil {
			s.itemInvalid(w, r, m, err, item, "transfer", func(v *itemView) { v.To, v.Why = to, why })
			return
		}
		http.Redirect(w, r, "/staff/evidence/"+url.PathEscape(item)+"?done=transferred", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.invInvalid(w, r, m, err, "transfer", func(v *investigationView) { v.To, v.Why, v.Ticks = to, why, items })
		return
	}
	invDone(w, r, "transferred")
}

// invBundle sends the investigation's evidence as a bundle signed by
// the node, in a ZIP archive (docs/evidence.md): every file still held,
// checked against its hashes before the first byte leaves, and each then
// recorded as exported in its chain of custody.
func (s *server) invBundle(w http.ResponseWriter, r *http.Request, m *member) {
	if s.signer == nil {
		s.notFoundFor(w, r, m)
		return
	}
	id := r.PathValue("id")
	defer longWrite(w, 2*s.evidence.Size(r.Context(), m.account, id, ""))()
	lw := &lazyHeaders{ResponseWriter: w, set: func(h http.Header) {
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Disposition", `attachment; filename="`+evidence.ZipFolder(id)+`.zip"`)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
	}}
	err := s.evidence.ExportZip(r.Context(), m.account, id, lw, s.nodeName, s.signer)
	switch {
	case err == nil:
		lw.Write(nil) // the headers, if the archive wrote nothing
	case lw.started:
		// Every file was checked before the first byte; what failed
		// after is the connection, or the store since.
		s.log.Error("workspace: evidence bundle cut short", "err", err)
	default:
		s.invInvalid(w, r, m, err, "bundle", nil)
	}
}

// The upload.

// maxField bounds each field of the upload form read before the file:
// the reason is at most 2,000 characters, 8,000 bytes in UTF-8.
const maxField = 16 << 10

var errFieldTooLong = errors.New("workspace: form field too long")

// readField reads a small field of a multipart form.
func readField(p *multipart.Part) (string, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxField+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxField {
		return "", errFieldTooLong
	}
	return string(b), nil
}

// deadlineBody gives an upload the time it needs, as long as its bytes
// keep coming: reads move the connection's deadlines a minute on, which
// the node's server deadlines, meant for forms, would cut (the write
// deadline too, counted from the request's start, or the answer to a
// long upload would never leave).
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	on   bool // once the form token is checked
	next time.Time
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	if d.on {
		if now := time.Now(); now.After(d.next) {
			d.rc.SetReadDeadline(now.Add(time.Minute))
			d.rc.SetWriteDeadline(now.Add(time.Minute))
			d.next = now.Add(10 * time.Second)
		}
	}
	return d.ReadCloser.Read(p)
}

// longWrite gives a response that reads a whole file first (to check
// it) the time it needs, at 2 MiB a second at least. The returned func
// takes the deadline off again, for the server to set its own for the
// connection's next request.
func longWrite(w http.ResponseWriter, size int64) func() {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(time.Minute + time.Duration(size>>21)*time.Second))
	return func() { rc.SetWriteDeadline(time.Time{}) }
}

func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

func (s *server) tooLarge(w http.ResponseWriter, r *http.Request, m *member) {
	s.messageFor(w, r, http.StatusRequestEntityTooLarge, m, messageView{Heading: "The file is too large",
		Detail: "This node takes evidence files of up to " + fileSize(s.maxUpload) + " in one upload. Nothing was stored. Ask the node's operator to raise the limit, or split the file.",
		Link:   "/staff/investigations/" + r.PathValue("id"), LinkLabel: "Back to the investigation"})
}

// invUpload adds a file to an investigation. The form is read part by
// part as it arrives, not parsed whole: the form token first, checked
// before anything else is read; then the reason; then the file, streamed
// straight into the evidence service, which encrypts and hashes it as it
// comes. Memory does not grow with the file; the body is capped at
// Config.MaxEvidence.
func (s *server) invUpload(w http.ResponseWriter, r *http.Request, m *member) {
	body := &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.maxUpload), rc: http.NewResponseController(w)}
	r.Body = body
	mr, err := r.MultipartReader()
	if err != nil {
		s.messageFor(w, r, http.StatusBadRequest, m, messageView{Heading: "Could not read the form",
			Detail: "Nothing was stored. Please go back and try again."})
		return
	}
	var token string
	part, err := mr.NextPart()
	if err == nil && part.FormName() == "csrf" {
		token, err = readField(part)
	}
	if err != nil || !s.validToken(r, token) {
		s.messageFor(w, r, http.StatusForbidden, m, messageView{Heading: "This form has expired",
			Detail: "Nothing was stored. Please go back, reload the page and try again."})
		return
	}
	body.on = true
	// The deadlines set for the upload are taken off after it, for the
	// server to set its own for the connection's next request.
	defer func() {
		body.rc.SetReadDeadline(time.Time{})
		body.rc.SetWriteDeadline(time.Time{})
	}()
	var why string
	var file *multipart.Part
	for n := 0; file == nil && n < 8; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if isTooLarge(err) {
				s.tooLarge(w, r, m)
				return
			}
			s.messageFor(w, r, http.StatusBadRequest, m, messageView{Heading: "Could not read the form",
				Detail: "Nothing was stored. Please go back and try again."})
			return
		}
		switch part.FormName() {
		case "file":
			file = part
		case "why":
			if why, err = readField(part); errors.Is(err, errFieldTooLong) {
				s.invInvalid(w, r, m, fieldError("why", "error.too_long"), "upload", nil)
				return
			}
		default:
			_, err = readField(part)
		}
		if err != nil && !errors.Is(err, errFieldTooLong) {
			s.internalError(w, r, err)
			return
		}
	}
	keep := func(v *investigationView) { v.Why = why }
	if file == nil || file.FileName() == "" {
		e := &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid"}
		if strings.TrimSpace(why) == "" {
			e.Fields = append(e.Fields, canopy.FieldError{Field: "why", Key: "error.required"})
		}
		e.Fields = append(e.Fields, canopy.FieldError{Field: "file", Key: "error.evidence.file"})
		s.invInvalid(w, r, m, e, "upload", keep)
		return
	}
	item, err := s.evidence.Acquire(r.Context(), m.account, r.PathValue("id"), file.FileName(), file, why)
	switch {
	case isTooLarge(err):
		s.tooLarge(w, r, m)
	case err != nil:
		s.invInvalid(w, r, m, err, "upload", keep)
	default:
		http.Redirect(w, r, "/staff/evidence/"+item.ID+"?done=acquired", http.StatusSeeOther)
	}
}

// An item's page.

type itemView struct {
	Inv    *evidence.Detail
	Item   evidence.Item
	Purged bool
	// Preview is true when the item is an image the node shows.
	Preview bool
	// Revealed is when the member's reveal of the image ends, or zero
	// while it is blurred; Left is how many seconds that is away.
	Revealed   time.Time
	Left       int
	RevealFor  string
	HoldReason string

	// The forms as typed, after a problem.
	Failed   string // "reveal", "file", "transfer" or "destroy"
	Why, To  string
	Tampered bool
}

// renderItem writes an item's page. While its image is revealed the
// page loads itself again a second after the reveal ends, so that the
// image is blurred again with scripts off too. That is the Refresh
// header, which browsers follow as they do the meta element of the same
// name: axe flags any timed refresh in the page, where this one is an
// announced limit that protects the analyst (WCAG 2.2.1's essential
// exception), and "Hide now" ends it sooner.
func (s *server) renderItem(w http.ResponseWriter, r *http.Request, status int, p *page, v *itemView) {
	if !v.Revealed.IsZero() {
		w.Header().Set("Refresh", strconv.Itoa(v.Left+1)+"; url=/staff/evidence/"+v.Item.ID)
	}
	p.Data = v
	s.render(w, r, status, p)
}

// Live reports whether the item's file is still held.
func (v *itemView) Live() bool { return v.Item.Destroyed.IsZero() && !v.Purged }

// revealWords says how long a reveal lasts.
func revealWords(d time.Duration) string {
	if d == time.Minute {
		return "one minute"
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return fmt.Sprintf("%d seconds", d/time.Second)
}

// itemLoad loads an item's page, or answers the error and returns false.
func (s *server) itemLoad(w http.ResponseWriter, r *http.Request, m *member, id string) (*page, *itemView, bool) {
	// The item is read from the store to know its investigation, which
	// the service then opens for the member, or refuses: a member
	// without the permission is refused first, without a lookup.
	if !s.require(w, r, m, access.InvestigationManage) {
		return nil, nil, false
	}
	ctx := r.Context()
	e, err := s.evidence.DB.Evidence(ctx, id)
	if err != nil {
		s.invFail(w, r, m, err)
		return nil, nil, false
	}
	d, err := s.evidence.Investigation(ctx, m.account, e.InvestigationID)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		// Outside the member's jurisdictions: answered as an item that
		// is not there, so ids tell nothing.
		err = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.evidence.not_found"}
	}
	if err != nil {
		s.invFail(w, r, m, err)
		return nil, nil, false
	}
	i := slices.IndexFunc(d.Items, func(it evidence.Item) bool { return it.ID == id })
	if i < 0 {
		s.invFail(w, r, m, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.evidence.not_found"})
		return nil, nil, false
	}
	names, err := s.accountNames(ctx)
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v := &itemView{Inv: d, Item: d.Items[i], Purged: !d.Purged.IsZero()}
	v.Preview = evidence.Previewable(&v.Item.EvidenceItem) && !v.Purged
	reveal := s.evidence.RevealFor
	if reveal <= 0 {
		reveal = evidence.DefaultRevealFor
	}
	v.RevealFor = revealWords(reveal)
	if v.Preview {
		if until := s.evidence.RevealedUntil(m.account, id); !until.IsZero() {
			v.Revealed = until
			v.Left = max(1, int(math.Ceil(until.Sub(s.now()).Seconds())))
		}
	}
	if d.Held {
		v.HoldReason = lastBody(d, canopy.InvestigationHoldPlaced)
	}
	title := v.Item.Name
	if title == "" {
		title = "Evidence item " + shortHash(v.Item.SHA256)
	}
	p := s.newPage(r, "evidence", title, m)
	p.names = names
	s.withForm(w, r, p)
	return p, v, true
}

func (s *server) itemPage(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.itemLoad(w, r, m, r.PathValue("id"))
	if !ok {
		return
	}
	done := r.URL.Query().Get("done")
	p.Notice = itemNotices[done]
	if done == "acquired" {
		p.Notice = "The file is added, encrypted, with its chain of custody begun. Its SHA-256 is " + v.Item.SHA256 + "."
	}
	s.renderItem(w, r, http.StatusOK, p, v)
}

// itemInvalid shows an item's page again with the form as typed and its
// problem, or the error's own page when it is not about a form.
func (s *server) itemInvalid(w http.ResponseWriter, r *http.Request, m *member, err error, id, form string, keep func(*itemView)) {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID && e.Code != canopy.ECONFLICT {
		s.invFail(w, r, m, err)
		return
	}
	p, v, ok := s.itemLoad(w, r, m, id)
	if !ok {
		return
	}
	v.Failed = form
	if keep != nil {
		keep(v)
	}
	status := http.StatusUnprocessableEntity
	if e.Code == canopy.EINVALID {
		p.Errors = formErrorsOf(e, form, nil)
	} else {
		status = http.StatusConflict
		p.Errors = formError(messageOf(e.Key))
		v.Tampered = errors.Is(err, evidence.ErrTampered)
	}
	s.renderItem(w, r, status, p, v)
}

// lazyHeaders sets a response's headers at its first byte, so that an
// error before it can still be answered with a page.
type lazyHeaders struct {
	http.ResponseWriter
	set     func(http.Header)
	started bool
}

func (l *lazyHeaders) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.set(l.Header())
		l.WriteHeader(http.StatusOK)
	}
	return l.ResponseWriter.Write(p)
}

// itemPreview serves the image's preview as PNG: blurred and grey, or as
// it is while the member's reveal lasts. The service records the viewing.
func (s *server) itemPreview(w http.ResponseWriter, r *http.Request, m *member) {
	lw := &lazyHeaders{ResponseWriter: w, set: func(h http.Header) {
		h.Set("Content-Type", "image/png")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
	}}
	if _, err := s.evidence.Preview(r.Context(), m.account, r.PathValue("id"), lw); err != nil {
		if lw.started {
			s.log.Error("workspace: preview cut short", "err", err)
			return
		}
		s.invFail(w, r, m, err)
	}
}

func (s *server) itemReveal(w http.ResponseWriter, r *http.Request, m *member) {
	id, why := r.PathValue("id"), r.PostForm.Get("why")
	if _, err := s.evidence.Reveal(r.Context(), m.account, id, why); err != nil {
		s.itemInvalid(w, r, m, err, id, "reveal", func(v *itemView) { v.Why = why })
		return
	}
	http.Redirect(w, r, "/staff/evidence/"+id+"?done=revealed", http.StatusSeeOther)
}

// itemHide ends the member's reveal at once. It shows nothing, so the
// service does not check it; the page still does.
func (s *server) itemHide(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.InvestigationManage) {
		return
	}
	id := r.PathValue("id")
	s.evidence.Hide(m.account, id)
	http.Redirect(w, r, "/staff/evidence/"+id+"?done=hidden", http.StatusSeeOther)
}

// attachmentName is a file name safe in a Content-Disposition header,
// from the name as acquired.
func attachmentName(name, id string) string {
	return cmp.Or(evidence.SafeName(name), "evidence-"+id)
}

// itemFile streams the original file as an attachment. The service
// checks it whole against its hashes before the first byte leaves, and
// records the access, with the reason, in its chain of custody.
func (s *server) itemFile(w http.ResponseWriter, r *http.Request, m *member) {
	id, why := r.PathValue("id"), r.PostForm.Get("why")
	name, size, err := s.evidence.Download(r.Context(), m.account, id)
	if err != nil {
		s.itemInvalid(w, r, m, err, id, "file", func(v *itemView) { v.Why = why })
		return
	}
	defer longWrite(w, 2*size)()
	lw := &lazyHeaders{ResponseWriter: w, set: func(h http.Header) {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+attachmentName(name, id)+`"`)
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
	}}
	err = s.evidence.Read(r.Context(), m.account, id, why, lw)
	if err == nil && !lw.started {
		lw.Write(nil) // an empty file
	}
	if err == nil {
		return
	}
	if lw.started {
		// The file was checked whole before its first byte left; what
		// failed after is the connection, or the store since.
		s.log.Error("workspace: evidence download cut short", "err", err)
		return
	}
	// The access was recorded (a mismatch too): the page shows the
	// custody as it is now.
	s.itemInvalid(w, r, m, err, id, "file", func(v *itemView) { v.Why = why })
}

func (s *server) itemVerify(w http.ResponseWriter, r *http.Request, m *member) {
	id := r.PathValue("id")
	defer longWrite(w, s.evidence.Size(r.Context(), m.account, "", id))()
	if err := s.evidence.Verify(r.Context(), m.account, id); err != nil {
		s.itemInvalid(w, r, m, err, id, "verify", nil)
		return
	}
	http.Redirect(w, r, "/staff/evidence/"+id+"?done=verified", http.StatusSeeOther)
}

func (s *server) itemDestroyForm(w http.ResponseWriter, r *http.Request, m *member) {
	s.renderDestroy(w, r, m, http.StatusOK, "", nil)
}

func (s *server) renderDestroy(w http.ResponseWriter, r *http.Request, m *member, status int, why string, errs *formErrors) {
	p, v, ok := s.itemLoad(w, r, m, r.PathValue("id"))
	if !ok {
		return
	}
	if !v.Live() {
		s.invFail(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.destroyed"})
		return
	}
	p.name, p.Title = "evidence_destroy", "Destroy: "+p.Title
	v.Why = why
	p.Errors = errs
	if errs != nil {
		v.Failed = "destroy"
	}
	p.Data = v
	s.render(w, r, status, p)
}

func (s *server) itemDestroy(w http.ResponseWriter, r *http.Request, m *member) {
	id, why := r.PathValue("id"), r.PostForm.Get("why")
	err := s.evidence.Destroy(r.Context(), m.account, id, why)
	e := canopy.AsError(err)
	switch {
	case err == nil:
		http.Redirect(w, r, "/staff/evidence/"+id+"?done=destroyed", http.StatusSeeOther)
	case e.Code == canopy.EINVALID:
		s.renderDestroy(w, r, m, http.StatusUnprocessableEntity, why, formErrorsOf(e, "destroy", nil))
	case e.Key == "error.investigation.held":
		s.renderDestroy(w, r, m, http.StatusConflict, why, formError(messageOf(e.Key)))
	default:
		s.invFail(w, r, m, err)
	}
}
