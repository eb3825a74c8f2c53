// Package chart draws small bar charts as SVG on the server, for the staff
// dashboard and the public transparency page: readable without
// JavaScript, with no inline style (the pages' Content-Security-Policy
// forbids it), and described for screen readers by a title and a
// description. Every chart is drawn beside a table of the same numbers,
// which is the accessible form of record; the chart is a picture of it.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Bar is one bar: its label on the axis, and its value, or a mark (such
// as "<10") where the value is withheld.
type Bar struct {
	Label string
	Value float64
	Mark  string // when not empty, no bar is drawn and the mark is written instead
}

// Bars is a bar chart of one series.
type Bars struct {
	ID    string // unique on the page: the title and description are tied to it
	Title string
	Desc  string // what the chart shows, in words, for screen readers
	Unit  string // written after the axis values: "h", "%"
	Bars  []Bar
	// Format writes a value on the axis; strconv's shortest form when nil.
	Format func(float64) string
}

// Geometry, in user units; the SVG scales to its container.
const (
	left   = 56
	top    = 12
	height = 160
	bottom = 40
	step   = 28
	barW   = 18
)

// niceStep is a round axis step giving about four ticks up to max.
func niceStep(max float64) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// SVG draws the chart.
func (c *Bars) SVG() template.HTML {
	format := c.Format
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	}
	peak := 0.0
	for _, b := range c.Bars {
		if b.Mark == "" && b.Value > peak {
			peak = b.Value
		}
	}
	tick := niceStep(peak)
	axisMax := math.Max(tick, math.Ceil(peak/tick)*tick)
	width := left + step*max(len(c.Bars), 1) + 12
	total := top + height + bottom
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-labelledby="%s-title %s-desc" width="%d" height="%d" viewBox="0 0 %d %d" class="chart">`,
		esc(c.ID), esc(c.ID), width, total, width, total)
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
	y := func(v float64) float64 { return top + height - v/axisMax*height }
	for v := 0.0; v <= axisMax+tick/2; v += tick {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d9dde3"/>`, left, width-8, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" dy="4" text-anchor="end" font-size="11" fill="#4a515c">%s%s</text>`,
			left-6, y(v), esc(format(v)), esc(c.Unit))
	}
	for i, bar := range c.Bars {
		x := left + i*step + (step-barW)/2
		cx := x + barW/2
		if bar.Mark != "" {
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-size="10" fill="#4a515c">%s</text>`, cx, top+height-4, esc(bar.Mark))
		} else {
			h := bar.Value / axisMax * height
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#1d4f91"/>`, x, top+height-h, barW, h)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="10" fill="#4a515c" transform="rotate(-45 %d %d)">%s</text>`,
			cx, top+height+14, cx, top+height+14, esc(bar.Label))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#6b7380"/>`, left, width-8, top+height, top+height)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
