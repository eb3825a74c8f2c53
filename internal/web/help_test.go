package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/support"
)

// seedDirectory puts a small directory in db: two services in Lyon, a
// national helpline in France, one in Belgium, and entries the public
// must never see (a retired service, a closed provider's).
func seedDirectory(tb testing.TB, db *store.DB) {
	tb.Helper()
	ctx := context.Background()
	closed := &canopy.Provider{ID: "closed", Name: "Closed NGO", Updated: testNow, UpdatedBy: "system"}
	for _, p := range []*canopy.Provider{
		{ID: "droit", Name: "Droit des jeunes", Website: "https://droit-jeunes.example/aide/", Phone: "04 78 00 00 00", Active: true, Updated: testNow, UpdatedBy: "system"},
		{ID: "hopital", Name: "Hôpital Lyon Sud", Active: true, Updated: testNow, UpdatedBy: "system"},
		{ID: "allo", Name: "Allô Enfance", Phone: "119", Active: true, Updated: testNow, UpdatedBy: "system"},
		{ID: "be", Name: "Child Focus", Email: "contact@childfocus.example", Active: true, Updated: testNow, UpdatedBy: "system"},
		closed,
	} {
		if err := db.CreateProvider(ctx, p); err != nil {
			tb.Fatal(err)
		}
	}
	for _, o := range []*canopy.ServiceOffer{
		{ID: "lyon-law", ProviderID: "droit", Needs: []string{"legal"}, Country: "FR", Regions: []string{"Lyon"}, Languages: []string{"fr", "ar"},
			Ages: canopy.AgeRange{Min: 12, Max: 24}, Free: true, Confidential: true, Description: "Conseils <gratuits> & confidentiels."},
		{ID: "lyon-clinic", ProviderID: "hopital", Name: "Unité d'accueil pédiatrique", Needs: []string{"medical", "counselling"}, Country: "FR",
			Regions: []string{"Lyon", "Villeurbanne"}, Languages: []string{"fr"}, Ages: canopy.AgeRange{Min: 0, Max: 17},
			Access: []string{"step_free", "sign_language"}, Hours: "Lun–Ven 9h–18h", Capacity: "waitlist", Phone: "+33 4 72 11 11 11"},
		{ID: "fr-119", ProviderID: "allo", Name: "Allô 119", Needs: []string{"helpline"}, Country: "FR", Languages: []string{"fr", "en"},
			Ages: canopy.AgeRange{Min: 0, Max: 21}, AlwaysOpen: true, Free: true, Access: []string{"text_chat"}},
		{ID: "be-line", ProviderID: "be", Name: "Belgian line", Needs: []string{"helpline"}, Country: "BE", Languages: []string{"nl", "fr"},
			Ages: canopy.AgeRange{Min: 0, Max: 17}},
		{ID: "retired", ProviderID: "hopital", Name: "Retired service", Needs: []string{"shelter"}, Country: "FR", Languages: []string{"de"},
			Ages: canopy.AgeRange{Min: 0, Max: 17}},
		{ID: "closed-1", ProviderID: "closed", Name: "Closed service", Needs: []string{"shelter"}, Country: "DE", Languages: []string{"fr"},
			Ages: canopy.AgeRange{Min: 0, Max: 17}},
	} {
		o.Active, o.Updated, o.UpdatedBy = o.ID != "retired", testNow, "system"
		if err := db.CreateServiceOffer(ctx, o); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestFindHelp searches the directory through the page as a browser
// without scripts would, and checks what each search shows.
func TestFindHelp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDirectory(t, e.db)
	en := i18n.Get("en")
	type want struct {
		status int
		has    []string
		hasNot []string
	}
	esc := html.EscapeString
	for _, c := range []struct {
		name, query string
		want
	}{
		{"the form alone", "", want{200, []string{`<form class="find" method="get" action="/help" novalidate`, `<option value="FR">France</option>`,
			`<option value="BE">Belgium</option>`, `<option value="" selected>Any country</option>`,
			`<option value="fr">French</option>`, `<option value="nl">Dutch</option>`, `id="help-need-shelter" name="need" value="shelter"`,
			esc(en.T("portal.emergency.call"))},
			[]string{`id="results"`, `value="DE"`, `value="de"`, "Closed", "Retired"}}},
		{"everything", "?country=&region=&language=&age=", want{200, []string{`<h2 id="results-title">`, esc(en.T("help.results.count", 4)),
			"Allô 119", "Belgian line", "Unité d&#39;accueil pédiatrique", "Droit des jeunes"}, []string{"Closed service", "Retired service"}}},
		{"a region: local first, then the country's helpline", "?country=FR&region=lyon", want{200, []string{esc(en.T("help.results.count", 3))},
			[]string{"Belgian line"}}},
		{"a need, an age and a language", "?country=FR&language=ar&age=15&need=legal&need=shelter", want{200, []string{
			`<h3 id="service-lyon-law" dir="auto">Droit des jeunes</h3>`, esc(en.T("help.need.legal.name")), esc(en.T("help.result.free")),
			esc(en.T("help.result.confidential")), esc(en.T("help.result.ages", 12, 24)), "French, Arabic", "Lyon (France)",
			`href="tel:0478000000">Call <bdi dir="ltr">04 78 00 00 00</bdi></a>`,
			`<a href="https://droit-jeunes.example/aide/" rel="noreferrer noopener external">Website <bdi dir="ltr">droit-jeunes.example/aide</bdi></a>`,
			"Conseils &lt;gratuits&gt; &amp; confidentiels.", `value="15"`, `id="help-need-legal" name="need" value="legal" aria-describedby="help-need-legal-desc" checked`,
			`<option value="ar" selected>Arabic</option>`, `<option value="FR" selected>France</option>`},
			[]string{"Allô 119", "Unité"}}},
		{"the details of a service", "?country=FR&need=medical", want{200, []string{esc(en.T("help.result.by")) + " <bdi>Hôpital Lyon Sud</bdi>",
			"Lun–Ven 9h–18h", esc(en.T("help.result.capacity.waitlist")), "<li>" + esc(en.T("help.access.step_free.name")) + "</li><li>" + esc(en.T("help.access.sign_language.name")) + "</li>",
			`href="tel:&#43;33472111111"`, "Lyon, Villeurbanne (France)"}, nil}},
		{"open day and night, and an email", "?country=&need=helpline&language=fr", want{200, []string{esc(en.T("help.result.always_open")),
			`<a href="mailto:contact@childfocus.example" rel="noreferrer">Email <bdi dir="ltr">contact@childfocus.example</bdi></a>`}, nil}},
		{"nothing found: the way to help now", "?country=BE&need=shelter", want{200, []string{esc(en.T("help.none.title")), esc(en.T("help.none.helpline")),
			esc(en.T("help.none.try")), `<option value="BE" selected>Belgium</option>`}, []string{`class="services"`}}},
		{"a country the directory lacks", "?country=DE", want{200, []string{esc(en.T("help.none.title")), `<option value="DE" selected>Germany</option>`}, nil}},
		{"a language nobody speaks", "?country=&language=es", want{200, []string{esc(en.T("help.none.title")), `<option value="es" selected>Spanish</option>`}, nil}},
		{"bad input keeps what was typed", "?country=XX&age=ten&region=Lyon&need=pizza", want{422, []string{`id="error-summary"`,
			`<a href="#help-country">Country: ` + esc(en.T("error.country.unknown")), `<p class="field-error" id="help_age-error"><span>` + esc(en.T("help.error.age")),
			`id="help-age" name="age" value="ten"`, `aria-describedby="help_age-hint help_age-error" aria-invalid="true"`, `value="Lyon"`,
			`id="help_need-error"`}, []string{`id="results"`}}},
		{"an age out of range", "?country=FR&age=120", want{422, []string{esc(en.T("help.error.age"))}, nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.browser().get("/help"+c.query, "Accept-Language", "en")
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, c.status, body)
			}
			for _, s := range c.has {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %s", s)
				}
			}
			for _, s := range c.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("has %s", s)
				}
			}
		})
	}

	// Local services come before the country's.
	_, body := e.browser().get("/help?country=FR&region=LYON")
	if i, j := strings.Index(body, `id="service-lyon-law"`), strings.Index(body, `id="service-fr-119"`); i < 0 || j < 0 || i > j {
		t.Errorf("local services are not first")
	}
	// Changing language keeps the search, and the page is translated,
	// the countries and languages named in Arabic.
	_, body = e.browser().get("/help?country=FR&need=legal&lang=ar")
	if !strings.Contains(body, `href="/help?country=FR&amp;need=legal&amp;lang=fr"`) {
		t.Errorf("the language switcher loses the search")
	}
	ar := i18n.Get("ar")
	for _, s := range []string{`<html lang="ar" dir="rtl">`, esc(ar.T("help.need.legal.name")), "فرنسا", "العربية", esc(ar.T("help.result.ages", 12, 24))} {
		if !strings.Contains(body, s) {
			t.Errorf("Arabic page lacks %s", s)
		}
	}
}

// TestFindHelpTracksNoOne: the finder sets no session cookie, keeps
// nothing, and the log has the route but nothing searched for.
func TestFindHelpTracksNoOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDirectory(t, e.db)
	b := e.browser()
	for _, path := range []string{"/help", "/help?country=FR&region=secret-town&age=13&need=shelter", "/info/consent", "/info/rights", "/info/after-report"} {
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("%s sets cookies %v", path, c)
		}
		if strings.Contains(body, `name="csrf"`) {
			t.Errorf("%s has a form token, so a session", path)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "secret-town") || strings.Contains(logs, "shelter") || !strings.Contains(logs, `route="GET /help"`) {
		t.Errorf("the log:\n%s", logs)
	}
	// The search is a GET form: it changes nothing and needs no token.
	if _, body := b.get("/help?country=FR"); strings.Contains(body, `method="post"`) {
		t.Error("the finder posts")
	}
}

// TestInfoPages: each information page in each language, linked from
// every page's footer, from each other and from the receipt.
func TestInfoPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, lang := range canopy.Languages {
		c := i18n.Get(lang)
		for _, p := range infoPages {
			resp, body := e.browser().get(p.Path + "?lang=" + lang)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d", lang, p.Path, resp.StatusCode)
			}
			if !strings.Contains(body, "<h1>"+html.EscapeString(c.T(p.Title))+"</h1>") {
				t.Errorf("%s %s: no translated title", lang, p.Path)
			}
			for _, s := range p.Sections {
				for _, k := range append(append(append([]string{s.Heading}, s.Paras...), s.Steps...), s.Points...) {
					if !strings.Contains(body, html.EscapeString(c.T(k))) {
						t.Errorf("%s %s lacks %s", lang, p.Path, k)
					}
				}
			}
			if !strings.Contains(body, `<a href="`+p.Path+`" aria-current="page">`) {
				t.Errorf("%s %s: the footer does not mark the page", lang, p.Path)
			}
			for _, o := range infoPages {
				if !strings.Contains(body, `href="`+o.Path+`"`) {
					t.Errorf("%s %s does not link to %s", lang, p.Path, o.Path)
				}
			}
			if !strings.Contains(body, `<a href="/help">`+html.EscapeString(c.T("help.link"))) {
				t.Errorf("%s %s does not link to Find help", lang, p.Path)
			}
		}
	}
	_, body := e.browser().post("/report", validReport())
	for _, link := range []string{`<a href="/info/after-report">`, `<a class="button quiet" href="/help">`} {
		if !strings.Contains(body, link) {
			t.Errorf("the receipt lacks %s", link)
		}
	}
	_, body = e.browser().get("/")
	if !regexp.MustCompile(`<nav class="nav"[^>]*>(?s:.*)<a href="/help">`).MatchString(body) {
		t.Error("the menu does not link to Find help")
	}
	if resp, _ := e.browser().get("/info/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown information page: %d", resp.StatusCode)
	}
}

// TestFindHelpManyResults: a search that finds more than a page shows
// them a page at a time, with links from one page to the next that keep
// the search, and each page stays small for a phone on a slow network.
func TestFindHelpManyResults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := &canopy.Provider{ID: "big", Name: "Réseau national de protection de l'enfance", Website: "https://reseau-enfance.example/aide/jeunes",
		Phone: "+33 1 23 45 67 89", Email: "contact@reseau-enfance.example", Active: true, Updated: testNow, UpdatedBy: "system"}
	if err := e.db.CreateProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	// Services as full as a directory's usually are, and then some.
	for i := range 45 {
		o := &canopy.ServiceOffer{ID: fmt.Sprintf("s%02d", i), ProviderID: "big", Name: fmt.Sprintf("Antenne régionale numéro %d", i),
			Needs: []string{"counselling", "legal", "helpline"}, Description: "Une écoute et des conseils pour les enfants et les jeunes. Sans rendez-vous, en personne ou par téléphone.",
			Country: "FR", Regions: []string{"Auvergne-Rhône-Alpes", "Provence-Alpes-Côte d'Azur"}, Languages: []string{"fr", "ar", "en"},
			Ages: canopy.AgeRange{Min: 0, Max: 21}, Access: []string{"step_free", "interpreter", "text_chat", "remote"},
			Hours: "Du lundi au vendredi, de 9 h à 18 h", Free: true, Confidential: true, Capacity: canopy.CapacityWaitlist,
			Active: true, Updated: testNow, UpdatedBy: "system"}
		if err := e.db.CreateServiceOffer(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	next := regexp.MustCompile(`<a class="button quiet" href="([^"]+)" rel="next">`)
	for _, lang := range canopy.Languages {
		c := i18n.Get(lang)
		path := "/help?country=FR&lang=" + lang
		seen := map[string]bool{}
		for page := 1; page <= 3; page++ {
			resp, body := e.browser().get(path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s page %d: %d", lang, page, resp.StatusCode)
			}
			want := support.DefaultFindLimit
			if page == 3 {
				want = 45 - 2*support.DefaultFindLimit
			}
			ids := regexp.MustCompile(`<h3 id="service-(s\d+)"`).FindAllStringSubmatch(body, -1)
			if len(ids) != want {
				t.Errorf("%s page %d: %d services shown, want %d", lang, page, len(ids), want)
			}
			for _, id := range ids {
				if seen[id[1]] {
					t.Errorf("%s page %d: %s shown twice", lang, page, id[1])
				}
				seen[id[1]] = true
			}
			if !strings.Contains(body, html.EscapeString(c.T("help.results.count", 45))) || !strings.Contains(body, html.EscapeString(c.T("help.results.page", page, 3))) {
				t.Errorf("%s page %d: the count and the page are not said", lang, page)
			}
			if (page > 1) != strings.Contains(body, `rel="prev"`) {
				t.Errorf("%s page %d: a link to the page before, or none, wrongly", lang, page)
			}
			size := len(body)
			for _, m := range regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllStringSubmatch(body, -1) {
				f, _ := e.srv.assets.Body(m[1])
				size += len(f)
			}
			if size > 60_000 {
				t.Errorf("%s page %d: %d bytes with its CSS, JS and icon, over 60 KB", lang, page, size)
			}
			m := next.FindStringSubmatch(body)
			if page == 3 {
				if m != nil {
					t.Errorf("%s: a next page after the last", lang)
				}
				break
			}
			if m == nil {
				t.Fatalf("%s page %d: no link to the next page", lang, page)
			}
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "lang="+lang) || !strings.Contains(path, "country=FR") {
				t.Errorf("%s: the next page loses the search or the language: %s", lang, path)
			}
		}
		if len(seen) != 45 {
			t.Errorf("%s: %d services over the pages, want 45", lang, len(seen))
		}
	}
	// A page past the end, or one that is not a number.
	for _, q := range []string{"&page=99", "&page=x", "&page=-1"} {
		if resp, _ := e.browser().get("/help?country=FR" + q); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", q, resp.StatusCode)
		}
	}
}

// TestSupportRequired: the portal is not built without the directory.
func TestSupportRequired(t *testing.T) {
	if _, err := New(Config{Intake: &intake.Service{}}); err == nil {
		t.Fatal("a portal without Config.Support")
	}
}

func TestTelDigitsAndLabels(t *testing.T) {
	for in, want := range map[string]string{"+33 (0)4 72-11.11 11": "+330472111111", "116 111": "116111", "0+1": "01"} {
		if got := telDigits(in); got != want {
			t.Errorf("telDigits(%q) = %q, want %q", in, got, want)
		}
	}
	if got := websiteLabel("https://example.org/"); got != "example.org" {
		t.Errorf("websiteLabel = %q", got)
	}
	if q := helpQuery(helpForm{Country: "", Region: "Île", Needs: []string{"legal", "medical"}}); q != "country=&need=legal&need=medical&region=%C3%8Ele" {
		t.Errorf("helpQuery = %q", q)
	}
	if _, err := url.ParseQuery(helpQuery(helpForm{Region: "a&b=c"})); err != nil {
		t.Error(err)
	}
}
