package disclosure

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// realistic returns a year of reports as a hotline's yearly report would
// tabulate them: 12 months × 9 categories × 30 jurisdictions, about
// reports in all. Jurisdictions follow a Zipf law (the hotline's own
// country and a few neighbours hold most reports, a long tail holds a
// handful each), categories a steeper one, months a mild seasonality;
// each cell is a Poisson draw around its expected count.
func realistic(tb testing.TB, reports float64, seed uint64) *Table {
	rng := rand.New(rand.NewPCG(seed, 42))
	dims := []Dimension{{Name: "month"}, {Name: "category"}, {Name: "jurisdiction"}}
	for m := range 12 {
		dims[0].Labels = append(dims[0].Labels, fmt.Sprintf("2025-%02d", m+1))
	}
	for c := range 9 {
		dims[1].Labels = append(dims[1].Labels, fmt.Sprintf("c%d", c+1))
	}
	for j := range 30 {
		dims[2].Labels = append(dims[2].Labels, fmt.Sprintf("j%02d", j+1))
	}
	t, err := NewTable(dims...)
	if err != nil {
		tb.Fatal(err)
	}
	share := func(n int, s float64) []float64 {
		w := make([]float64, n)
		var sum float64
		for i := range w {
			w[i] = 1 / math.Pow(float64(i+1), s)
			sum += w[i]
		}
		for i := range w {
			w[i] /= sum
		}
		return w
	}
	months := make([]float64, 12)
	for m := range months {
		months[m] = (1 + 0.2*math.Sin(float64(m)/12*2*math.Pi)) / 12
	}
	cats, jurs := share(9, 1.5), share(30, 1.2)
	for m := range 12 {
		for c := range 9 {
			for j := range 30 {
				if err := t.Set(poisson(rng, reports*months[m]*cats[c]*jurs[j]), m, c, j); err != nil {
					tb.Fatal(err)
				}
			}
		}
	}
	return t
}

// poisson draws from a Poisson law: by Knuth's product of uniforms when
// the mean is small, by a rounded normal when it is large.
func poisson(rng *rand.Rand, mean float64) int64 {
	if mean > 50 {
		return max(0, int64(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), int64(0), 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// BenchmarkProtect protects a realistic yearly table. Reported besides
// the time: the share of the table's 4030 cells (margins included) that
// are hidden as primary and as secondary cells.
func BenchmarkProtect(b *testing.B) {
	for _, m := range []Marks{TwoMarks, OneMark} {
		for _, reports := range []float64{3_000, 30_000, 300_000} {
			b.Run(fmt.Sprintf("%s-mark/12x9x30/%d-reports", m, int(reports)), func(b *testing.B) {
				t := realistic(b, reports, 1)
				var p *Protected
				for b.Loop() {
					var err error
					if p, err = t.ProtectMarks(DefaultThreshold, m); err != nil {
						b.Fatal(err)
					}
				}
				pr, se := p.Suppressed()
				b.ReportMetric(float64(pr)/float64(p.Cells())*100, "%primary")
				b.ReportMetric(float64(se)/float64(p.Cells())*100, "%secondary")
			})
		}
	}
}

// TestRealisticInvariants checks the cheap invariants on the realistic
// tables, too large for the exact audit: every small count hidden, no
// zero hidden, no line with a single hidden cell; and that a table with
// enough reports keeps its grand total. (At 3,000 reports a year, about
// one per cell, a lone report in a sparse jurisdiction cannot be
// protected without hiding a total at that level: docs/disclosure.md.)
func TestRealisticInvariants(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		m       Marks
		reports float64
	}{{TwoMarks, 3_000}, {TwoMarks, 30_000}, {TwoMarks, 300_000}, {OneMark, 3_000}, {OneMark, 30_000}, {OneMark, 300_000}} {
		reports := c.reports
		tb := realistic(t, reports, 2)
		p, err := tb.ProtectMarks(DefaultThreshold, c.m)
		if err != nil {
			t.Fatal(err)
		}
		for f, v := range tb.counts {
			if v > 0 && v < DefaultThreshold && p.status[f] != Primary || v == 0 && p.status[f] != Published {
				t.Fatalf("%v: count %d is %s", tb.index(f), v, p.status[f])
			}
		}
		if lone := p.loneLines(); len(lone) > 0 {
			t.Fatalf("%d lines with one hidden cell", len(lone))
		}
		if got := p.Status(Total, Total, Total); got != Published && reports >= 30_000 {
			t.Errorf("%s mark(s), %.0f reports: grand total %s", c.m, reports, got)
		}
		pr, se := p.Suppressed()
		t.Logf("%s mark(s), %.0f reports: %d cells, %d primary, %d secondary", c.m, reports, p.Cells(), pr, se)
	}
}
