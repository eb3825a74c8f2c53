package web

import (
	"context"
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/limit"
)

func TestSubmitShowsReceiptThatOpensFollowup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	resp, body := b.post("/report", validReport())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("the receipt page redirects to %q; it must be the POST's own response", loc)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	code := receiptOf(t, body)
	for _, g := range strings.Split(code, "-") {
		if !strings.Contains(body, "<span>"+g+"</span>") {
			t.Errorf("group %s is not shown on its own", g)
		}
	}
	en := i18n.Get("en")
	for _, key := range []string{"portal.receipt.write", "portal.receipt.use"} {
		if !strings.Contains(body, html.EscapeString(en.T(key))) {
			t.Errorf("receipt page lacks %s", key)
		}
	}
	if !strings.Contains(body, `href="/followup"`) {
		t.Error("receipt page does not link to /followup")
	}
	for _, m := range regexp.MustCompile(`(?:href|src|action)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if strings.Contains(strings.ToUpper(m[1]), strings.ReplaceAll(code, "-", "")[:8]) {
			t.Errorf("receipt appears in a URL: %s", m[1])
		}
	}

	// The code, typed loosely, opens the follow-up.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	resp, body = b.post("/followup", url.Values{"receipt": {typed}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("followup: status %d:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, html.EscapeString(en.T("status.received.name"))) {
		t.Errorf("followup does not show the status:\n%s", body)
	}
	if !strings.Contains(body, "2 March 2026") {
		t.Errorf("followup does not show the day the report was sent in words")
	}
}

func TestUrgentSetsFlag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()

	// The emergency advice is on the page from the start, shown by CSS
	// when the box is ticked: it must follow the checkbox as a sibling.
	_, page := b.get("/")
	if !regexp.MustCompile(`(?s)<input type="checkbox" id="flag-urgent"[^>]*>\s*<label for="flag-urgent">.*?</label>\s*<div class="emergency reveal" id="emergency"`).MatchString(page) {
		t.Error("the emergency advice does not follow the urgent checkbox as a sibling")
	}
	cssBody, _ := e.srv.assets.Body(e.srv.assets.URL("style.css"))
	css := string(cssBody)
	if !strings.Contains(css, "#flag-urgent:checked ~ .emergency") {
		t.Error("style.css does not show the emergency advice for a ticked urgent box")
	}

	form := validReport()
	form["flags"] = []string{canopy.FlagUrgent, canopy.FlagFinancial}
	resp, body := b.post("/report", form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	code := receiptOf(t, body)
	f, err := e.intake.Followup(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.db.Report(context.Background(), f.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Report.HasFlag(canopy.FlagUrgent) || !r.Report.HasFlag(canopy.FlagFinancial) {
		t.Errorf("flags = %v, want urgent and financial", r.Report.Flags)
	}
	if r.Report.ChildCountry != "FR" || r.Report.Channel != canopy.ChannelPortal || r.Report.Language != "en" {
		t.Errorf("report = %+v", r.Report)
	}

	// And a report without the box is not urgent.
	_, body = b.post("/report", validReport())
	f, _ = e.intake.Followup(context.Background(), receiptOf(t, body))
	r, _ = e.db.Report(context.Background(), f.ReportID)
	if r.Report.HasFlag(canopy.FlagUrgent) {
		t.Error("a report without the box is urgent")
	}
}

func TestInvalidInputKeepsAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	form := validReport()
	form.Set("description", "He said <don't tell> & deleted it")
	form.Set("contact", "yes")
	form.Set("email", "not-an-email")
	form.Set("name", "Sam")
	form.Set("urls", "example.com/ok\n\njavascript:alert(1)")
	resp, body := b.post("/report", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	en := i18n.Get("en")
	// Every typed value is still there.
	for _, want := range []string{
		html.EscapeString(form.Get("description")),
		`value="not-an-email"`, `value="Sam"`, "example.com/ok", `value="yes" aria-controls="contact-fields" checked`,
		`value="grooming" aria-labelledby="category-grooming-name" aria-describedby="category-grooming-desc" checked`,
		`<option value="FR" selected>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lost %q", want)
		}
	}
	// The error is tied to its field and announced in a summary.
	if !regexp.MustCompile(`<p class="field-error" id="email-error"><span>` + regexp.QuoteMeta(html.EscapeString(en.T("error.email.invalid"))) + `</span>`).MatchString(body) {
		t.Errorf("no email error beside the field:\n%s", body)
	}
	if !regexp.MustCompile(`<input type="email" id="contact-email"[^>]*aria-invalid="true" aria-describedby="email-error"`).MatchString(body) {
		t.Error("the email field is not marked invalid and described by its error")
	}
	if !strings.Contains(body, `role="alert" tabindex="-1" id="error-summary"`) || !strings.Contains(body, `<a href="#contact-email">`) {
		t.Error("no error summary linking to the email field")
	}
	// The third line of the URL box is the bad one.
	if !strings.Contains(body, html.EscapeString(en.T("portal.form.line", 3, en.T("error.url.scheme")))) {
		t.Errorf("the URL error does not name line 3:\n%s", body)
	}
	if !regexp.MustCompile(`<textarea id="urls"[^>]*aria-describedby="urls-hint urls-error" aria-invalid="true"`).MatchString(body) {
		t.Error("the URL box is not marked invalid")
	}
	if n, _ := e.db.CountReports(context.Background()); n != 0 {
		t.Errorf("%d reports stored from an invalid form", n)
	}
}

func TestRequiredChoicesAndEmptyReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	resp, body := b.post("/report", url.Values{"lang": {"fr"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", resp.StatusCode)
	}
	fr := i18n.Get("fr")
	for _, id := range []string{"reporter-error", "category-error"} {
		if !strings.Contains(body, `id="`+id+`"><span>`+html.EscapeString(fr.T("error.required"))) {
			t.Errorf("no French %s", id)
		}
	}
	if !strings.Contains(body, `<a href="#reporter-child">`) || !strings.Contains(body, `<a href="#category-csam">`) {
		t.Error("the summary does not link to the first choice of each group")
	}
	// Choices made but nothing said: the description asks for something.
	resp, body = b.post("/report", url.Values{"reporter": {"caregiver"}, "category": {"other"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="description-error"`) {
		t.Errorf("empty report: status %d, description error missing", resp.StatusCode)
	}
}

func TestLanguages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, lang := range canopy.Languages {
		b := e.browser()
		c := i18n.Get(lang)
		for _, path := range []string{"/", "/followup", "/safety", "/nowhere", "/help", "/info/after-report", "/info/rights", "/info/consent"} {
			_, body := b.get(path + "?lang=" + lang)
			want := `<html lang="` + lang + `" dir="` + c.Dir + `">`
			if !strings.Contains(body, want) {
				t.Errorf("%s?lang=%s: no %s", path, lang, want)
			}
			if !strings.Contains(body, html.EscapeString(c.T("portal.leave"))) {
				t.Errorf("%s?lang=%s: leave link not translated", path, lang)
			}
			// The switcher offers every language, each in its own words.
			for _, other := range canopy.Languages {
				if !strings.Contains(body, `href="`+switcherPath(path)+`?lang=`+other+`" lang="`+other+`"`) {
					t.Errorf("%s?lang=%s: no link to %s", path, lang, other)
				}
			}
		}
		// The choice lasts for the session without the parameter.
		_, body := b.get("/safety")
		if !strings.Contains(body, `<html lang="`+lang+`"`) {
			t.Errorf("lang=%s was not remembered", lang)
		}
	}
	if i18n.Get("ar").Dir != "rtl" {
		t.Error("Arabic is not right-to-left")
	}
}

func switcherPath(p string) string {
	if p == "/nowhere" {
		return "/"
	}
	return p
}

func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for header, want := range map[string]string{
		"fr":                     "fr",
		"fr-CA,fr;q=0.9,en;q=.5": "fr",
		"es-MX":                  "es",
		"ar-EG,ar;q=0.8":         "ar",
		"de-DE":                  "en",
		"":                       "en",
	} {
		_, body := e.browser().get("/", "Accept-Language", header)
		if !strings.Contains(body, `<html lang="`+want+`"`) {
			t.Errorf("Accept-Language %q: want %s", header, want)
		}
	}
	// A French browser sending the form without the hidden field still
	// gets French errors.
	form := validReport()
	form.Del("lang")
	form.Set("contact", "yes")
	form.Set("email", "x")
	_, body := e.browser().post("/report", form, "Accept-Language", "fr")
	if !strings.Contains(body, html.EscapeString(i18n.Get("fr").T("error.email.invalid"))) {
		t.Error("errors are not in French")
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := validReport()
	form.Set("description", "Typed before the token failed")

	for _, name := range []string{"missing", "forged", "other session"} {
		b := e.browser()
		b.get("/")
		f := clone(form)
		switch name {
		case "missing":
			f.Set("csrf", "")
		case "forged":
			f.Set("csrf", "AAAA")
		case "other session":
			other := e.browser()
			other.get("/")
			f.Set("csrf", other.token)
		}
		resp, body := b.post("/report", f)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s token: status %d, want 403", name, resp.StatusCode)
			continue
		}
		if !strings.Contains(body, "Typed before the token failed") {
			t.Errorf("%s token: the answers were lost", name)
		}
		if !strings.Contains(body, html.EscapeString(i18n.Get("en").T("portal.error.forbidden"))) {
			t.Errorf("%s token: no explanation", name)
		}
		// The page carries a good token: sending it again works.
		resp, _ = b.post("/report", clone(form))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s token: sending again: status %d", name, resp.StatusCode)
		}
	}

	// A cookie-less POST (no session at all) is refused too.
	b := e.browser()
	resp, _ := b.post("/report", url.Values{"csrf": {"x"}, "description": {"hi"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no session: status %d", resp.StatusCode)
	}

	// A browser that says the form came from another site is refused by
	// the cross-origin check, in the reader's language.
	b = e.browser()
	b.get("/")
	resp, body := b.post("/report", clone(form), "Sec-Fetch-Site", "cross-site", "Accept-Language", "es")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, html.EscapeString(i18n.Get("es").T("portal.error.cross_site"))) {
		t.Errorf("cross-site: status %d", resp.StatusCode)
	}
	resp, _ = b.post("/report", clone(form), "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Origin: status %d", resp.StatusCode)
	}
	if n, _ := e.db.CountReports(context.Background()); n != 3 {
		t.Errorf("%d reports stored, want the 3 sent again", n)
	}
}

// pageSizes fetches each page a person can see and returns its size
// together with the CSS, JS and icon it loads.
func pageSizes(t *testing.T, e *env) map[string]int {
	b := e.browser()
	sizes := map[string]int{}
	add := func(name string, body string) {
		total := len(body)
		for _, m := range regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1) {
			f, ok := e.srv.assets.Body(m[1])
			if !ok {
				t.Errorf("%s: missing asset %s", name, m[1])
			}
			total += len(f)
		}
		if prev, ok := sizes[name]; !ok || total > prev {
			sizes[name] = total
		}
	}
	seedOnce(t, e)
	for _, lang := range canopy.Languages {
		b.get("/?lang=" + lang)
		for _, path := range []string{"/", "/followup", "/safety", "/missing", "/help", "/info/after-report", "/info/rights", "/info/consent"} {
			_, body := b.get(path)
			add(path, body)
		}
		_, body := b.get("/help?country=")
		add("help with every result", body)
		_, body = b.get("/help?country=DE")
		add("help with none", body)
		_, body = b.post("/report", validReport())
		add("receipt", body)
		code := receiptOf(t, body)
		bad := validReport()
		bad.Set("contact", "yes")
		bad.Set("email", "bad")
		bad.Set("urls", strings.Repeat("bad\n", 20))
		_, body = b.post("/report", bad)
		add("form with errors", body)
		b.post("/followup/message", url.Values{"receipt": {code}, "body": {strings.Repeat("A question. ", 100)}})
		_, body = b.post("/followup", url.Values{"receipt": {code}})
		add("status", body)
	}
	return sizes
}

// seedOnce gives the env's portal a directory to search, once.
func seedOnce(t *testing.T, e *env) {
	if _, err := e.db.Provider(context.Background(), "droit"); err != nil {
		seedDirectory(t, e.db)
	}
}

func TestPageSizes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for name, n := range pageSizes(t, e) {
		t.Logf("%-18s %6d bytes with its CSS, JS and icon", name, n)
		if n > 60_000 {
			t.Errorf("%s is %d bytes, over 60 KB", name, n)
		}
	}
}

// allPages returns the body of every kind of page, in every language.
func allPages(t *testing.T, e *env) map[string]string {
	pages := map[string]string{}
	seedOnce(t, e)
	for _, lang := range canopy.Languages {
		b := e.browser()
		for _, path := range []string{"/", "/followup", "/safety", "/missing", "/help", "/info/after-report", "/info/rights", "/info/consent",
			"/help?country=", "/help?country=DE", "/help?country=XX&age=x", "/transparency", "/transparency?year=2025", "/transparency?year=1999"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			_, pages[lang+" GET "+path] = b.get(path + sep + "lang=" + lang)
		}
		form := validReport()
		form.Set("lang", lang)
		_, body := b.post("/report", form)
		pages[lang+" receipt"] = body
		code := receiptOf(t, body)
		form.Set("email", "x")
		form.Set("contact", "yes")
		_, pages[lang+" invalid"] = b.post("/report", form)
		_, pages[lang+" status"] = b.post("/followup", url.Values{"receipt": {code}, "lang": {lang}})
		_, pages[lang+" message"] = b.post("/followup/message", url.Values{"receipt": {code}, "body": {"hello"}, "lang": {lang}})
		_, pages[lang+" unknown receipt"] = b.post("/followup", url.Values{"receipt": {"AAAA-BBBB-CCCC-DDDD"}, "lang": {lang}})
	}
	return pages
}

func TestPagesReferenceNoOtherHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	attr := regexp.MustCompile(`(?i)\s(src|href|action|srcset|formaction|data|poster)\s*=\s*"([^"]*)"`)
	leave := regexp.MustCompile(`<a class="leave" id="leave" href="([^"]*)" rel="noreferrer">`)
	reach := regexp.MustCompile(`(?s)<ul class="reach"[^>]*>.*?</ul>`)
	external := regexp.MustCompile(`<a href="(https?://[^"]*)"([^>]*)>`)
	for name, body := range allPages(t, e) {
		// The one place that links away on purpose: how to reach a
		// service of the directory. Those links send no Referer and
		// cannot reach back into the page; the rest of the page must
		// reference nothing else.
		for _, block := range reach.FindAllString(body, -1) {
			for _, a := range external.FindAllStringSubmatch(block, -1) {
				if !strings.Contains(a[2], `rel="noreferrer noopener external"`) {
					t.Errorf("%s: a service's address without rel=noreferrer noopener: %s", name, a[0])
				}
			}
		}
		if strings.Contains(name, "GET /help?country=") && !strings.Contains(name, "XX") && !strings.Contains(name, "DE") && !reach.MatchString(body) {
			t.Errorf("%s: no way to reach the services found", name)
		}
		body = reach.ReplaceAllString(body, "")
		m := leave.FindStringSubmatch(body)
		if m == nil || html.UnescapeString(m[1]) != DefaultLeaveURL {
			t.Errorf("%s: no leave link to the neutral site with rel=noreferrer", name)
		}
		for _, a := range attr.FindAllStringSubmatch(body, -1) {
			v := html.UnescapeString(a[2])
			if m != nil && a[0] == ` href="`+m[1]+`"` {
				continue
			}
			if strings.Contains(v, "//") || strings.Contains(v, "http:") || strings.Contains(v, "https:") || !(strings.HasPrefix(v, "/") || strings.HasPrefix(v, "#")) {
				t.Errorf("%s: %s=%q may reach another host", name, a[1], v)
			}
		}
		if c := strings.Count(body, "www.google.com"); c != 1 {
			t.Errorf("%s: the leave destination appears %d times, want once", name, c)
		}
	}
}

func TestPagesHaveNoInlineCodeAndNoFileInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	bad := map[string]*regexp.Regexp{
		"file input":     regexp.MustCompile(`(?i)type\s*=\s*"?file`),
		"style attr":     regexp.MustCompile(`(?i)\sstyle\s*=`),
		"style element":  regexp.MustCompile(`(?i)<style`),
		"inline script":  regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`),
		"event handler":  regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		"javascript url": regexp.MustCompile(`(?i)javascript:`),
		"multipart":      regexp.MustCompile(`(?i)multipart/form-data`),
	}
	scriptRE := regexp.MustCompile(`(?i)<script[^>]*>`)
	for name, body := range allPages(t, e) {
		for _, tag := range scriptRE.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="/static/`) {
				t.Errorf("%s: script not from /static: %s", name, tag)
			}
		}
		for what, re := range bad {
			if loc := re.FindStringIndex(body); loc != nil {
				t.Errorf("%s: %s at %q", name, what, body[loc[0]:min(len(body), loc[1]+40)])
			}
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	b := e.browser()
	b.get("/")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	}
	check := func(name string, resp *http.Response, store bool) {
		t.Helper()
		for h, v := range want {
			if got := resp.Header.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", name, h, got, v)
			}
		}
		pp := resp.Header.Get("Permissions-Policy")
		for _, f := range []string{"camera=()", "microphone=()", "geolocation=()"} {
			if !strings.Contains(pp, f) {
				t.Errorf("%s: Permissions-Policy %q lacks %s", name, pp, f)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); store && cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", name, cc)
		}
	}
	for _, path := range []string{"/", "/followup", "/safety", "/nope", "/report", "/static/nope.css", "/help", "/help?country=FR&need=legal",
		"/help?country=XX", "/info/after-report", "/info/rights", "/info/consent", "/transparency", "/transparency?year=x",
		"/transparency/2026.csv", "/transparency/2026.json", "/transparency/1999.csv"} {
		resp, _ := b.get(path)
		check("GET "+path, resp, true)
	}
	resp, _ := b.get(e.srv.assets.URL("style.css"))
	check("GET style.css", resp, false)
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("static Cache-Control = %q", cc)
	}
	resp, _ = b.post("/report", validReport())
	check("POST /report", resp, true)
	resp, _ = b.post("/report", url.Values{"lang": {"en"}})
	check("POST /report invalid", resp, true)
	resp, _ = b.post("/followup", url.Values{"receipt": {"x"}})
	check("POST /followup", resp, true)
	resp, _ = b.post("/report", validReport(), "Sec-Fetch-Site", "cross-site")
	check("POST cross-site", resp, true)
}

func TestCookiesEndWithTheSession(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		e := newEnv(t, func(c *Config) { c.Secure = secure })
		b := e.browser()
		var setCookies []string
		for _, path := range []string{"/", "/?lang=ar", "/followup?lang=fr", "/safety?lang=es", "/nope", "/help?lang=fr&country=", "/info/consent?lang=es"} {
			resp, _ := b.get(path)
			setCookies = append(setCookies, resp.Header.Values("Set-Cookie")...)
		}
		resp, _ := b.post("/report", validReport())
		setCookies = append(setCookies, resp.Header.Values("Set-Cookie")...)
		if len(setCookies) == 0 {
			t.Fatal("no cookie set at all")
		}
		for _, c := range setCookies {
			lc := strings.ToLower(c)
			if strings.Contains(lc, "expires") || strings.Contains(lc, "max-age") {
				t.Errorf("cookie outlives the session: %s", c)
			}
			if !strings.Contains(lc, "httponly") || !strings.Contains(lc, "path=/") {
				t.Errorf("cookie not HttpOnly with Path=/: %s", c)
			}
			if secure && (!strings.Contains(lc, "; secure") || !strings.HasPrefix(c, "__Host-")) {
				t.Errorf("TLS cookie without Secure or __Host-: %s", c)
			}
			if strings.HasPrefix(strings.TrimPrefix(c, "__Host-"), "session=") && !strings.Contains(lc, "samesite=strict") {
				t.Errorf("session cookie not SameSite=Strict: %s", c)
			}
		}
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimit = limit.New(30, 3) })
	b := e.browser()
	form := url.Values{"receipt": {"AAAA-BBBB-CCCC-DDDD"}, "lang": {"ar"}}
	var last *http.Response
	var body string
	for range 4 {
		last, body = b.post("/followup", form)
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th POST: status %d, want 429", last.StatusCode)
	}
	if last.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if !strings.Contains(body, html.EscapeString(i18n.Get("ar").T("error.rate_limited"))) || !strings.Contains(body, `value="AAAA-BBBB-CCCC-DDDD"`) {
		t.Error("the 429 page is not in Arabic or lost the typed code")
	}
	// Reading pages is never limited.
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after the limit: %d", resp.StatusCode)
	}
	// A limited report keeps its answers and stores nothing.
	f := validReport()
	f.Set("description", "keep me please")
	resp, body := b.post("/report", f)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "keep me please") {
		t.Errorf("limited report: status %d or answers lost", resp.StatusCode)
	}
	if n, _ := e.db.CountReports(context.Background()); n != 0 {
		t.Errorf("%d reports stored over the limit", n)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	form := validReport()
	form.Set("description", strings.Repeat("a", maxBody))
	resp, body := b.post("/report", form, "Accept-Language", "es")
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if !strings.Contains(body, html.EscapeString(i18n.Get("es").T("error.too_large"))) {
		t.Error("413 page not in Spanish")
	}
	// A full-length Arabic description fits.
	form.Set("description", strings.Repeat("ب", 4999))
	if resp, body := b.post("/report", form); resp.StatusCode != http.StatusOK {
		t.Errorf("5000 Arabic letters: status %d\n%.500s", resp.StatusCode, body)
	}
}

func TestMalformedBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.get("/")
	req, _ := http.NewRequest("POST", e.http.URL+"/report", strings.NewReader("csrf="+b.token+"&description=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := b.do(req)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad escape: %d, want 400", resp.StatusCode)
	}
	// Bytes that are not UTF-8 and control characters get field errors.
	form := validReport()
	form.Set("description", "bad \xff\xfe bytes")
	form.Set("platform", "tab\x01here")
	resp, body := b.post("/report", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="description-error"`) || !strings.Contains(body, `id="platform-error"`) {
		t.Errorf("invalid text: status %d", resp.StatusCode)
	}
}

func TestFailuresKeepAnswers(t *testing.T) {
	t.Parallel()
	fr := i18n.Get("fr")
	post := func(t *testing.T, e *env, b *browser) (*http.Response, string) {
		form := validReport()
		form.Del("lang")
		form.Set("description", "Please keep this text")
		resp, body := b.post("/report", form, "Accept-Language", "fr")
		if !strings.Contains(body, "Please keep this text") {
			t.Error("the answers were lost")
		}
		if !strings.Contains(e.logs.String(), "portal: submit report") {
			t.Error("the cause was not logged")
		}
		return resp, body
	}

	// The store stops: the node is unavailable for a moment.
	e := newEnv(t)
	b := e.browser()
	b.get("/")
	e.db.Close()
	resp, body := post(t, e, b)
	if resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, html.EscapeString(fr.T("error.unavailable"))+"</p><p>"+html.EscapeString(fr.T("portal.form.kept"))) {
		t.Errorf("closed store: status %d, want 503 with the French message and that the answers are kept", resp.StatusCode)
	}

	// The database breaks under the store: an internal error, whose cause
	// stays in the log.
	e = newEnv(t)
	raw, err := sql.Open("sqlite", e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DROP TABLE events`); err != nil {
		t.Fatal(err)
	}
	b = e.browser()
	resp, body = post(t, e, b)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, html.EscapeString(fr.T("error.internal"))) {
		t.Errorf("broken store: status %d, want 500 with the French message", resp.StatusCode)
	}
	if strings.Contains(body, "events") || strings.Contains(body, "no such table") {
		t.Error("the cause reached the page")
	}
	if n, _ := e.db.CountReports(context.Background()); n != 0 {
		t.Errorf("%d reports half-stored", n)
	}
}

func TestFollowupMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	_, body := b.post("/report", validReport())
	code := receiptOf(t, body)

	resp, body := b.post("/followup/message", url.Values{"receipt": {code}, "body": {"I remembered <more>."}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, html.EscapeString(i18n.Get("en").T("portal.followup.sent"))) {
		t.Fatalf("status %d, no confirmation", resp.StatusCode)
	}
	if !strings.Contains(body, "I remembered &lt;more&gt;.") {
		t.Error("the message is not shown")
	}
	if strings.Contains(body, ">\nI remembered") {
		t.Error("the message box was not emptied after sending")
	}

	// An empty message keeps the receipt and asks for words.
	resp, body = b.post("/followup/message", url.Values{"receipt": {code}, "body": {"  "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="body-error"`) || !strings.Contains(body, `name="receipt" value="`+code+`"`) {
		t.Errorf("empty message: status %d", resp.StatusCode)
	}

	// A wrong code is tied to its field and keeps what was typed.
	for _, path := range []string{"/followup", "/followup/message"} {
		resp, body = b.post(path, url.Values{"receipt": {"ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, "body": {"hi"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="receipt-error"`) || !strings.Contains(body, `value="ZZZZ-ZZZZ-ZZZZ-ZZZZ"`) {
			t.Errorf("%s with a wrong code: status %d", path, resp.StatusCode)
		}
	}
	resp, _ = b.post("/followup", url.Values{"receipt": {""}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty code: status %d", resp.StatusCode)
	}
	// GET never shows a report.
	if resp, _ := b.get("/followup?receipt=" + code); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /followup: %d", resp.StatusCode)
	} else if _, body := b.get("/followup?receipt=" + code); strings.Contains(body, "status-name") {
		t.Error("a receipt in the URL opened the report")
	}
}

func TestLogsNothingPersonal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.get("/safety?lang=fr&secret=query-secret")
	form := validReport()
	form.Set("description", "body-secret")
	_, body := b.post("/report", form, "User-Agent", "agent-secret")
	code := receiptOf(t, body)
	b.post("/followup", url.Values{"receipt": {code}})
	b.get("/no/such/path-secret")
	logs := e.logs.String()
	for _, secret := range []string{"query-secret", "body-secret", "agent-secret", "path-secret", "127.0.0.1", code, "bad_guy_77", "lang=fr"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{`route="POST /report"`, `route="GET /safety"`, `route=/`, "status=200", "status=404", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	for name, ctype := range map[string]string{"style.css": "text/css", "app.js": "text/javascript", "leaf.svg": "image/svg+xml"} {
		u := e.srv.assets.URL(name)
		if !regexp.MustCompile(`^/static/[a-z]+\.[0-9a-f]{10}\.[a-z]+$`).MatchString(u) {
			t.Errorf("%s served as %q, want a content-hashed name", name, u)
		}
		resp, body := b.get(u)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("%s: %d %q", u, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s sets a cookie", u)
		}
	}
	if resp, _ := b.get("/static/style.css"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unhashed name: %d, want 404", resp.StatusCode)
	}
}

func TestNotFoundIsTranslated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, lang := range canopy.Languages {
		resp, body := e.browser().get("/does/not/exist", "Accept-Language", lang)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, html.EscapeString(i18n.Get(lang).T("portal.notfound.title"))) {
			t.Errorf("%s: status %d or not translated", lang, resp.StatusCode)
		}
	}
	// A path that could pass for another host never becomes a link.
	resp, body := e.browser().get("/evil.example/x")
	if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "evil.example") {
		t.Error("the 404 page echoes the path")
	}
	resp, _ = e.browser().get("//evil.example/x")
	if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "//") || strings.Contains(loc, "://") {
		t.Errorf("//evil.example redirects to %q", loc)
	}
}

var (
	tagRE   = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRE    = regexp.MustCompile(`\sid="([^"]+)"`)
	typeRE  = regexp.MustCompile(`\stype="([^"]+)"`)
	labelRE = regexp.MustCompile(`<label for="([^"]+)"`)
	headRE  = regexp.MustCompile(`<h([1-6])\b`)
)

func TestAccessibleStructure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	for name, body := range allPages(t, e) {
		for _, landmark := range []string{"<header", "<main id=\"main\"", "<footer", `<a class="skip" href="#main">`} {
			if !strings.Contains(body, landmark) {
				t.Errorf("%s: no %s", name, landmark)
			}
		}
		labels := map[string]bool{}
		for _, m := range labelRE.FindAllStringSubmatch(body, -1) {
			labels[m[1]] = true
		}
		for _, tag := range tagRE.FindAllString(body, -1) {
			if m := typeRE.FindStringSubmatch(tag); m != nil && (m[1] == "hidden" || m[1] == "submit") {
				continue
			}
			id := idRE.FindStringSubmatch(tag)
			if id == nil || !labels[id[1]] {
				t.Errorf("%s: control without a label: %s", name, tag)
			}
		}
		// Headings: one h1, first, and no level skipped.
		var levels []int
		for _, m := range headRE.FindAllStringSubmatch(body, -1) {
			levels = append(levels, int(m[1][0]-'0'))
		}
		if len(levels) == 0 || levels[0] != 1 || slices.Index(levels[1:], 1) >= 0 {
			t.Errorf("%s: headings %v, want exactly one h1 first", name, levels)
		}
		for i := 1; i < len(levels); i++ {
			if levels[i] > levels[i-1]+1 {
				t.Errorf("%s: heading h%d after h%d", name, levels[i], levels[i-1])
			}
		}
		// Radio groups are fieldsets with a legend.
		if strings.Contains(body, `type="radio"`) && strings.Count(body, "<fieldset") != strings.Count(body, "<legend>") {
			t.Errorf("%s: a fieldset without a legend", name)
		}
	}
	_, form := e.browser().get("/")
	for _, want := range []string{`autocomplete="name"`, `autocomplete="email"`, `autocomplete="tel"`, `id="contact-anon" name="contact" value="anon" checked`} {
		if !strings.Contains(form, want) {
			t.Errorf("form lacks %s", want)
		}
	}
}
