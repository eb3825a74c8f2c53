package web

import (
	"html"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
)

// lang picks the language of the page: a ?lang= link from the switcher
// (remembered for the browser session), the form's hidden field, the
// session's choice, and then the browser's Accept-Language.
func (s *server) lang(w http.ResponseWriter, r *http.Request, form url.Values) string {
	if l := r.URL.Query().Get("lang"); canopy.IsLanguage(l) {
		if c, err := r.Cookie(s.cookieName("lang")); err != nil || c.Value != l {
			http.SetCookie(w, s.cookie("lang", l, http.SameSiteLaxMode))
		}
		return l
	}
	if form != nil {
		if l := form.Get("lang"); canopy.IsLanguage(l) {
			return l
		}
	}
	if c, err := r.Cookie(s.cookieName("lang")); err == nil && canopy.IsLanguage(c.Value) {
		return c.Value
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// langLink is one entry of the language switcher.
type langLink struct {
	Code, Dir, Name, Href string
	Current               bool
}

// langLinks are the switcher's links to path in each language. A path
// with a query (a search on "Find help") keeps it.
func langLinks(current, path string) []langLink {
	links := make([]langLink, 0, len(canopy.Languages))
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for _, l := range canopy.Languages {
		c := i18n.Get(l)
		links = append(links, langLink{
			Code:    l,
			Dir:     c.Dir,
			Name:    c.T("portal.lang.self"),
			Href:    path + sep + "lang=" + l,
			Current: l == current,
		})
	}
	return links
}

// countryOptions holds, per language, the <option> list of the child's
// country: every country named in that language and sorted the way its
// readers expect, escaped once at start-up. The form shows it on every
// visit; building 249 options through the template each time was most of
// the page's cost.
var countryOptions = func() map[string]string {
	m := make(map[string]string, len(canopy.Languages))
	for _, l := range canopy.Languages {
		tag := language.Make(l)
		namer := display.Regions(tag)
		type option struct{ code, name string }
		opts := make([]option, 0, len(canopy.Countries))
		for _, code := range canopy.Countries {
			name := code
			if region, err := language.ParseRegion(code); err == nil {
				if n := namer.Name(region); n != "" {
					name = n
				}
			}
			opts = append(opts, option{code, name})
		}
		coll := collate.New(tag, collate.Loose)
		slices.SortStableFunc(opts, func(a, b option) int { return coll.CompareString(a.name, b.name) })
		var b strings.Builder
		for _, o := range opts {
			b.WriteString(`<option value="` + o.code + `">` + html.EscapeString(o.name) + "</option>\n")
		}
		m[l] = b.String()
	}
	return m
}()

// countrySelect returns the country options in lang with code selected.
func countrySelect(lang, code string) template.HTML {
	opts := countryOptions[lang]
	if code = strings.ToUpper(strings.TrimSpace(code)); canopy.IsCountry(code) {
		opts = strings.Replace(opts, `<option value="`+code+`">`, `<option value="`+code+`" selected>`, 1)
	}
	return template.HTML(opts) // codes are A–Z and names are escaped above
}

// date writes a day in words in the page's language, "2 March 2026": no
// numeric order (2/3 or 3/2) to misread.
func date(c *i18n.Catalog, t time.Time) string {
	return c.T("portal.date", t.Day(), c.T("portal.month."+strconv.Itoa(int(t.Month()))), t.Year())
}
