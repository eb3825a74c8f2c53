package indicators

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/canopy-org/canopy/internal/disclosure"
	"github.com/canopy-org/canopy/internal/store"
)

// Marks of a withheld count, as the public reads them: a count under the
// threshold, as the law and the issue ask ("<10"); and a count withheld
// to protect one, which may be of any size.
var (
	MarkSmall  = disclosure.SmallMark(disclosure.DefaultThreshold)
	MarkHidden = disclosure.Mark
)

// Outcomes a member of an indicator's population reaches, the second
// dimension of each published table, so that members and reached (and
// the takedown windows) are protected together: publishing them apart
// would let a reader subtract one from the other.
var (
	outcomesReached   = []string{"reached", "not_reached"}
	outcomesTakedown  = []string{"within_24h", "within_72h", "later", "not_removed"}
	outcomesWellBeing = []string{"improved", "not_improved"}
)

// Months lists the months from from to to, inclusive.
func Months(from, to string) ([]string, error) {
	start, err := time.Parse("2006-01", from)
	if err != nil {
		return nil, fmt.Errorf("indicators: month %q: %w", from, err)
	}
	end, err := time.Parse("2006-01", to)
	if err != nil {
		return nil, fmt.Errorf("indicators: month %q: %w", to, err)
	}
	var out []string
	for m := start; !m.After(end); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
		if len(out) > 12*10 {
			return nil, fmt.Errorf("indicators: more than ten years from %s to %s", from, to)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("indicators: %s is after %s", from, to)
	}
	return out, nil
}

// cellValue is a protected cell as a published Value, marked as the
// two-mark protection says: "<10" for a small inner cell, the hidden mark
// for the rest (a hidden total even when small: docs/disclosure.md).
func cellValue(p *disclosure.Protected, index ...int) Value {
	if n, ok := p.Value(index...); ok {
		return Value{N: n}
	}
	return Value{Mark: p.Show(index...)}
}

// sum adds published values; any withheld makes the sum withheld.
func sum(vs ...Value) Value {
	var out Value
	for _, v := range vs {
		if !v.Shown() {
			return Value{Mark: MarkHidden}
		}
		out.N += v.N
	}
	return out
}

// monthly is one indicator's figures by month, before protection: the
// counts of each outcome, and the durations' percentiles.
type monthly struct {
	indicator string
	outcomes  []string
	counts    map[string][]int64 // month -> count per outcome
	median    map[string]time.Duration
	p90       map[string]time.Duration
	change    map[string]float64 // well-being: mean change
}

// Publish builds the node's publication over months [from, to]: every
// indicator by month, each protected by disclosure control at the
// threshold the "<10" mark names (disclosure.DefaultThreshold)
// (members and outcomes together), with durations only where the counts
// they derive from are shown. The transparency page, the yearly report
// and the figures shared with peers are all this.
func Publish(ctx context.Context, db *store.DB, node string, jurisdictions []string, from, to string, now time.Time) (*Publication, error) {
	months, err := Months(from, to)
	if err != nil {
		return nil, err
	}
	rolled, err := Dashboard(ctx, db, DimAll, DimAll, from, to)
	if err != nil {
		return nil, err
	}
	support, err := Support(ctx, db, "", from, to, now)
	if err != nil {
		return nil, err
	}
	var all []monthly
	for _, s := range rolled {
		m := monthly{indicator: s.Indicator, outcomes: outcomesReached, counts: map[string][]int64{},
			median: map[string]time.Duration{}, p90: map[string]time.Duration{}}
		if s.Indicator == Takedown {
			m.outcomes = outcomesTakedown
		}
		for _, f := range s.Months {
			if m.outcomes[0] == "within_24h" {
				m.counts[f.Month] = []int64{f.Within24, f.Within72 - f.Within24, f.Reached - f.Within72, f.Members - f.Reached}
			} else {
				m.counts[f.Month] = []int64{f.Reached, f.Members - f.Reached}
			}
			m.median[f.Month], m.p90[f.Month] = f.Median, f.P90
		}
		all = append(all, m)
	}
	for _, s := range support {
		m := monthly{indicator: s.Indicator, outcomes: outcomesReached, counts: map[string][]int64{},
			median: map[string]time.Duration{}, p90: map[string]time.Duration{}, change: map[string]float64{}}
		if s.Indicator == WellBeing {
			m.outcomes = outcomesWellBeing
		}
		for _, f := range s.Months {
			if s.Indicator == WellBeing {
				m.counts[f.Month] = []int64{f.Improved, f.Members - f.Improved}
				m.change[f.Month] = f.MeanChange()
			} else {
				m.counts[f.Month] = []int64{f.Reached, f.Members - f.Reached}
				m.median[f.Month], m.p90[f.Month] = f.Median, f.P90
			}
		}
		all = append(all, m)
	}
	pub := &Publication{Definitions: Definitions, Node: node, Jurisdictions: jurisdictions,
		Generated: now.UTC().Format(time.RFC3339), From: from, To: to}
	for _, m := range all {
		t, err := disclosure.NewTable(disclosure.Dimension{Name: "month", Labels: months},
			disclosure.Dimension{Name: "outcome", Labels: m.outcomes})
		if err != nil {
			return nil, err
		}
		for i, month := range months {
			for j, n := range m.counts[month] {
				if n < 0 {
					n = 0 // a histogram's 5% at the 24 h and 72 h edges; never a real count
				}
				if err := t.Set(n, i, j); err != nil {
					return nil, err
				}
			}
		}
		p, err := t.ProtectMarks(disclosure.DefaultThreshold, disclosure.TwoMarks)
		if err != nil {
			return nil, fmt.Errorf("indicators: protect %s: %w", m.indicator, err)
		}
		for i, month := range months {
			row := Row{Indicator: m.indicator, Month: month, Members: cellValue(p, i, disclosure.Total)}
			switch {
			case m.indicator == Takedown:
				w24, w72, later := cellValue(p, i, 0), cellValue(p, i, 1), cellValue(p, i, 2)
				row.Reached = sum(w24, w72, later)
				in72 := sum(w24, w72)
				row.Within24, row.Within72 = &w24, &in72
			default:
				row.Reached = cellValue(p, i, 0)
			}
			if m.indicator == WellBeing {
				if p.ShowDerived(i, disclosure.Total) {
					c := m.change[month]
					row.MeanChange = &c
				}
			} else if derivable(p, m, i) {
				med, p90 := int64(m.median[month]/time.Second), int64(m.p90[month]/time.Second)
				row.MedianSeconds, row.P90Seconds = &med, &p90
			}
			pub.Rows = append(pub.Rows, row)
		}
	}
	return pub, nil
}

// derivable reports whether a month's durations may be shown: they come
// from the members that reached the stop event, so that count must be
// shown and at least the threshold.
func derivable(p *disclosure.Protected, m monthly, i int) bool {
	if m.indicator == Takedown {
		// The reached count is a sum of three cells: each must be shown,
		// and the sum at least the threshold.
		var n int64
		for j := range 3 {
			v, ok := p.Value(i, j)
			if !ok {
				return false
			}
			n += v
		}
		return n >= p.Threshold()
	}
	return p.ShowDerived(i, 0)
}

// Format writes a duration in seconds for people: minutes, hours or days.
func Format(seconds int64) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 72*time.Hour:
		return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
	}
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " d"
}
