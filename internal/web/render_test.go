package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/support"
)

// A key missing from every catalog renders as the key itself; these are
// the shapes a raw key takes on a page.
var rawKeyRE = regexp.MustCompile(`\b(?:portal|category|error|flag|reporter|status|help|info|transparency)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*`)

// renderAll renders every template, in every state it can be in, in lang.
func renderAll(t *testing.T, lang string) map[string]string {
	t.Helper()
	s, err := newServer(Config{Intake: &intake.Service{}, Support: &support.Service{}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	do := func(name string, status int, build func(w http.ResponseWriter, r *http.Request) *page) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		s.render(w, r, status, build(w, r))
		if w.Code != status {
			t.Errorf("%s %s: status %d, want %d", lang, name, w.Code, status)
		}
		out[name] = w.Body.String()
	}
	form := &reportForm{Reporter: "child", Category: "other", Flags: []string{canopy.FlagUrgent}, Contact: true,
		URLs: "a\nb", Accounts: "x", Description: "d", Country: "FR", Name: "n", Email: "e", Phone: "p"}

	do("form", 200, func(w http.ResponseWriter, r *http.Request) *page { return s.reportPage(w, r, lang, nil) })
	// Every message intake can return, on every field it can name.
	fields := []string{"reporter", "category", "flags[0]", "flags", "urls[0]", "urls", "platform", "accounts[0]",
		"accounts", "description", "child_country", "contact.name", "contact.email", "contact.phone",
		"language", "hashes[0].value", "body", "something_new"}
	var fes []canopy.FieldError
	for i, key := range intake.FieldKeys {
		fes = append(fes, canopy.FieldError{Field: fields[i%len(fields)], Key: key, Args: []any{42}})
	}
	for _, f := range fields {
		fes = append(fes, canopy.FieldError{Field: f, Key: intake.KeyRequired})
	}
	do("form with every error", 422, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.reportPage(w, r, lang, form)
		p.Errors = mapErrors(p.cat, &canopy.Error{Code: canopy.EINVALID, Key: intake.KeyInvalid, Fields: fes}, []int{3}, []int{2})
		return p
	})
	for _, e := range []*canopy.Error{
		{Code: canopy.EINTERNAL}, {Code: canopy.EUNAVAILABLE}, {Code: canopy.ETOOMANY}, {Code: canopy.ECONFLICT, Key: intake.KeyErased},
		{Code: canopy.ECONFLICT, Key: "error.not.a.key"},
	} {
		do("form banner "+e.Code+e.Key, 500, func(w http.ResponseWriter, r *http.Request) *page {
			p := s.reportPage(w, r, lang, form)
			p.Banner = p.T(bannerKey(e))
			return p
		})
	}
	for _, k := range []string{"error.rate_limited", "portal.error.forbidden"} {
		do("form "+k, 403, func(w http.ResponseWriter, r *http.Request) *page {
			p := s.reportPage(w, r, lang, form)
			p.Banner = p.T(k)
			return p
		})
	}
	do("receipt", 200, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.newPage(w, r, lang, "receipt", "/", "portal.receipt.title")
		p.Receipt = newReceiptView("K7QM-3XPA-9RTD-H2WF")
		return p
	})
	do("followup", 200, func(w http.ResponseWriter, r *http.Request) *page { return s.followupPage(w, r, lang, "") })
	do("followup unknown", 422, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.followupPage(w, r, lang, "X")
		p.Errors = fieldError(p.cat, fReceipt, intake.KeyReceipt)
		return p
	})
	for _, st := range canopy.Statuses {
		do("status "+st, 200, func(w http.ResponseWriter, r *http.Request) *page {
			f := &canopy.Followup{Status: st, Received: time.Date(2026, time.Month(1+len(st)%12), 9, 0, 0, 0, 0, time.UTC),
				Messages: []canopy.Message{{FromReporter: true, Body: "hi", At: time.Now()}, {Body: "hello", At: time.Now()}}}
			p := s.statusPage(w, r, lang, "K7QM", f)
			p.Notice = p.T("portal.followup.sent")
			return p
		})
	}
	do("status without messages", 422, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.statusPage(w, r, lang, "K7QM", &canopy.Followup{Status: canopy.StatusReceived})
		p.Errors = mapErrors(p.cat, &canopy.Error{Code: canopy.EINVALID, Fields: []canopy.FieldError{{Field: "body", Key: intake.KeyTooLong, Args: []any{5000}}}}, nil, nil)
		return p
	})
	do("status refused", 429, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.statusPage(w, r, lang, "K7QM", nil)
		p.Banner = p.T("error.rate_limited")
		return p
	})
	do("safety", 200, func(w http.ResponseWriter, r *http.Request) *page {
		return s.newPage(w, r, lang, "safety", "/safety", "portal.safety.title")
	})
	for _, m := range [][2]string{
		{"portal.notfound.title", "portal.notfound.body"}, {"error.too_large", "portal.error.too_large.help"},
		{"portal.error.title", "portal.error.bad_request"}, {"portal.error.title", "portal.error.cross_site"},
		{"portal.error.title", "portal.error.internal"}, {"error.not_found", ""},
	} {
		do("message "+m[0]+" "+m[1], 404, func(w http.ResponseWriter, r *http.Request) *page {
			p := s.newPage(w, r, lang, "message", "/", m[0])
			p.Heading, p.Detail = m[0], m[1]
			return p
		})
	}
	// "Find help" in each state, with a service that has every detail.
	choices := &support.FindChoices{Countries: []string{"BE", "FR"}, Languages: []string{"ar", "fr", "fsl", "nl"}}
	prov := &canopy.Provider{ID: "p", Name: "Provider", Website: "https://p.example", Phone: "119", Email: "a@p.example"}
	for _, capacity := range []string{"", canopy.CapacityOpen, canopy.CapacityWaitlist, canopy.CapacityFull} {
		do("help results "+capacity, 200, func(w http.ResponseWriter, r *http.Request) *page {
			p := s.helpPage(w, r, lang, "/help?country=FR", helpForm{Country: "FR", Language: "ar", Age: "12", Needs: canopy.ServiceNeeds}, choices)
			p.Help.Searched, p.Help.Total, p.Help.Page, p.Help.Pages = true, 99, 2, 5
			p.Help.PrevHref, p.Help.NextHref = "/help?country=FR&lang="+lang, "/help?country=FR&page=3&lang="+lang
			for i, ages := range []canopy.AgeRange{{Min: 3, Max: 17}, {Min: 12, Max: 12}} {
				o := &canopy.ServiceOffer{ID: strconv.Itoa(i), Name: "Service", Needs: canopy.ServiceNeeds, Description: "d", Country: "FR",
					Regions: []string{"Lyon", "Rhône"}, Languages: []string{"fr", "ar", "fsl"}, Ages: ages, Access: canopy.Accessibility,
					Hours: "9-17", AlwaysOpen: i == 0, Free: true, Confidential: true, Capacity: capacity}
				p.Help.Results = append(p.Help.Results, newHelpResult(p.cat, &support.Found{Provider: prov, Service: o, Local: true}))
			}
			return p
		})
	}
	do("help with none found", 200, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.helpPage(w, r, lang, "/help?country=", helpForm{}, &support.FindChoices{})
		p.Help.Searched = true
		return p
	})
	do("help with every error", 422, func(w http.ResponseWriter, r *http.Request) *page {
		p := s.helpPage(w, r, lang, "/help?country=XX", helpForm{Country: "XX", Age: "x"}, choices)
		p.Errors = &formErrors{Intro: p.T("help.errors.intro"), ByField: map[string][]string{}, General: []string{p.T("error.invalid")}}
		for field, key := range map[string]string{fHelpCountry: "error.country.unknown", fHelpRegion: "error.too_long", fHelpLanguage: support.KeyFindLanguage,
			fHelpAge: support.KeyFindAge, fHelpNeed: "error.unknown_code"} {
			p.Errors.ByField[field] = []string{p.T(key, 100)}
		}
		return p
	})
	for _, ip := range infoPages {
		do("info "+ip.Path, 200, func(w http.ResponseWriter, r *http.Request) *page {
			p := s.newPage(w, r, lang, "info", ip.Path, ip.Title)
			p.Info = &infoView{infoPage: ip, Others: infoPages}
			return p
		})
	}
	// The figures: a past year with every mark and every kind of peer, this
	// year so far, none at all, and a year that has none.
	peers, _ := samplePeers(context.Background())
	for _, c := range []struct {
		name     string
		status   int
		year     int
		soFar    bool
		pub      *indicators.Publication
		peers    []federation.PeerPublication
		banner   string
		unreadOK bool
	}{
		{"transparency 2025", 200, 2025, false, samplePublication("2025-01", "2025-12"), peers, "", false},
		{"transparency so far", 200, 2026, true, samplePublication("2026-01", "2026-03"), peers, "", false},
		{"transparency without figures", 200, 2026, true, nil, nil, "", false},
		{"transparency peers unread", 503, 2026, true, nil, nil, "transparency.error.unavailable", true},
		{"transparency wrong year", 404, 2026, true, samplePublication("2026-01", "2026-03"), nil, "transparency.error.year", false},
	} {
		do(c.name, c.status, func(w http.ResponseWriter, r *http.Request) *page {
			p := s.newPage(w, r, lang, "transparency", "/transparency", "transparency.title")
			_, _, months := period(c.year, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
			p.Transparency = newTransparencyView(p.cat, c.pub, c.peers, c.year, c.soFar, months)
			p.Transparency.Network.Unavailable = c.unreadOK
			p.Transparency.Years = []yearLink{{2026, "/transparency?lang=" + lang, c.soFar}, {2025, "/transparency?year=2025&lang=" + lang, !c.soFar}}
			if c.banner != "" {
				p.Banner = p.T(c.banner)
			}
			return p
		})
	}
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} {
		out["date "+strconv.Itoa(m)] = date(i18n.Get(lang), time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, time.UTC))
	}
	return out
}

func TestEveryTemplateRendersInEveryLanguage(t *testing.T) {
	for _, lang := range canopy.Languages {
		for name, body := range renderAll(t, lang) {
			if m := rawKeyRE.FindAllString(body, -1); m != nil {
				t.Errorf("%s %s shows untranslated keys %v", lang, name, m)
			}
			if strings.HasPrefix(name, "date") {
				continue
			}
			if !strings.Contains(body, `<html lang="`+lang+`" dir="`+i18n.Get(lang).Dir+`">`) {
				t.Errorf("%s %s: wrong lang or dir", lang, name)
			}
			if strings.Contains(body, "%!") || strings.Contains(body, "{0}") || strings.Contains(body, "{1}") {
				t.Errorf("%s %s: a placeholder was not filled", lang, name)
			}
		}
	}
}

// TestMissingKeysAreDetectable proves the test above can fail: a key no
// catalog has comes out as itself, and the pattern finds it.
func TestMissingKeysAreDetectable(t *testing.T) {
	got := i18n.Get("fr").T("portal.no_such_key")
	if got != "portal.no_such_key" || !rawKeyRE.MatchString("<p>"+got+"</p>") {
		t.Errorf("a missing key renders as %q, which the test would not catch", got)
	}
}

// TestTemplatesHaveNoLiteralText: every word a person reads comes from
// the catalogs. Outside template actions, text between tags and the
// attributes people read (alt, title, placeholder, aria-label) hold no
// letters.
func TestTemplatesHaveNoLiteralText(t *testing.T) {
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatal("no templates")
	}
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tag := regexp.MustCompile(`(?s)<[^>]*>`)
	readAttr := regexp.MustCompile(`(?i)\s(?:alt|title|placeholder|aria-label|aria-description|value|data-done)\s*=\s*"([^"]*)"`)
	letter := regexp.MustCompile(`\pL`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := action.ReplaceAllString(string(b), "")
		for _, tg := range tag.FindAllString(src, -1) {
			if strings.HasPrefix(tg, "<!") {
				continue
			}
			for _, a := range readAttr.FindAllStringSubmatch(tg, -1) {
				if letter.MatchString(a[1]) && !strings.Contains(tg, `type="hidden"`) && !strings.Contains(tg, `type="radio"`) {
					t.Errorf("%s: literal text in %s", f, strings.TrimSpace(a[0]))
				}
			}
		}
		for _, text := range tag.Split(src, -1) {
			if letter.MatchString(text) {
				t.Errorf("%s: literal text %q", f, strings.TrimSpace(text))
			}
		}
	}
}

// TestStylesMirror: the stylesheets use logical properties only, so the
// Arabic layout is the English one mirrored without a second stylesheet.
func TestStylesMirror(t *testing.T) {
	css := readStatic(t, "style.css")
	physical := regexp.MustCompile(`(?m)(?:^|[;{\s])((?:margin|padding|border)-(?:left|right)[a-z-]*|left|right|float|clear)\s*:|text-align\s*:\s*(?:left|right)`)
	for _, m := range physical.FindAllString(css, -1) {
		t.Errorf("style.css uses a physical direction: %q", strings.TrimSpace(m))
	}
	// Focus is always visible and thick enough.
	if !regexp.MustCompile(`:focus-visible\s*\{[^}]*outline:\s*[3-9]px solid`).MatchString(css) {
		t.Error("no visible focus style of at least 3px")
	}
	// Touch targets: controls and links in the menus are at least 44px
	// high; checkboxes and radio buttons at least 24px.
	for _, want := range []string{"min-block-size: 44px", "min-block-size: 48px", "inline-size: 1.5rem; block-size: 1.5rem"} {
		if !strings.Contains(css, want) {
			t.Errorf("style.css lacks %q", want)
		}
	}
	if strings.Contains(css, "@import") || strings.Contains(css, "url(") || strings.Contains(css, "@font-face") {
		t.Error("style.css loads something")
	}
	// The transparency page's own stylesheet mirrors too.
	figures := readStatic(t, "figures.css")
	for _, m := range physical.FindAllString(figures, -1) {
		t.Errorf("figures.css uses a physical direction: %q", strings.TrimSpace(m))
	}
	if strings.Contains(figures, "@import") || strings.Contains(figures, "url(") || strings.Contains(figures, "@font-face") ||
		!strings.Contains(figures, "min-block-size: 44px") {
		t.Error("figures.css loads something, or its links are small targets")
	}
}

func readStatic(t *testing.T, name string) string {
	t.Helper()
	b, err := staticFiles.ReadFile("static/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestColourContrast checks the colour pairs the stylesheet uses against
// WCAG 2.2: 4.5:1 for text, 3:1 for borders and focus rings.
func TestColourContrast(t *testing.T) {
	css := readStatic(t, "style.css")
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-f]{6})`).FindAllStringSubmatch(css, -1) {
		vars[m[1]] = m[2]
	}
	text := [][2]string{
		{"ink", "bg"}, {"ink", "surface"}, {"ink", "urgent-bg"}, {"ink", "danger-bg"}, {"ink", "ok-bg"}, {"ink", "note-bg"},
		{"muted", "bg"}, {"muted", "surface"}, {"muted", "ok-bg"}, {"muted", "urgent-bg"},
		{"accent", "bg"}, {"accent", "surface"}, {"accent", "note-bg"}, {"accent", "ok-bg"},
		{"on-accent", "accent"}, {"on-accent", "accent-dark"}, {"on-leave", "leave"},
		{"danger", "surface"}, {"danger", "bg"}, {"danger", "danger-bg"},
	}
	ui := [][2]string{
		{"line", "surface"}, {"focus", "bg"}, {"focus", "surface"}, {"urgent-line", "urgent-bg"}, {"danger", "danger-bg"},
		{"accent", "surface"}, {"leave", "surface"},
	}
	check := func(pairs [][2]string, min float64) {
		for _, p := range pairs {
			fg, bg := vars[p[0]], vars[p[1]]
			if fg == "" || bg == "" {
				t.Errorf("style.css lacks --%s or --%s", p[0], p[1])
				continue
			}
			if r := contrast(fg, bg); r < min {
				t.Errorf("--%s on --%s: contrast %.2f, want %.1f", p[0], p[1], r, min)
			}
		}
	}
	check(text, 4.5)
	check(ui, 3)
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var rgb [3]float64
	for i := range rgb {
		var v int
		fmt.Sscanf(hex[1+2*i:3+2*i], "%02x", &v)
		c := float64(v) / 255
		if c <= 0.04045 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}
