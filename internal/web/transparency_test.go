package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/indicators"
)

// Counts a withheld Value carries in these tests. A publication never
// holds a count behind a mark; these do, so that a page or a file that
// read one would show it.
const (
	secretSmall  = 9876543
	secretHidden = 8765432
)

// leaks are the forms a secret count takes once written for people, in
// every language of the portal.
func leaks() []string {
	var out []string
	for _, n := range []int64{secretSmall, secretHidden} {
		out = append(out, strconv.FormatInt(n, 10))
		for _, l := range canopy.Languages {
			out = append(out, newNumbers(l).count(n))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// sampleRow is one month of an indicator in the sample publication.
// Before 2025 nothing happened; from then on the months go round four
// kinds: all shown; a small count; a count withheld to protect another;
// members shown but the reached count small.
func sampleRow(id, month string) indicators.Row {
	r := indicators.Row{Indicator: id, Month: month}
	y, _ := strconv.Atoi(month[:4])
	m, _ := strconv.Atoi(month[5:])
	if y < 2025 {
		if id == indicators.Takedown {
			r.Within24, r.Within72 = &indicators.Value{}, &indicators.Value{}
		}
		return r
	}
	small := indicators.Value{N: secretSmall, Mark: indicators.MarkSmall}
	hidden := indicators.Value{N: secretHidden, Mark: indicators.MarkHidden}
	switch m % 4 {
	case 1:
		r.Members, r.Reached = indicators.Value{N: 120}, indicators.Value{N: 108}
		if id == indicators.WellBeing {
			r.MeanChange = ptr(4.5)
		} else {
			r.MedianSeconds, r.P90Seconds = ptr(int64(5400)), ptr(int64(30*3600))
		}
		if id == indicators.Takedown {
			r.Within24, r.Within72 = &indicators.Value{N: 60}, &indicators.Value{N: 90}
		}
	case 2:
		r.Members, r.Reached = small, small
		if id == indicators.Takedown {
			r.Within24, r.Within72 = &hidden, &hidden
		}
	case 3:
		r.Members, r.Reached = hidden, hidden
		if id == indicators.Takedown {
			r.Within24, r.Within72 = &small, &hidden
		}
	case 0:
		r.Members, r.Reached = indicators.Value{N: 40}, small
		if id == indicators.WellBeing {
			r.MeanChange = ptr(-2.5) // a fall: its CSV cell must not start with "-"
		}
		if id == indicators.Takedown {
			r.Within24, r.Within72 = &small, &hidden
		}
	}
	return r
}

// samplePublication is a node's publication over [from, to] built by
// hand, with every kind of mark.
func samplePublication(from, to string) *indicators.Publication {
	pub := &indicators.Publication{Definitions: indicators.Definitions, Node: "hotline-fr", Jurisdictions: []string{"FR"},
		Generated: testNow.Format(time.RFC3339), From: from, To: to}
	start, _ := time.Parse("2006-01", from)
	end, _ := time.Parse("2006-01", to)
	for _, id := range indicators.Known {
		for m := start; !m.After(end); m = m.AddDate(0, 1, 0) {
			pub.Rows = append(pub.Rows, sampleRow(id, m.Format("2006-01")))
		}
	}
	return pub
}

// samplePeers: Belgium shared 2025 in full, every month shown; the
// Netherlands shared two months of 2026 under other definitions; a
// removed peer's figures are still stored.
func samplePeers(ctx context.Context) ([]federation.PeerPublication, error) {
	be := indicators.Publication{Definitions: indicators.Definitions, Node: "hotline-be", Jurisdictions: []string{"BE"},
		Generated: "2026-01-03T08:00:00Z", From: "2025-01", To: "2025-12"}
	for _, id := range indicators.Known {
		for m := 1; m <= 12; m++ {
			r := indicators.Row{Indicator: id, Month: fmt.Sprintf("2025-%02d", m), Members: indicators.Value{N: 50}, Reached: indicators.Value{N: 25}}
			if id == indicators.Takedown {
				r.Within24, r.Within72 = &indicators.Value{N: 10}, &indicators.Value{N: 20}
			}
			be.Rows = append(be.Rows, r)
		}
	}
	nl := indicators.Publication{Definitions: "canopy-indicators/2", Node: "meldpunt", Jurisdictions: []string{"NL"},
		Generated: "not a time", From: "2026-01", To: "2026-02"}
	for _, id := range indicators.Known {
		nl.Rows = append(nl.Rows,
			indicators.Row{Indicator: id, Month: "2026-01", Members: indicators.Value{N: 30}, Reached: indicators.Value{N: 30}},
			indicators.Row{Indicator: id, Month: "2026-02", Members: indicators.Value{N: 30}, Reached: indicators.Value{N: secretSmall, Mark: "<10"}})
	}
	gone := be
	gone.Node = "gone-node"
	return []federation.PeerPublication{
		{Peer: canopy.Peer{ID: "nl", Name: "meldpunt", State: canopy.PeerActive, Jurisdictions: []string{"NL"}}, Publication: nl},
		{Peer: canopy.Peer{ID: "be", Name: "hotline-be", State: canopy.PeerActive}, Publication: be, Comparable: true},
		{Peer: canopy.Peer{ID: "gone", Name: "gone-node", State: canopy.PeerRemoved}, Publication: gone, Comparable: true},
	}, nil
}

// countingPublisher publishes the sample and counts its calls by period.
type countingPublisher struct {
	mu    sync.Mutex
	calls map[string]int
	fail  atomic.Int32 // the next calls to fail
	gate  chan struct{}
}

func (c *countingPublisher) publish(ctx context.Context, from, to string) (*indicators.Publication, error) {
	if c.gate != nil {
		<-c.gate
	}
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[from+"/"+to]++
	c.mu.Unlock()
	if c.fail.Add(-1) >= 0 {
		return nil, errors.New("the database is away")
	}
	return samplePublication(from, to), nil
}

func (c *countingPublisher) count(from, to string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[from+"/"+to]
}

// withFigures gives a test portal the sample figures.
func withFigures(c *Config) {
	c.Indicators = func(ctx context.Context, from, to string) (*indicators.Publication, error) {
		return samplePublication(from, to), nil
	}
	c.PeerIndicators = samplePeers
}

// TestTransparencyPage: the page for this year and for a past one, its
// year list and its mistakes, in the reader's language.
func TestTransparencyPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	en := i18n.Get("en")
	esc := html.EscapeString
	type want struct {
		status int
		has    []string
		hasNot []string
	}
	for _, c := range []struct {
		name, path string
		want
	}{
		{"this year so far", "/transparency", want{200, []string{
			"<h1>" + esc(en.T("transparency.title")) + "</h1>",
			esc(en.T("transparency.figures.title", "January to March 2026")), esc(en.T("transparency.figures.so_far")),
			`<a href="/transparency?lang=en" aria-current="page">2026</a>`, `<a href="/transparency?year=2025&amp;lang=en">2025</a>`,
			`href="/transparency/2026.csv"`, `href="/transparency/2026.json"`, `<link rel="stylesheet" href="/static/figures.`,
			`<a href="/transparency" aria-current="page">` + esc(en.T("transparency.title")) + `</a>`,
			esc(en.T("transparency.hidden.small", "<10")), esc(en.T("transparency.hidden.more", "hidden")),
			esc(en.T("transparency.ind.takedown.def")), esc(en.T("transparency.ind.wellbeing.def")),
			`<svg role="img" aria-labelledby="chart-first_look-title chart-first_look-desc"`,
			esc(en.T("transparency.chart.median.hours", en.T("transparency.ind.first_look.name"))),
			// January: all shown; February: small; March: withheld.
			"<tr><th scope=\"row\">January</th><td>120</td><td>108</td><td>90%</td><td>1.5 h</td><td>30.0 h</td><td>50%</td><td>75%</td></tr>",
			"<tr><th scope=\"row\">February</th><td>&lt;10</td><td>&lt;10</td><td>not known</td><td>hidden</td><td>hidden</td><td>not known</td><td>not known</td></tr>",
			"<tr><th scope=\"row\">March</th><td>hidden</td><td>hidden</td><td>not known</td><td>hidden</td><td>hidden</td><td>not known</td><td>not known</td></tr>",
			"<td>&#43;4.5</td>", esc(en.T("transparency.chart.key.small", "<10")), esc(en.T("transparency.chart.key.hidden", "x")),
			`<h2 id="t-network">`, "Belgium", "Netherlands", esc(en.T("transparency.network.different")),
			esc(en.T("transparency.network.only", "January to February 2026")), esc(en.T("transparency.network.shared_undated", "Netherlands", "January to February 2026")),
		}, []string{"gone-node", `id="banner"`}}},
		{"a past year: the yearly report", "/transparency?year=2025", want{200, []string{
			esc(en.T("transparency.figures.title", "2025")), `<a href="/transparency?year=2025&amp;lang=en" aria-current="page">2025</a>`,
			`href="/transparency/2025.csv"`, `href="/transparency/2025.json"`, esc(en.T("transparency.files.csv", 2025)),
			"<tr><th scope=\"row\">April</th><td>40</td><td>&lt;10</td><td>not known</td><td>hidden</td><td>hidden</td><td>not known</td><td>not known</td></tr>",
			"<td>-2.5</td>",
			// Belgium's year: every month shown, so a total; ours has hidden months.
			"<td>600</td><td>300</td><td>50%</td><td>20%</td><td>40%</td>",
			esc(en.T("transparency.network.shared", "Belgium", "January to December 2025", "3 January 2026")),
			"<td>hidden</td><td>hidden</td><td>not known</td>", esc(en.T("transparency.network.us")),
			esc(en.T("transparency.network.not_shared")),
		}, []string{esc(en.T("transparency.figures.so_far")), "gone-node", `id="banner"`}}},
		{"a year before the figures begin", "/transparency?year=2024", want{404, []string{`id="banner"`, esc(en.T("transparency.error.year")),
			esc(en.T("transparency.figures.title", "January to March 2026"))}, nil}},
		{"a year to come", "/transparency?year=2027", want{404, []string{esc(en.T("transparency.error.year"))}, nil}},
		{"not a year", "/transparency?year=twenty", want{400, []string{esc(en.T("transparency.error.year"))}, []string{"twenty"}}},
		{"a year with extra digits", "/transparency?year=02025", want{400, []string{esc(en.T("transparency.error.year"))}, nil}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.browser().get(c.path, "Accept-Language", "en")
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d\n%s", resp.StatusCode, c.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, s := range c.has {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %s", s)
				}
			}
			for _, s := range append(c.hasNot, leaks()...) {
				if strings.Contains(body, s) {
					t.Errorf("has %s", s)
				}
			}
		})
	}

	// In Arabic, right to left, every figure in the reader's words; the
	// language switcher keeps the year.
	_, body := e.browser().get("/transparency?year=2025&lang=ar")
	ar := i18n.Get("ar")
	for _, s := range []string{`<html lang="ar" dir="rtl">`, esc(ar.T("transparency.title")), esc(ar.T("transparency.figures.title", "2025")),
		esc(ar.T("transparency.mark.hidden")), esc(ar.T("transparency.ind.takedown.name")), `href="/transparency?year=2025&amp;lang=fr"`,
		"بلجيكا", esc(ar.T("transparency.fmt.hours", "30.0"))} {
		if !strings.Contains(body, s) {
			t.Errorf("Arabic page lacks %s", s)
		}
	}
	for _, s := range leaks() {
		if strings.Contains(body, s) {
			t.Errorf("Arabic page has %s", s)
		}
	}
	// French numbers are written the French way.
	_, body = e.browser().get("/transparency?lang=fr")
	for _, s := range []string{"<td>90\u00a0%</td>", "<td>30,0 h</td>", "<td>&#43;4,5</td>", esc(i18n.Get("fr").T("transparency.figures.title", "janvier à mars 2026"))} {
		if !strings.Contains(body, s) {
			t.Errorf("French page lacks %q", s)
		}
	}
}

// TestTransparencyFiles: the yearly report's CSV and JSON are the
// publication, marks and all, as downloads; no withheld count in them.
func TestTransparencyFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	b := e.browser()

	resp, body := b.get("/transparency/2025.csv")
	if resp.StatusCode != 200 {
		t.Fatalf("CSV: %d\n%s", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"Content-Type":        "text/csv; charset=utf-8; header=present",
		"Content-Disposition": `attachment; filename=transparency-2025.csv`,
		"Cache-Control":       "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("CSV %s = %q, want %q", h, got, want)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "indicator,month,members,reached,median_seconds,p90_seconds,within_24h,within_72h,mean_change" {
		t.Errorf("header %s", got)
	}
	if len(recs) != 1+len(indicators.Known)*12 {
		t.Errorf("%d lines, want one per indicator and month", len(recs))
	}
	want := map[string]string{
		"first_look 2025-01":    "first_look,2025-01,120,108,5400,108000,,,",
		"first_look 2025-02":    "first_look,2025-02,<10,<10,,,,,",
		"first_look 2025-03":    "first_look,2025-03,suppressed,suppressed,,,,,",
		"takedown 2025-01":      "takedown,2025-01,120,108,5400,108000,60,90,",
		"takedown 2025-04":      "takedown,2025-04,40,<10,,,<10,suppressed,",
		"wellbeing 2025-01":     "wellbeing,2025-01,120,108,,,,,4.5",
		"wellbeing 2025-04":     "wellbeing,2025-04,40,<10,,,,,'-2.5",
		"host_response 2025-12": "host_response,2025-12,40,<10,,,,,",
	}
	for _, rec := range recs[1:] {
		if w, ok := want[rec[0]+" "+rec[1]]; ok && strings.Join(rec, ",") != w {
			t.Errorf("%s %s: %s, want %s", rec[0], rec[1], strings.Join(rec, ","), w)
		}
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell a spreadsheet would run: %q", cell)
			}
		}
	}

	resp, body = b.get("/transparency/2026.json")
	if resp.StatusCode != 200 {
		t.Fatalf("JSON: %d\n%s", resp.StatusCode, body)
	}
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "application/json" || cd != "attachment; filename=transparency-2026.json" {
		t.Errorf("JSON Content-Type %q, Content-Disposition %q", ct, cd)
	}
	var pub indicators.Publication
	if err := json.Unmarshal([]byte(body), &pub); err != nil {
		t.Fatal(err)
	}
	if err := pub.Check(); err != nil || pub.From != "2026-01" || pub.To != "2026-03" || len(pub.Rows) != len(indicators.Known)*3 {
		t.Fatalf("JSON publication %s to %s, %d rows: %v", pub.From, pub.To, len(pub.Rows), err)
	}
	if r := pub.Rows[1]; r.Month != "2026-02" || r.Members != (indicators.Value{Mark: "<10"}) {
		t.Errorf("February: %+v", r)
	}
	if r := pub.Rows[2]; r.Members != (indicators.Value{Mark: "suppressed"}) {
		t.Errorf("March: %+v", r)
	}
	for _, s := range leaks() {
		if strings.Contains(body, s) {
			t.Errorf("the JSON has %s", s)
		}
	}
	_, csvBody := b.get("/transparency/2026.csv")
	for _, s := range leaks() {
		if strings.Contains(csvBody, s) {
			t.Errorf("the CSV has %s", s)
		}
	}

	// What is not a year's file is not found, in the reader's language.
	for _, path := range []string{"/transparency/2024.csv", "/transparency/2027.json", "/transparency/2025.xml", "/transparency/2025",
		"/transparency/abcd.csv", "/transparency/02025.csv", "/transparency/2025.csv.json"} {
		resp, body := b.get(path, "Accept-Language", "fr")
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, html.EscapeString(i18n.Get("fr").T("portal.notfound.title"))) {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	// The page links to both, and HEAD answers as GET does.
	req, _ := http.NewRequest("HEAD", e.http.URL+"/transparency/2025.json", nil)
	if resp, _ := b.do(req); resp.StatusCode != 200 || resp.Header.Get("Content-Disposition") == "" {
		t.Errorf("HEAD: %d", resp.StatusCode)
	}
}

// TestTransparencyWithoutFigures: a node that publishes nothing yet, and
// has no peer that shared, says so; there is nothing to download.
func TestTransparencyWithoutFigures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	en := i18n.Get("en")
	resp, body := e.browser().get("/transparency", "Accept-Language", "en")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, s := range []string{html.EscapeString(en.T("transparency.unavailable")), html.EscapeString(en.T("transparency.network.none")),
		html.EscapeString(en.T("transparency.intro.counted"))} {
		if !strings.Contains(body, s) {
			t.Errorf("lacks %s", s)
		}
	}
	for _, s := range []string{"<table", "<svg", ".csv", `class="years"`} {
		if strings.Contains(body, s) {
			t.Errorf("has %s", s)
		}
	}
	if resp, _ := e.browser().get("/transparency/2026.json"); resp.StatusCode != 404 {
		t.Errorf("a file of nothing: %d", resp.StatusCode)
	}
	// Peers that shared, without figures of our own.
	e = newEnv(t, func(c *Config) { c.PeerIndicators = samplePeers })
	_, body = e.browser().get("/transparency?year=2026", "Accept-Language", "en")
	if !strings.Contains(body, "Netherlands") || strings.Contains(body, html.EscapeString(en.T("transparency.network.us"))) {
		t.Errorf("peers without our figures:\n%s", body)
	}
}

// TestTransparencyFailures: a publication that cannot be made is said
// in words, logged, and not kept: the next visit tries again.
func TestTransparencyFailures(t *testing.T) {
	t.Parallel()
	pub := &countingPublisher{}
	pub.fail.Store(1)
	e := newEnv(t, func(c *Config) {
		c.Indicators = pub.publish
		c.PeerIndicators = func(context.Context) ([]federation.PeerPublication, error) { return nil, errors.New("peers are away") }
	})
	en := i18n.Get("en")
	resp, body := e.browser().get("/transparency", "Accept-Language", "en")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, html.EscapeString(en.T("transparency.error.unavailable"))) {
		t.Fatalf("a failed publication: %d\n%s", resp.StatusCode, body)
	}
	resp, body = e.browser().get("/transparency", "Accept-Language", "en")
	if resp.StatusCode != 200 || !strings.Contains(body, "<table") || !strings.Contains(body, html.EscapeString(en.T("transparency.network.unavailable"))) {
		t.Fatalf("after the failure: %d", resp.StatusCode)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "the database is away") || !strings.Contains(logs, "peers are away") {
		t.Errorf("the log:\n%s", logs)
	}
}

// TestTransparencyCache: a publication is computed once for many visits
// and downloads, and again after ten minutes; visitors arriving while it
// is computed wait for that computation.
func TestTransparencyCache(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := testNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pub := &countingPublisher{gate: make(chan struct{})}
	var peerCalls atomic.Int32
	e := newEnv(t, func(c *Config) {
		c.Now = clock
		c.Indicators = pub.publish
		c.PeerIndicators = func(ctx context.Context) ([]federation.PeerPublication, error) {
			peerCalls.Add(1)
			return samplePeers(ctx)
		}
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := []string{"/transparency", "/transparency/2026.csv", "/transparency/2026.json", "/transparency?year=2025"}[i%4]
			if resp, _ := e.browser().get(path); resp.StatusCode != 200 {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let them all ask
	close(pub.gate)
	wg.Wait()
	for _, p := range [][2]string{{"2017-01", "2026-03"}, {"2026-01", "2026-03"}, {"2025-01", "2025-12"}} {
		if n := pub.count(p[0], p[1]); n != 1 {
			t.Errorf("%s to %s computed %d times", p[0], p[1], n)
		}
	}
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	advance(9 * time.Minute)
	e.browser().get("/transparency")
	if n := pub.count("2026-01", "2026-03"); n != 1 {
		t.Errorf("recomputed within ten minutes: %d", n)
	}
	if n := peerCalls.Load(); n != 1 {
		t.Errorf("peers read %d times", n)
	}
	advance(2 * time.Minute)
	e.browser().get("/transparency")
	if n := pub.count("2026-01", "2026-03"); n != 2 {
		t.Errorf("not recomputed after ten minutes: %d", n)
	}
	if n := peerCalls.Load(); n != 2 {
		t.Errorf("peers read %d times after ten minutes", n)
	}
}

// TestTransparencyTracksNoOne: the page and its files set no cookie,
// even when a language is chosen, and the log has routes, not queries.
func TestTransparencyTracksNoOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	b := e.browser()
	for _, path := range []string{"/transparency", "/transparency?year=2025&lang=fr", "/transparency?lang=ar", "/transparency?year=1999",
		"/transparency/2025.csv", "/transparency/2026.json?lang=es", "/transparency/1999.csv?lang=fr"} {
		resp, body := b.get(path)
		if c := resp.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("%s sets cookies %v", path, c)
		}
		if strings.Contains(body, `name="csrf"`) {
			t.Errorf("%s has a form token", path)
		}
	}
	logs := e.logs.String()
	for _, s := range []string{"year=", "lang=", "1999"} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q:\n%s", s, logs)
		}
	}
	for _, s := range []string{`route="GET /transparency"`, `route="GET /transparency/{file}"`} {
		if !strings.Contains(logs, s) {
			t.Errorf("the log lacks %s", s)
		}
	}
}

// TestTransparencyInEveryLanguage: every language has the page whole,
// its footer link, and the marks as the publication has them where the
// page promises them.
func TestTransparencyInEveryLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	keyRE := regexp.MustCompile(`\btransparency\.[a-z0-9_.]+`)
	for _, lang := range canopy.Languages {
		c := i18n.Get(lang)
		for _, path := range []string{"/transparency?lang=" + lang, "/transparency?year=2025&lang=" + lang} {
			resp, body := e.browser().get(path)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			if m := keyRE.FindAllString(strings.ReplaceAll(body, "/transparency", ""), -1); m != nil {
				t.Errorf("%s shows keys %v", path, m)
			}
			for _, s := range []string{html.EscapeString(c.T("transparency.legend.files", smallMark(c), "suppressed")),
				`<a href="/transparency" aria-current="page">` + html.EscapeString(c.T("transparency.title")) + "</a>"} {
				if !strings.Contains(body, s) {
					t.Errorf("%s lacks %s", path, s)
				}
			}
		}
		// Every page's footer links to the figures.
		_, body := e.browser().get("/safety?lang=" + lang)
		if !strings.Contains(body, `<a href="/transparency">`+html.EscapeString(c.T("transparency.title"))+"</a>") {
			t.Errorf("%s: the footer does not link to the figures", lang)
		}
		if strings.Contains(body, "figures.") {
			t.Errorf("%s: a page a child reads loads the figures' stylesheet", lang)
		}
	}
}

// TestTransparencyPageSize: a year with every indicator and three peers
// stays within what a phone on a slow network fetches in a few seconds.
func TestTransparencyPageSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFigures)
	for _, lang := range canopy.Languages {
		_, body := e.browser().get("/transparency?year=2025&lang=" + lang)
		t.Logf("%s: %d bytes", lang, len(body))
		if len(body) > 120_000 {
			t.Errorf("%s: %d bytes, over 120 KB", lang, len(body))
		}
	}
}

// TestMonthSpan and the numbers: the words periods and figures are
// written in.
func TestTransparencyWords(t *testing.T) {
	en, fr, es, ar := i18n.Get("en"), i18n.Get("fr"), i18n.Get("es"), i18n.Get("ar")
	for _, c := range []struct {
		c        *i18n.Catalog
		from, to string
		want     string
	}{
		{en, "2026-03", "2026-03", "March 2026"},
		{en, "2026-01", "2026-03", "January to March 2026"},
		{en, "2025-12", "2026-02", "December 2025 to February 2026"},
		{fr, "2026-01", "2026-03", "janvier à mars 2026"},
		{es, "2026-01", "2026-03", "enero a marzo de 2026"},
		{ar, "2026-01", "2026-03", "من يناير إلى مارس 2026"},
		{en, "bad", "2026-03", "bad – 2026-03"},
	} {
		if got := monthSpan(c.c, c.from, c.to); got != c.want {
			t.Errorf("%s %s–%s: %q, want %q", c.c.Lang, c.from, c.to, got, c.want)
		}
	}
	n := newNumbers("en")
	for secs, want := range map[int64]string{0: "0 s", 59: "59 s", 60: "1 min", 3599: "59 min", 3600: "1.0 h", 71 * 3600: "71.0 h", 72 * 3600: "3.0 d", 10 * 86400: "10.0 d"} {
		if got := n.duration(en, secs); got != want {
			t.Errorf("duration(%d) = %q, want %q", secs, got, want)
		}
	}
	for _, c := range []struct {
		part, whole indicators.Value
		want        string
	}{
		{indicators.Value{N: 1}, indicators.Value{N: 3}, "33%"},
		{indicators.Value{N: 0}, indicators.Value{N: 0}, "not known"},
		{indicators.Value{N: 5}, indicators.Value{Mark: "<10"}, "not known"},
		{indicators.Value{Mark: "suppressed"}, indicators.Value{N: 40}, "not known"},
	} {
		if got := n.share(en, c.part, c.whole); got != c.want {
			t.Errorf("share(%v, %v) = %q, want %q", c.part, c.whole, got, c.want)
		}
	}
	if got := newNumbers("ar").count(12345); got != "12,345" && got != "12٬345" {
		t.Errorf("Arabic count %q: not in the portal's digits", got)
	}
}
