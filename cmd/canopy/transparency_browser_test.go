package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// seedFigures puts a year of reports into the node's rollups, as the
// roller would have left them: every month of last year has 120 reports,
// 100 of them looked at within about two hours, except March, which has
// 5; and 30 of 40 addresses notified each month came down within a day.
func seedFigures(t *testing.T, db *store.DB, year int) {
	t.Helper()
	deltas := map[store.CellKey]int64{}
	add := func(indicator, month string, members, reached int64, took time.Duration) {
		for _, b := range []int{-1, -2, indicators.Bucket(took)} {
			n := reached
			if b == -1 {
				n = members
			}
			deltas[store.CellKey{Indicator: indicator, Dim: indicators.DimAll, Value: indicators.DimAll, Month: month, Bucket: b}] += n
		}
	}
	for m := 1; m <= 12; m++ {
		month := fmt.Sprintf("%04d-%02d", year, m)
		if m == 3 {
			add(indicators.FirstLook, month, 5, 5, 3*time.Hour)
		} else {
			add(indicators.FirstLook, month, 120, 100, 2*time.Hour)
		}
		add(indicators.Takedown, month, 40, 30, 20*time.Hour)
	}
	if err := db.AddCells(context.Background(), deltas); err != nil {
		t.Fatal(err)
	}
}

// TestTransparencyInBrowser opens the public figures in headless
// Chromium on a phone, in English and in Arabic (right to left), with
// JavaScript on and off: from the footer to this year's page, then to
// last year's report, whose small month is shown as "<10" and whose
// files download. Every page must be free of axe violations of every
// impact, and no wider than the screen.
func TestTransparencyInBrowser(t *testing.T) {
	m := startNode(t, store.SQLite)
	last := time.Now().UTC().Year() - 1
	seedFigures(t, m.DB, last)
	for _, tc := range []struct {
		lang, dir string
		scripts   bool
	}{
		{"en", "ltr", false},
		{"en", "ltr", true},
		{"ar", "rtl", false},
		{"ar", "rtl", true},
	} {
		name := tc.lang + map[bool]string{true: "-js", false: "-nojs"}[tc.scripts]
		t.Run(name, func(t *testing.T) {
			ctx := browsertest.New(t, tc.scripts)
			off := !tc.scripts
			c := i18n.Get(tc.lang)
			tab := browsertest.Tab{T: t, Ctx: ctx, ScriptsOff: off, All: true, Before: func() { scrollTop(t, ctx, off) }}
			must, check, text := tab.Must, tab.Check, tab.Text

			// The footer of every page leads to the figures.
			must(chromedp.Navigate(m.URL()+"/?lang="+tc.lang), browsertest.Load(chromedp.Click(chromedp.CSS(`footer a[href="/transparency"]`))),
				chromedp.WaitVisible(chromedp.CSS(`footer a[href="/transparency"][aria-current="page"]`)))
			dir, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "dir"))
			if err != nil || dir.Value != tc.dir {
				t.Fatalf("dir = %q %v", dir.Value, err)
			}
			if s := text("h1"); s != c.T("transparency.title") {
				t.Errorf("h1 %q", s)
			}
			check(name + " this year")

			// Last year, the yearly report, from the list of years.
			must(browsertest.Load(chromedp.Click(chromedp.CSS(`nav.years a[href^="/transparency?year=`+strconv.Itoa(last)+`"]`))),
				chromedp.WaitVisible(chromedp.CSS(`nav.years a[aria-current="page"][href^="/transparency?year=`+strconv.Itoa(last)+`"]`)))
			table := text("#c-first_look")
			if !strings.Contains(table, c.T("transparency.ind.first_look.name")) {
				t.Errorf("the first look table's caption: %q", table)
			}
			// In Arabic "<10" is isolated left to right, as the files write it.
			rows := strings.NewReplacer("\u2066", "", "\u2069", "").Replace(text(`section[aria-labelledby="i-first_look"] tbody`))
			march := c.T("portal.month.3")
			// March's total is a hidden margin (the hidden mark even when
			// small), its five looked at a small inner cell ("<10").
			if !strings.Contains(rows, march+" "+c.T("transparency.mark.hidden")+" <10") || strings.Contains(rows, march+" 5 ") {
				t.Errorf("last year's first looks: %q", rows)
			}
			svg, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#chart-first_look-title"), "id"))
			if err != nil || svg.Value == "" {
				t.Errorf("no chart: %v", err)
			}
			check(name + " last year")

			// The files the page links to download the same publication.
			for _, ext := range []string{"csv", "json"} {
				href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`ul.files a[href$=".`+ext+`"]`), "href"))
				if err != nil || href.Value != fmt.Sprintf("/transparency/%d.%s", last, ext) {
					t.Fatalf("%s link %q %v", ext, href.Value, err)
				}
				resp, err := http.Get(m.URL() + href.Value)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if ext == "json" {
					var pub indicators.Publication
					if err := json.Unmarshal(body, &pub); err != nil {
						t.Fatal(err)
					}
					body, _ = json.Marshal(pub.Rows)
					body = []byte(strings.ReplaceAll(string(body), `\u003c`, "<"))
				}
				if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
					(!strings.Contains(string(body), `"<10"`) && !strings.Contains(string(body), ",<10,")) || !strings.Contains(string(body), indicators.MarkHidden) {
					t.Errorf("%s: %d %q\n%.300s", ext, resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
				}
			}
		})
	}
}
