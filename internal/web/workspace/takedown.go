package workspace

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/takedown"
)

// Notice and takedown: the Takedown panel of a report's page (notices,
// their addresses, sending and recording what became of each), the board
// of every notice, the list of hosts, and the hosts' scorecard.
// internal/takedown checks access.ReportTakedown and access.HostManage
// and audits refusals; these pages only show what it returns and offer
// the forms a role may use. Addresses are content: the panel shows them
// only on the page that answers an opening of the report, which is
// audited, and the board never shows them.

func init() {
	pageNames = append(pageNames, "takedown", "takedown_hosts", "takedown_host", "takedown_scores")
	messageSets = append(messageSets, takedownMessages)
	for name, fn := range takedownFuncs {
		if _, dup := funcs[name]; dup {
			panic("workspace: template function " + name + " is defined twice")
		}
		funcs[name] = fn
	}
	for k, v := range takedownDone {
		doneNotices[k] = v
	}
}

// takedownRoutes registers the pages of notice and takedown.
func (s *server) takedownRoutes(handle func(string, http.HandlerFunc)) {
	// The report page's panel (takedown_panel.html, included from
	// report.html; the report's handler loads it).
	if t := s.pages.t["report"]; t != nil {
		template.Must(t.ParseFS(templateFiles, "templates/takedown_panel.html"))
	}
	handle("POST /staff/reports/{id}/takedown/prepare", s.post(s.signedIn(s.prepareNotices)))
	handle("POST /staff/reports/{id}/takedown/send", s.post(s.signedIn(s.sendNotices)))
	handle("POST /staff/reports/{id}/takedowns/{takedown}", s.post(s.signedIn(s.recordTakedown)))
	handle("GET /staff/takedown", s.signedIn(s.takedownBoard))
	handle("GET /staff/takedown/hosts", s.signedIn(s.takedownHosts))
	handle("GET /staff/takedown/hosts/new", s.signedIn(s.newHostForm))
	handle("POST /staff/takedown/hosts/new", s.post(s.signedIn(s.addHost)))
	handle("GET /staff/takedown/hosts/{id}", s.signedIn(s.hostPage))
	handle("POST /staff/takedown/hosts/{id}", s.post(s.signedIn(s.changeHost)))
	handle("GET /staff/takedown/scores", s.signedIn(s.takedownScores))
}

// takedownMessages are the messages of takedown's error keys, and of the
// forms' own.
var takedownMessages = map[string]string{
	"error.takedown.not_found":              "There is no such address among this report's notices.",
	"error.takedown.not_sent":               "The host does not have this notice yet, so nothing can be recorded for this address. Send the notice, or wait until it is delivered.",
	"error.takedown.future":                 "This time is in the future. Give the time it happened, in UTC, or leave it empty if it happened just now.",
	"error.takedown.before_notice":          "This time is before the host received the notice. Check the date and the time, which are in UTC.",
	"error.takedown.nothing_to_send":        "No notice of this report waits to be sent: they have been sent already, perhaps by a colleague a moment ago.",
	"error.takedown.no_content":             "This report's content was erased, so its addresses cannot be read and no notice can be prepared.",
	"error.takedown.host_not_found":         "There is no host with this id on the list.",
	"error.takedown.notice_not_found":       "There is no such notice.",
	"error.takedown.host_id":                "Use 1 to 64 lower-case letters, digits, hyphens or underscores, starting with a letter or a digit, such as ovh or social-example.",
	"error.takedown.country":                "Use two-letter ISO country codes separated by spaces, such as FR or FR BE.",
	"error.takedown.domain":                 "Use host names of two labels or more, one per line, such as example.com, which covers cdn.example.com too. Write an international name in its xn-- form.",
	"error.takedown.network":                "Use address prefixes in CIDR notation, one per line, such as 203.0.113.0/24 or 2001:db8::/32.",
	"error.takedown.no_match":               "Give at least one domain or one network: the node finds which addresses a host serves by them.",
	"error.takedown.email":                  "Give the host's abuse address on its own, such as abuse@example.com, without a name around it.",
	"error.takedown.webhook":                "Give the endpoint's address starting with https:// (http:// only on this machine, for a test), without a user name or a # part.",
	"error.takedown.clock":                  "Give a whole number of hours from 1 to 720 (30 days), or leave it empty for the node's default.",
	"error.takedown.remind_before_escalate": "The first reminder must come before the escalation: make “Remind after” shorter than “Escalate after”.",
	"error.takedown.platform":               "There is no platform account with this id. Give the id of a registered platform, or leave it empty.",
	// The forms' own problems.
	"error.takedown.hours":       "Give a whole number of hours, such as 24, or leave it empty for the node's default.",
	"error.takedown.when":        "Give the date and time in UTC as 2026-11-27 14:30, or leave it empty if it happened just now.",
	"error.takedown.host_exists": "There is already a host with this id. Choose another, or change that host from the list of hosts.",
	"error.takedown.host_new":    "“new” cannot be a host's id here. Choose another, such as new-host.",
	"error.takedown.date":        "Give a date as 2026-11-27.",
	"error.takedown.period":      "The first day must be on or before the last.",
}

// takedownDone are the report page's notices after a takedown action.
var takedownDone = map[string]string{
	"takedown_prepared": "The notices are prepared again: every address a host on the list serves is in a notice. New drafts wait for you to send them.",
	"takedown_sent":     "The notices are sent. The node delivers them now and retries while a host's server is down; their state shows under Takedown.",
	"takedown_recorded": "What became of the address is recorded, on the timeline at the time you gave.",
	"host_added":        "The host is added to the list. Prepare the notices again to put its addresses in a notice.",
}

var hostNotices = map[string]string{
	"host_added":   "The host is added to the list. Addresses it serves go in its notices from now on.",
	"host_changed": "The host is changed. Notices prepared from now on follow its new details.",
}

var takedownFuncs = template.FuncMap{
	"noticestatus": func(code string) string { return word(noticeStatusNames, code) },
	"tdstatus":     func(code string) string { return word(takedownStatusNames, code) },
	"hostkind":     func(code string) string { return word(hostKindNames, code) },
	"noticeby":     func(code string) string { return word(noticeMethodNames, code) },
	"hours":        func(d time.Duration) int { return int(d / time.Hour) },
}

var noticeStatusNames = map[string]string{
	canopy.NoticeDraft:  "Draft: not sent yet",
	canopy.NoticeQueued: "Sending",
	canopy.NoticeSent:   "Delivered to the host",
	canopy.NoticeFailed: "Failed: the host's server refused it",
}

var takedownStatusNames = map[string]string{
	canopy.TakedownPending:      "Not yet notified",
	canopy.TakedownNotified:     "Notified",
	canopy.TakedownAcknowledged: "Acknowledged by the host",
	canopy.TakedownRemoved:      "Removed",
	canopy.TakedownRefused:      "Refused by the host",
}

var hostKindNames = map[string]string{
	canopy.HostHosting:  "Hosting company, content delivery network or file locker",
	canopy.HostPlatform: "Platform whose users post: a social network, a forum",
}

var noticeMethodNames = map[string]string{
	canopy.NoticeByEmail:   "E-mail to its abuse address",
	canopy.NoticeByWebhook: "Signed webhook to its endpoint",
}

// takedownDetail is a takedown event's line on the timeline.
func takedownDetail(e canopy.Event) string {
	host, urls := e.Data["host"], addressCount(e.Data["urls"])
	switch e.Kind {
	case canopy.EventNoticeSent:
		return "host " + host + " has the notice, " + urls
	case canopy.EventTakedownEscalate:
		return urls + " at host " + host + " still up after the host's time"
	case canopy.EventTakedownStatus:
		return "an address at host " + host + ": " + strings.ToLower(word(takedownStatusNames, e.Data["status"]))
	}
	return ""
}

func addressCount(n string) string {
	if n == "1" {
		return "1 address"
	}
	return n + " addresses"
}

var withdrawalNames = map[string]string{
	canopy.WithdrawalConsent:   "the child's consent was withdrawn",
	canopy.WithdrawalDeleted:   "the child's support case was deleted",
	canopy.WithdrawalNoConsent: "the child's case has no consent to sharing abroad",
}

// withdrawnDetail is a sharing_withdrawn event's line on the timeline.
func withdrawnDetail(e canopy.Event) string {
	why := word(withdrawalNames, e.Data["reason"])
	switch {
	case e.Data["direction"] == "in":
		return "the personal details peer " + e.Data["peer"] + " shared were removed: " + why
	case e.Data["peer"] != "":
		return "peer " + e.Data["peer"] + " was told: " + why
	}
	return "not to be shared abroad in full: " + why
}

// takedownNav is the workspace's link to takedown for a role: the board
// for those who send notices, the list of hosts for those who only keep
// it, and the escalated notices for those who only read reports.
func takedownNav(a *canopy.Account, current string) []navLink {
	on := strings.HasPrefix(current, "/staff/takedown")
	switch {
	case access.Can(a.Role, access.ReportTakedown):
		return []navLink{{Href: "/staff/takedown", Label: "Takedown", Current: on}}
	case access.Can(a.Role, access.HostManage):
		return []navLink{{Href: "/staff/takedown/hosts", Label: "Takedown hosts", Current: on}}
	case access.Can(a.Role, access.ReportView):
		return []navLink{{Href: "/staff/takedown?state=escalated", Label: "Escalated takedowns", Current: on}}
	}
	return nil
}

// requireAny is s.require for a page that either of two permissions
// opens; a refusal is audited under the first.
func (s *server) requireAny(w http.ResponseWriter, r *http.Request, m *member, p, or access.Permission) bool {
	if access.Can(m.account.Role, or) {
		return true
	}
	return s.require(w, r, m, p)
}

// The report page's panel.

// takedownPanel is what the report page shows of takedown.
type takedownPanel struct {
	Show    bool // the report has notices, or is assessed for takedown
	Failed  bool // they could not be loaded
	Notices []noticeBox
	// Unplaced are addresses served from here with no host on the list;
	// Abroad are those for a peer.
	Unplaced, Abroad []placeRow
	Send             int  // notices the one action sends: drafts and failed ones
	Shown            bool // the addresses are shown: this page answers an opening
	CanAct           bool // send notices and record what became of addresses
	CanPrepare       bool
	CanHosts         bool       // add a host to the list
	Form             recordForm // a record form as typed, after a mistake
}

type noticeBox struct {
	takedown.NoticeView
	Items []addressRow
	Open  int // addresses still up
}

// addressRow is one address of a notice. URL is empty until the report
// is opened.
type addressRow struct {
	canopy.Takedown
	N           int
	url, reason string
	// What may be recorded of it now.
	Acknowledge, Remove, Refuse bool
}

// Recordable reports whether the address takes a record form.
func (a addressRow) Recordable() bool { return a.Acknowledge || a.Remove || a.Refuse }

type placeRow struct {
	URL, url string
	Country  string
}

// recordForm is a record form as typed.
type recordForm struct {
	ID, At, Reason string
}

// reveal shows the addresses, on the page that answers an opening.
func (t *takedownPanel) reveal() {
	t.Shown = true
	for i := range t.Notices {
		for j := range t.Notices[i].Items {
			t.Notices[i].Items[j].URL = t.Notices[i].Items[j].url
			t.Notices[i].Items[j].Reason = t.Notices[i].Items[j].reason
		}
	}
	for _, rows := range [][]placeRow{t.Unplaced, t.Abroad} {
		for i := range rows {
			rows[i].URL = rows[i].url
		}
	}
}

// loadTakedown fills the report page's takedown panel: for a report with
// notices, or assessed for takedown. A failure shows a line rather than
// the page failing, and is logged.
func (s *server) loadTakedown(ctx context.Context, v *reportView, who *canopy.Account) {
	t := &v.Takedown
	notices, err := s.takedown.DB.ReportNotices(ctx, v.ID)
	if err == nil && len(notices) == 0 && v.State.Outcome != canopy.OutcomeTakedown {
		return
	}
	t.Show = true
	var plan *takedown.Plan
	if err == nil {
		plan, err = s.takedown.Plan(ctx, who, v.ID)
	}
	if err != nil {
		s.log.Error("workspace: takedown of a report", "report", v.ID, "err", err)
		t.Failed = true
		return
	}
	role := who.Role
	t.CanAct = access.Can(role, access.ReportTakedown)
	t.CanPrepare = t.CanAct && v.State.Outcome == canopy.OutcomeTakedown
	t.CanHosts = access.Can(role, access.HostManage)
	for _, n := range plan.Notices {
		box := noticeBox{NoticeView: n}
		if n.Status == canopy.NoticeDraft || n.Status == canopy.NoticeFailed {
			t.Send++
		}
		for i, it := range n.Items {
			row := addressRow{Takedown: it, N: i + 1, url: it.URL, reason: it.Reason}
			row.URL, row.Reason = "", "" // shown once the report is opened, as its content is
			if it.Open() {
				box.Open++
			}
			if t.CanAct && !it.Notified.IsZero() {
				row.Acknowledge = it.Status == canopy.TakedownNotified
				row.Remove = it.Status != canopy.TakedownRemoved
				row.Refuse = it.Open()
			}
			box.Items = append(box.Items, row)
		}
		t.Notices = append(t.Notices, box)
	}
	for _, p := range plan.Unplaced {
		t.Unplaced = append(t.Unplaced, placeRow{url: p.URL, Country: p.Country})
	}
	for _, p := range plan.Abroad {
		t.Abroad = append(t.Abroad, placeRow{url: p.URL, Country: p.Country})
	}
}

func (s *server) prepareNotices(w http.ResponseWriter, r *http.Request, m *member) {
	if _, err := s.takedown.Prepare(r.Context(), m.account, r.PathValue("id")); err != nil {
		s.fail(w, r, m, err)
		return
	}
	done(w, r, "takedown_prepared")
}

func (s *server) sendNotices(w http.ResponseWriter, r *http.Request, m *member) {
	if _, err := s.takedown.Send(r.Context(), m.account, r.PathValue("id")); err != nil {
		s.fail(w, r, m, err)
		return
	}
	done(w, r, "takedown_sent")
}

// whenLayouts are how a time may be typed: UTC, to the minute.
var whenLayouts = []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02T15:04:05Z"}

// parseWhen reads a time typed in UTC; empty is "now", the zero time.
func parseWhen(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range whenLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// recordTakedown records what an analyst learnt became of one address:
// the host acknowledged it, removed it (when, if not now) or refused
// (why).
func (s *server) recordTakedown(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ReportTakedown) {
		return
	}
	ctx := r.Context()
	f := recordForm{ID: r.PathValue("takedown"), At: r.PostForm.Get("at"), Reason: r.PostForm.Get("reason")}
	t, err := s.takedown.DB.Takedown(ctx, f.ID)
	if err == nil && t.ReportID != r.PathValue("id") {
		err = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.takedown.not_found"}
	}
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	at, ok := parseWhen(f.At)
	if !ok {
		s.recordInvalid(w, r, m, fieldError("at", "error.takedown.when"), f)
		return
	}
	c := takedown.Confirmation{Status: r.PostForm.Get("status"), At: at, Reason: strings.ReplaceAll(f.Reason, "\r\n", "\n")}
	if _, err := s.takedown.Record(ctx, m.account, f.ID, c); err != nil {
		s.recordInvalid(w, r, m, err, f)
		return
	}
	done(w, r, "takedown_recorded")
}

// recordInvalid shows the report again with a record form as typed and
// its problems, under the names of that form's controls.
func (s *server) recordInvalid(w http.ResponseWriter, r *http.Request, m *member, err error, f recordForm) {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID {
		s.fail(w, r, m, err)
		return
	}
	p, v, ok := s.reportPage(w, r, m)
	if !ok {
		return
	}
	v.Takedown.Form = f
	of := ""
	for _, n := range v.Takedown.Notices {
		for _, it := range n.Items {
			if it.ID == f.ID {
				of = fmt.Sprintf(" (address %d to %s)", it.N, n.HostName)
			}
		}
	}
	labels := map[string]string{"at-" + f.ID: "When it happened" + of, "reason-" + f.ID: "The host's reason" + of,
		"status-" + f.ID: "What became of it" + of}
	fields := slices.Clone(e.Fields)
	for i := range fields {
		fields[i].Field += "-" + f.ID
	}
	p.Errors = newFormErrors(fields, labels, nil)
	p.Data = v
	s.render(w, r, http.StatusUnprocessableEntity, p)
}

// The board.

// boardStates are the board's views, in order.
var boardStates = []string{"open", "escalated", "failed", "drafts", "all"}

var boardStateNames = map[string]string{
	"open":      "Still up: notices with an address not yet removed",
	"escalated": "Escalated: addresses still up after the host's time, passed to law enforcement",
	"failed":    "Failed: the host's server refused the notice; fix the host and send again",
	"drafts":    "Drafts: prepared, not sent yet",
	"all":       "All notices",
}

type boardView struct {
	State string
	Host  string
	Hosts []canopy.Host
	Rows  []takedown.BoardRow
	paging
	// Full is true for staff who send notices: every state. Others see
	// the escalated notices only.
	Full bool
}

// BoardStates are the states the board's filter offers.
func (v boardView) BoardStates() []string { return boardStates }

// StateName says what a state of the board lists.
func (v boardView) StateName(s string) string { return boardStateNames[s] }

func (s *server) takedownBoard(w http.ResponseWriter, r *http.Request, m *member) {
	q := r.URL.Query()
	page := pageNumber(q)
	v := boardView{State: q.Get("state"), Host: q.Get("host"), Full: access.Can(m.account.Role, access.ReportTakedown)}
	if !slices.Contains(boardStates, v.State) {
		v.State = "open"
	}
	if !v.Full {
		v.State = "escalated"
	}
	f := store.NoticeFilter{Host: v.Host, Limit: perPage, Offset: (page - 1) * perPage}
	switch v.State {
	case "open":
		f.Open = true
	case "escalated":
		f.Escalated = true
	case "failed":
		f.Status = canopy.NoticeFailed
	case "drafts":
		f.Status = canopy.NoticeDraft
	}
	rows, total, err := s.takedown.Board(r.Context(), m.account, f)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	hosts, err := s.takedown.DB.Hosts(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	v.Rows, v.Hosts = rows, hosts
	v.paging = pageOf(total, page, func(page int) string {
		u := url.Values{"state": {v.State}, "page": {strconv.Itoa(page)}}
		if v.Host != "" {
			u.Set("host", v.Host)
		}
		return "/staff/takedown?" + u.Encode()
	})
	title := "Takedown"
	if !v.Full {
		title = "Escalated takedowns"
	}
	p := s.newPage(r, "takedown", title, m)
	p.names = names
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// The list of hosts.

type hostsView struct {
	Hosts     []canopy.Host
	CanManage bool
	// The node's clock, for hosts that keep the default.
	Remind, Escalate time.Duration
}

func (s *server) clockDefaults() (remind, escalate time.Duration) {
	remind, escalate = s.takedown.RemindAfter, s.takedown.EscalateAfter
	if remind <= 0 {
		remind = takedown.DefaultRemindAfter
	}
	if escalate <= 0 {
		escalate = takedown.DefaultEscalateAfter
	}
	return remind, escalate
}

func (s *server) takedownHosts(w http.ResponseWriter, r *http.Request, m *member) {
	hosts, err := s.takedown.Hosts(r.Context(), m.account)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	v := hostsView{Hosts: hosts, CanManage: access.Can(m.account.Role, access.HostManage)}
	v.Remind, v.Escalate = s.clockDefaults()
	p := s.newPage(r, "takedown_hosts", "Takedown hosts", m)
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// hostForm is the host form as typed.
type hostForm struct {
	ID, Name, Kind, Jurisdictions, Domains, Networks string
	Method, Email, Webhook, Language, Platform       string
	RemindAfter, EscalateAfter                       string // in hours
	Active                                           bool
	Report                                           string // the report the member came from, to go back to
}

func readHostForm(r *http.Request) hostForm {
	g := r.PostForm.Get
	return hostForm{ID: g("id"), Name: g("name"), Kind: g("kind"), Jurisdictions: g("jurisdictions"), Domains: g("domains"),
		Networks: g("networks"), Method: g("method"), Email: g("email"), Webhook: g("webhook"), Language: g("language"),
		Platform: g("platform"), RemindAfter: g("remind_after"), EscalateAfter: g("escalate_after"), Active: g("active") == "yes",
		Report: g("report")}
}

// host turns the form into a host, with the problems only the form can
// have (hours that are not a number).
func (f hostForm) host() (*canopy.Host, []canopy.FieldError) {
	var bad []canopy.FieldError
	hours := func(field, v string) time.Duration {
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "h"))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad = append(bad, canopy.FieldError{Field: field, Key: "error.takedown.hours"})
			return 0
		}
		return time.Duration(n) * time.Hour
	}
	h := &canopy.Host{ID: f.ID, Name: f.Name, Kind: f.Kind, Jurisdictions: splitList(f.Jurisdictions), Domains: splitList(f.Domains),
		Networks: splitList(f.Networks), Method: f.Method, Email: f.Email, Webhook: f.Webhook, Language: f.Language, Platform: f.Platform,
		RemindAfter: hours("remind_after", f.RemindAfter), EscalateAfter: hours("escalate_after", f.EscalateAfter), Active: f.Active}
	return h, bad
}

func hostFormOf(h *canopy.Host) hostForm {
	f := hostForm{ID: h.ID, Name: h.Name, Kind: h.Kind, Jurisdictions: strings.Join(h.Jurisdictions, " "),
		Domains: strings.Join(h.Domains, "\n"), Networks: strings.Join(h.Networks, "\n"), Method: h.Method, Email: h.Email,
		Webhook: h.Webhook, Language: h.Language, Platform: h.Platform, Active: h.Active}
	if h.RemindAfter > 0 {
		f.RemindAfter = strconv.Itoa(int(h.RemindAfter / time.Hour))
	}
	if h.EscalateAfter > 0 {
		f.EscalateAfter = strconv.Itoa(int(h.EscalateAfter / time.Hour))
	}
	return f
}

var hostLabels = map[string]string{
	"id": "Id", "name": "Name", "kind": "Kind of host", "jurisdictions": "Jurisdictions", "domains": "Domains",
	"networks": "Networks", "method": "How it takes notices", "email": "Abuse e-mail address", "webhook": "Webhook address",
	"language": "Language of its notices", "remind_after": "Remind after", "escalate_after": "Escalate after",
	"platform": "Platform account", "active": "Takes notices",
}

var hostTargets = map[string]string{"kind": "kind-" + canopy.HostKinds[0], "method": "method-" + canopy.NoticeMethods[0]}

// hostView is a host's page: its form for those who keep the list, its
// details for the others.
type hostView struct {
	Host      *canopy.Host // nil for a new host
	Form      hostForm
	CanManage bool
	// The node's clock, in hours, for the hints.
	Remind, Escalate int
}

// The choices the host form offers.
func (v hostView) Kinds() []string     { return canopy.HostKinds }
func (v hostView) Methods() []string   { return canopy.NoticeMethods }
func (v hostView) Languages() []string { return canopy.Languages }

func (s *server) hostView(h *canopy.Host, f hostForm, manage bool) *hostView {
	remind, escalate := s.clockDefaults()
	return &hostView{Host: h, Form: f, CanManage: manage, Remind: int(remind / time.Hour), Escalate: int(escalate / time.Hour)}
}

func (s *server) newHostForm(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.HostManage) {
		return
	}
	f := hostForm{Kind: canopy.HostHosting, Method: canopy.NoticeByEmail, Language: "en", Active: true, Report: r.URL.Query().Get("report")}
	p := s.newPage(r, "takedown_host", "Add a host", m)
	s.withForm(w, r, p)
	p.Data = s.hostView(nil, f, true)
	s.render(w, r, http.StatusOK, p)
}

func (s *server) addHost(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.HostManage) {
		return
	}
	ctx := r.Context()
	f := readHostForm(r)
	h, bad := f.host()
	id := strings.ToLower(strings.TrimSpace(f.ID))
	if id == "new" {
		bad = append(bad, canopy.FieldError{Field: "id", Key: "error.takedown.host_new"})
	} else if _, err := s.takedown.DB.Host(ctx, id); err == nil {
		bad = append(bad, canopy.FieldError{Field: "id", Key: "error.takedown.host_exists"})
	} else if canopy.ErrorCode(err) != canopy.ENOTFOUND {
		s.internalError(w, r, err)
		return
	}
	if s.putHost(w, r, m, h, f, bad, nil) {
		if f.Report != "" {
			http.Redirect(w, r, "/staff/reports/"+url.PathEscape(f.Report)+"?done=host_added#takedown-title", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/staff/takedown/hosts/"+url.PathEscape(h.ID)+"?done=host_added", http.StatusSeeOther)
	}
}

// putHost saves a host from its form, or shows the form again with its
// problems and returns false. old is the host changed, nil for a new one.
func (s *server) putHost(w http.ResponseWriter, r *http.Request, m *member, h *canopy.Host, f hostForm, bad []canopy.FieldError, old *canopy.Host) bool {
	var err error
	if len(bad) == 0 {
		err = s.takedown.PutHost(r.Context(), m.account, h)
		if err == nil {
			return true
		}
		if canopy.ErrorCode(err) != canopy.EINVALID {
			s.fail(w, r, m, err)
			return false
		}
		bad = canopy.AsError(err).Fields
	} else {
		// The form's own problems, and the host's, one message a field.
		check := *h
		for _, fe := range takedown.NormaliseHost(&check) {
			if !slices.ContainsFunc(bad, func(b canopy.FieldError) bool { return b.Field == fe.Field }) {
				bad = append(bad, fe)
			}
		}
	}
	title := "Add a host"
	if old != nil {
		title = old.Name
	}
	p := s.newPage(r, "takedown_host", title, m)
	s.withForm(w, r, p)
	p.Errors = newFormErrors(bad, hostLabels, hostTargets)
	p.Data = s.hostView(old, f, true)
	s.render(w, r, http.StatusUnprocessableEntity, p)
	return false
}

func (s *server) hostPage(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.requireAny(w, r, m, access.HostManage, access.ReportTakedown) {
		return
	}
	h, err := s.takedown.DB.Host(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	manage := access.Can(m.account.Role, access.HostManage)
	p := s.newPage(r, "takedown_host", h.Name, m)
	p.names = names
	if manage {
		s.withForm(w, r, p)
	}
	p.Notice = hostNotices[r.URL.Query().Get("done")]
	p.Data = s.hostView(h, hostFormOf(h), manage)
	s.render(w, r, http.StatusOK, p)
}

func (s *server) changeHost(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.HostManage) {
		return
	}
	old, err := s.takedown.DB.Host(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	f := readHostForm(r)
	f.ID = old.ID
	h, bad := f.host()
	if s.putHost(w, r, m, h, f, bad, old) {
		http.Redirect(w, r, "/staff/takedown/hosts/"+url.PathEscape(old.ID)+"?done=host_changed", http.StatusSeeOther)
	}
}

// The scorecard.

// scorePeriod is the scorecard's default period, in days.
const scorePeriod = 90

type scoresView struct {
	From, To string // the period as typed: its first and last days
	Rows     []scoreRow
	// The period read, when the form was right.
	Start, End time.Time
}

// scoreRow is one host's score in words: durations for people, and
// shares with what they are a share of.
type scoreRow struct {
	Host, Name                            string
	Notified, Removed, Refused, Escalated int
	Median, P90, Within24, Within72       string
}

func scoreRowOf(sc takedown.Score) scoreRow {
	row := scoreRow{Host: sc.Host, Name: sc.Name, Notified: sc.Notified, Removed: sc.Removed, Refused: sc.Refused, Escalated: sc.Escalated,
		Median: "Not known yet", P90: "Not known yet"}
	if sc.Removed > 0 {
		row.Median, row.P90 = dur(sc.Median), dur(sc.P90)
	}
	row.Within24, row.Within72 = shareWords(sc.Within24, sc.Due24), shareWords(sc.Within72, sc.Due72)
	return row
}

// shareWords writes a share of the addresses due: "67% (2 of 3)".
func shareWords(share float64, due int) string {
	if share < 0 || due == 0 {
		return "Not known yet"
	}
	n := int(math.Round(share * float64(due)))
	return fmt.Sprintf("%d%% (%d of %d)", int(math.Round(share*100)), n, due)
}

func (s *server) takedownScores(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.requireAny(w, r, m, access.ReportTakedown, access.HostManage) {
		return
	}
	q := r.URL.Query()
	today := s.now().UTC().Truncate(24 * time.Hour)
	v := scoresView{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	if v.From == "" && v.To == "" {
		v.From, v.To = today.AddDate(0, 0, -scorePeriod).Format(time.DateOnly), today.Format(time.DateOnly)
	}
	var bad []canopy.FieldError
	day := func(field, typed string, def time.Time) time.Time {
		if typed == "" {
			return def
		}
		t, err := time.ParseInLocation(time.DateOnly, typed, time.UTC)
		if err != nil {
			bad = append(bad, canopy.FieldError{Field: field, Key: "error.takedown.date"})
		}
		return t
	}
	start := day("from", v.From, today.AddDate(0, 0, -scorePeriod))
	last := day("to", v.To, today)
	if len(bad) == 0 && last.Before(start) {
		bad = append(bad, canopy.FieldError{Field: "from", Key: "error.takedown.period"})
	}
	p := s.newPage(r, "takedown_scores", "Host scorecard", m)
	p.Data = &v
	if len(bad) > 0 {
		p.Errors = newFormErrors(bad, map[string]string{"from": "First day", "to": "Last day"}, nil)
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	v.Start, v.End = start, last.AddDate(0, 0, 1)
	scores, err := s.takedown.Scorecard(r.Context(), m.account, v.Start, v.End)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	for _, sc := range scores {
		v.Rows = append(v.Rows, scoreRowOf(sc))
	}
	s.render(w, r, http.StatusOK, p)
}
