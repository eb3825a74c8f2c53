package workspace

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames are the templates a response can render; each defines
// "content" inside layout.html.
var pageNames = []string{"message", "setup", "invite", "enrol", "recovery", "login", "factor",
	"queue", "report", "accounts", "account", "audit", "opened", "network", "peer", "confirm", "unrouted"}

type pages struct{ t map[string]*template.Template }

func loadPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("workspace: parse layout: %w", err)
	}
	p := &pages{t: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("workspace: parse %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// page is what every template gets; Data holds the page's own view.
type page struct {
	name     string
	Title    string
	NodeName string
	CSS, JS  string
	Clock    string          // the overdue icon
	CSRF     string          // the form token; empty on pages without a form
	Account  *canopy.Account // nil before sign-in
	Nav      []navLink
	Notice   string // a confirmation shown at the top, with role=status
	Errors   *formErrors
	Passkeys bool   // the node offers passkeys
	Home     string // the member's start page
	Data     any

	names map[string]string // account id -> display name, for Who
}

type navLink struct {
	Href, Label string
	Current     bool
}

// Who names the actor of an event or an audit entry for staff: a
// colleague's name, "the reporter", the node, a peer or a host.
func (p *page) Who(id string) string {
	switch {
	case id == "":
		return "Reporter"
	case id == "system":
		return "The node"
	case id == "public":
		return "Public (not identified)"
	case strings.HasPrefix(id, "staff:"):
		id = strings.TrimPrefix(id, "staff:")
	case strings.HasPrefix(id, "peer:"):
		return "Peer " + strings.TrimPrefix(id, "peer:")
	case strings.HasPrefix(id, "host:"):
		return "Host " + strings.TrimPrefix(id, "host:")
	}
	if n, ok := p.names[id]; ok {
		return n
	}
	return "Account " + id
}

// FieldErrors returns the messages of one field, for the "ferr" template.
func (p *page) FieldErrors(field string) errorBlock {
	b := errorBlock{ID: field + "-error"}
	if p.Errors != nil {
		b.Msgs = p.Errors.byField[field]
	}
	return b
}

// Invalid reports whether a field has an error, for aria-invalid.
func (p *page) Invalid(field string) bool {
	return p.Errors != nil && len(p.Errors.byField[field]) > 0
}

// Describe returns the ids a control's aria-describedby lists: its hint
// when it has one, and its error when it has one.
func (p *page) Describe(field string, hint bool) string {
	var ids []string
	if hint {
		ids = append(ids, field+"-hint")
	}
	if p.Invalid(field) {
		ids = append(ids, field+"-error")
	}
	return strings.Join(ids, " ")
}

type errorBlock struct {
	ID   string
	Msgs []string
}

// formErrors are the problems with a submitted form: a summary at the top
// whose links move focus to each field, and the messages beside each.
type formErrors struct {
	Summary []summaryItem
	byField map[string][]string
}

type summaryItem struct {
	Href, Label, Message string
}

// newFormErrors turns a service's field errors into a page's. labels name
// each field and targets give the id of its control (the field's name by
// default).
func newFormErrors(fields []canopy.FieldError, labels, targets map[string]string) *formErrors {
	fe := &formErrors{byField: map[string][]string{}}
	for _, f := range fields {
		msg := messageOf(f.Key, f.Args...)
		fe.byField[f.Field] = append(fe.byField[f.Field], msg)
		target := f.Field
		if t, ok := targets[f.Field]; ok {
			target = t
		}
		label := labels[f.Field]
		if label == "" {
			label = f.Field
		}
		fe.Summary = append(fe.Summary, summaryItem{Href: "#" + target, Label: label, Message: msg})
	}
	return fe
}

// formError is one problem without a field, such as a failed sign-in.
func formError(msg string) *formErrors {
	return &formErrors{Summary: []summaryItem{{Message: msg}}, byField: map[string][]string{}}
}

func (s *server) newPage(r *http.Request, name, title string, m *member) *page {
	p := &page{
		name:     name,
		Title:    title,
		NodeName: s.nodeName,
		CSS:      s.assets.URL("staff.css"),
		JS:       s.assets.URL("staff.js"),
		Clock:    s.assets.URL("clock.svg"),
		Passkeys: s.rp.ID != "",
	}
	if m != nil {
		p.Account = m.account
		p.Nav = nav(m.account, r.URL.Path)
		p.Home = home(m.account)
		p.CSRF = s.mac("session\x00" + m.token) // for the sign-out button
	}
	return p
}

// withForm puts the form token on the page.
func (s *server) withForm(w http.ResponseWriter, r *http.Request, p *page) {
	p.CSRF = s.formToken(w, r)
}

func nav(a *canopy.Account, current string) []navLink {
	var out []navLink
	add := func(href, label string, p access.Permission, match func(string) bool) {
		if access.Can(a.Role, p) {
			out = append(out, navLink{Href: href, Label: label, Current: match(current)})
		}
	}
	add("/staff/", "Queue", access.QueueView, func(c string) bool {
		return c == "/staff/" || c == "/staff/unrouted" || strings.HasPrefix(c, "/staff/reports/")
	})
	out = append(out, takedownNav(a, current)...)
	add("/staff/investigations", "Investigations", access.InvestigationManage, func(c string) bool {
		return strings.HasPrefix(c, "/staff/investigations") || strings.HasPrefix(c, "/staff/evidence/")
	})
	add("/staff/cases", "Cases", access.CaseManage, func(c string) bool {
		return strings.HasPrefix(c, "/staff/cases") && !strings.HasPrefix(c, "/staff/cases/holds")
	})
	add("/staff/cases/holds", "Legal holds", access.CaseHold, func(c string) bool { return strings.HasPrefix(c, "/staff/cases/holds") })
	add("/staff/services", "Services", access.ServiceManage, func(c string) bool { return strings.HasPrefix(c, "/staff/services") })
	add("/staff/accounts", "Accounts", access.AccountManage, func(c string) bool { return strings.HasPrefix(c, "/staff/accounts") })
	add("/staff/dashboard", "Indicators", access.IndicatorsView, func(c string) bool { return strings.HasPrefix(c, "/staff/dashboard") })
	add("/staff/network", "Network", access.PeerManage, func(c string) bool { return strings.HasPrefix(c, "/staff/network") })
	add("/staff/audit", "Audit log", access.AuditRead, func(c string) bool { return strings.HasPrefix(c, "/staff/audit") })
	add("/staff/account", "My account", access.OwnAccount, func(c string) bool { return c == "/staff/account" || strings.HasPrefix(c, "/staff/account/") })
	return out
}

// render writes the page with status. The page is built in memory first,
// so a template problem becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, p *page) {
	var buf bytes.Buffer
	if err := s.pages.t[p.name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("workspace: render", "page", p.name, "err", err)
		if p.name == "message" {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		s.message(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on the node. Please try again in a moment.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(buf.Len()))
	if p.Passkeys && (p.name == "enrol" || p.name == "factor" || p.name == "account") {
		h.Set("Content-Security-Policy", passkeyPolicy)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// messageView is a short page that says what happened and where to go.
type messageView struct {
	Heading, Detail string
	Link, LinkLabel string
	NoSignIn        bool // signing in cannot help: the node has no staff yet
}

func (s *server) message(w http.ResponseWriter, r *http.Request, status int, heading, detail string) {
	s.messageFor(w, r, status, nil, messageView{Heading: heading, Detail: detail})
}

func (s *server) messageFor(w http.ResponseWriter, r *http.Request, status int, m *member, v messageView) {
	p := s.newPage(r, "message", v.Heading, m)
	p.Data = v
	s.render(w, r, status, p)
}

// forbidden says no and nothing more: not what was asked for, not
// whether it exists.
func (s *server) forbidden(w http.ResponseWriter, r *http.Request, m *member) {
	s.messageFor(w, r, http.StatusForbidden, m, messageView{Heading: "Not allowed",
		Detail: "Your role does not allow this. If you need it for your work, ask an administrator."})
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.notFoundFor(w, r, nil)
}

func (s *server) notFoundFor(w http.ResponseWriter, r *http.Request, m *member) {
	s.messageFor(w, r, http.StatusNotFound, m, messageView{Heading: "Not found",
		Detail: "There is nothing here, or nothing you can see. Check the address or go back to where you came from."})
}

func (s *server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("workspace: internal error", "method", r.Method, "route", r.Pattern, "err", err)
	if isJSON(r) {
		s.jsonError(w, http.StatusInternalServerError, "Something went wrong on the node. Please try again.")
		return
	}
	s.message(w, r, http.StatusInternalServerError, "Something went wrong", "Something went wrong on the node. Please try again in a moment.")
}

// fail answers an error from a service with the page its code calls for.
// Forms handle EINVALID themselves; here it only gets a generic page.
func (s *server) fail(w http.ResponseWriter, r *http.Request, m *member, err error) {
	e := canopy.AsError(err)
	switch e.Code {
	case canopy.EUNAUTHORIZED:
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
	case canopy.EFORBIDDEN:
		s.forbidden(w, r, m)
	case canopy.ENOTFOUND:
		s.notFoundFor(w, r, m)
	case canopy.ECONFLICT:
		v := messageView{Heading: "That could not be done", Detail: messageOf(e.Key)}
		if id := r.PathValue("id"); id != "" && strings.HasPrefix(r.URL.Path, "/staff/reports/") {
			v.Link, v.LinkLabel = "/staff/reports/"+id, "Back to the report"
		}
		s.messageFor(w, r, http.StatusConflict, m, v)
	case canopy.ETOOMANY:
		s.messageFor(w, r, http.StatusTooManyRequests, m, messageView{Heading: "Please wait", Detail: messageOf(e.Key)})
	case canopy.EINVALID:
		s.messageFor(w, r, http.StatusBadRequest, m, messageView{Heading: "Please check what you sent", Detail: messageOf(e.Key)})
	default:
		s.internalError(w, r, err)
	}
}

// jsonError answers the passkey endpoints, which scripts call.
func (s *server) jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// The taxonomy, for the assessment form.
func (p *page) Categories() []string {
	out := make([]string, len(canopy.Categories))
	for i, c := range canopy.Categories {
		out[i] = c.Code
	}
	return out
}

func (p *page) Flags() []string           { return canopy.Flags }
func (p *page) Imagery() []string         { return canopy.ImageryDecisions }
func (p *page) IndustryClasses() []string { return canopy.IndustryClasses }
func (p *page) AgeBands() []string        { return canopy.AgeBands }
func (p *page) Outcomes() []string        { return canopy.Outcomes }
func (p *page) Shareable() []string       { return canopy.Shareable }

// peerBox is what the "share" and "banks" templates need of a peer form,
// which the network page and a peer's page both show.
type peerBox struct {
	P     *page
	F     peerForm
	Banks []string // this node's banks
}

func (p *page) PeerBox(f peerForm, banks []string) peerBox { return peerBox{P: p, F: f, Banks: banks} }

// perPage is how many rows a paged list shows.
const perPage = 50

// paging is a list's place among its pages: how many rows in all, the
// page shown, how many pages, and links to the pages either side.
type paging struct {
	Total, Page, Pages int
	Prev, Next         string
}

// pageNumber is the page a list's query asks for, from 1.
func pageNumber(q url.Values) int {
	n, _ := strconv.Atoi(q.Get("page"))
	return max(n, 1)
}

// pageOf places page among the pages of total rows; link makes a page's
// address.
func pageOf(total, page int, link func(int) string) paging {
	p := paging{Total: total, Page: page, Pages: max(1, (total+perPage-1)/perPage)}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}
