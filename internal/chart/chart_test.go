package chart

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// TestSVG: the chart is well-formed XML, names itself for screen readers,
// escapes what it is given, draws a bar per value and a mark where a
// value is withheld, and has no style attribute for the CSP to refuse.
func TestSVG(t *testing.T) {
	c := &Bars{ID: "first-look", Title: `Time to "first" look`, Desc: "Median hours <by> month", Unit: "h",
		Bars: []Bar{{Label: "2026-01", Value: 3.5}, {Label: "2026-02", Mark: "<10"}, {Label: "2026-03", Value: 12}}}
	svg := string(c.SVG())
	d := xml.NewDecoder(strings.NewReader(svg))
	rects, texts := 0, []string{}
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			for _, a := range tok.Attr {
				if a.Name.Local == "style" {
					t.Errorf("a style attribute: %s", svg)
				}
			}
			if tok.Name.Local == "rect" {
				rects++
			}
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		}
	}
	if rects != 2 {
		t.Errorf("%d bars, want 2", rects)
	}
	for _, want := range []string{"<10", "2026-02", "15h", "0h"} {
		found := false
		for _, s := range texts {
			found = found || s == want
		}
		if !found {
			t.Errorf("no text %q in %v", want, texts)
		}
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="first-look-title first-look-desc"`, "Time to &#34;first&#34; look", "&lt;by&gt;"} {
		if !strings.Contains(svg, want) {
			t.Errorf("lacks %s", want)
		}
	}
}

// TestNiceStep: axis steps are round and give a handful of ticks.
func TestNiceStep(t *testing.T) {
	for _, c := range []struct{ max, want float64 }{{0, 1}, {3.5, 1}, {12, 5}, {100, 25}, {0.04, 0.01}, {9999, 2500}} {
		if got := niceStep(c.max); got != c.want {
			t.Errorf("niceStep(%v) = %v, want %v", c.max, got, c.want)
		}
	}
}
