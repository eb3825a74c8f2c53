package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/canopy-org/canopy/internal/i18n"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames are the templates a response can render; each defines
// "content" inside layout.html.
var pageNames = []string{"form", "receipt", "followup", "status", "safety", "message", "help", "info", "transparency"}

type pages struct{ t map[string]*template.Template }

func loadPages() (*pages, error) {
	base, err := template.New("layout.html").ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	p := &pages{t: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// page is what every template gets. T translates; the rest is filled by
// the handler that renders it.
type page struct {
	cat   *i18n.Catalog
	name  string
	Lang  string
	Dir   string
	Title string // catalog key
	Langs []langLink
	Leave string
	CSS   string
	// PageCSS is a stylesheet of the page's own, after CSS.
	PageCSS string
	JS      string
	Icon    string
	CSRF    string // empty on pages without a form

	Banner string // a translated problem to show at the top, with role=alert
	Kept   bool   // the banner adds that the answers are still on the page

	// The report form.
	Form      *reportForm
	Errors    *formErrors
	Reporters []choice
	Cats      []choice
	Urgent    choice
	Flags     []choice
	Countries template.HTML // the <option>s of the country list

	// The receipt.
	Receipt *receiptView

	// The follow-up pages.
	Code     string // the receipt code as typed
	Followup *followupView
	Message  string // a message being written
	Notice   string // a translated confirmation

	// The message page.
	Heading string // catalog key
	Detail  string // catalog key, may be empty

	// "Find help" and the information pages.
	Help *helpView
	Info *infoView

	// The transparency page.
	Transparency *transparencyView
}

// T returns the message for key in the page's language.
func (p *page) T(key string, args ...any) string { return p.cat.T(key, args...) }

// problem puts a problem at the top of a page that shows the form again,
// saying that what was typed is still there (error.internal says so
// itself).
func (p *page) problem(key string) {
	p.Banner = p.T(key)
	p.Kept = key != "error.internal"
}

// Current reports whether the page belongs to a section of the menu.
func (p *page) Current(section string) bool {
	switch p.name {
	case "form", "receipt":
		return section == "report"
	case "followup", "status":
		return section == "followup"
	case "info":
		return section == "info:"+p.Info.Path
	}
	return p.name == section
}

// errorBlock is a field's errors with the id its control points to.
type errorBlock struct {
	ID   string
	Msgs []string
}

// ErrorBlock returns a field's errors for the "ferr" template.
func (p *page) ErrorBlock(field string) errorBlock {
	return errorBlock{ID: field + "-error", Msgs: p.FieldErrors(field)}
}

func (s *server) newPage(w http.ResponseWriter, r *http.Request, lang, name, route, title string) *page {
	c := i18n.Get(lang)
	return &page{
		cat:   c,
		name:  name,
		Lang:  c.Lang,
		Dir:   c.Dir,
		Title: title,
		Langs: langLinks(c.Lang, route),
		Leave: s.leaveURL,
		CSS:   s.assets.URL("style.css"),
		JS:    s.assets.URL("app.js"),
		Icon:  s.assets.URL("leaf.svg"),
	}
}

// withForm starts (or continues) the browser session and puts the form
// token on the page. Only pages with a form set the session cookie.
func (s *server) withForm(w http.ResponseWriter, r *http.Request, p *page) {
	p.CSRF = s.formToken(s.session(w, r))
}

// render writes the page with status. The page is built in memory first,
// so a template problem becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, p *page) {
	var buf bytes.Buffer
	if err := s.pages.t[p.name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("portal: render", "page", p.name, "err", err)
		if p.name == "message" {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		s.message(w, r, p.Lang, http.StatusInternalServerError, "portal.error.title", "portal.error.internal")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// message renders a short page that says what happened and where to go.
func (s *server) message(w http.ResponseWriter, r *http.Request, lang string, status int, heading, detail string) {
	p := s.newPage(w, r, lang, "message", "/", heading)
	p.Heading, p.Detail = heading, detail
	s.render(w, r, status, p)
}
