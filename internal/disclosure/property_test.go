package disclosure

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomTable draws a small table: one to three dimensions, up to 6×6
// or 4×4×3, dimensions of a single label included, with counts from a
// mix of zeros, small counts, counts near the threshold and large ones
// whose proportions change from table to table, so that some tables are
// almost all small and others almost all large.
func randomTable(tb testing.TB, rng *rand.Rand) (*Table, int64) {
	var sizes []int
	switch r := rng.IntN(20); {
	case r < 3:
		sizes = []int{1 + rng.IntN(6)}
	case r < 12:
		sizes = []int{1 + rng.IntN(6), 1 + rng.IntN(6)}
	default:
		sizes = []int{1 + rng.IntN(4), 1 + rng.IntN(4), 1 + rng.IntN(3)}
	}
	threshold := int64(DefaultThreshold)
	switch rng.IntN(8) {
	case 0:
		threshold = 1 + int64(rng.IntN(4))
	case 1:
		threshold = 5 + int64(rng.IntN(20))
	}
	inner := 1
	for _, n := range sizes {
		inner *= n
	}
	// Weights of zero, small (1..t−1), near (t..2t) and large (up to 20t).
	w := [4]int{rng.IntN(4), 1 + rng.IntN(6), rng.IntN(4), rng.IntN(4)}
	counts := make([]int64, inner)
	for i := range counts {
		r := rng.IntN(w[0] + w[1] + w[2] + w[3])
		switch {
		case r < w[0]:
		case r < w[0]+w[1]:
			counts[i] = 1 + rng.Int64N(max(threshold-1, 1))
		case r < w[0]+w[1]+w[2]:
			counts[i] = threshold + rng.Int64N(threshold+1)
		default:
			counts[i] = threshold + rng.Int64N(20*threshold)
		}
	}
	return mustTable(tb, sizes, counts...), threshold
}

// checkProtected checks the invariants every protected table must meet,
// the exact audit for its marks among them.
func checkProtected(t *testing.T, tb *Table, p *Protected) {
	t.Helper()
	th := p.Threshold()
	for f, v := range tb.counts {
		s := p.status[f]
		if v > 0 && v < th && s != Primary {
			t.Fatalf("%v: count %d below %d is %s", tb.index(f), v, th, s)
		}
		if v == 0 && s != Published {
			t.Fatalf("%v: zero is %s", tb.index(f), s)
		}
		if s == Primary && (v == 0 || v >= th) {
			t.Fatalf("%v: count %d is primary", tb.index(f), v)
		}
	}
	if lone := p.loneLines(); len(lone) > 0 {
		t.Fatalf("lines with one hidden cell: %v", lone)
	}
	ivs, err := Audit(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, iv := range ivs {
		if err := iv.Check(p.Marks(), th); err != nil {
			t.Fatalf("%s marks: %v", p.Marks(), err)
		}
		// The criterion again, spelt out apart from the code under test.
		if p.Marks() == TwoMarks {
			// Inner small cells show "<threshold"; hidden margins only
			// the plain mark.
			if iv.Status == Primary && (iv.Hi-iv.Lo < 2 || iv.Lo < 1 ||
				!slices.Contains(iv.Index, Total) && iv.Hi > th-1) {
				t.Fatalf("%v (primary %d): a reader of two marks gets [%d, %d], threshold %d", iv.Index, iv.Count, iv.Lo, iv.Hi, th)
			}
			continue
		}
		if iv.Unbounded {
			continue
		}
		if iv.Hi-iv.Lo < 2 || iv.Lo > iv.Count || iv.Hi < iv.Count {
			t.Fatalf("%v (%s %d): [%d, %d]", iv.Index, iv.Status, iv.Count, iv.Lo, iv.Hi)
		}
		if iv.Status == Primary && (iv.Hi < th || iv.Hi < iv.Count+2) {
			t.Fatalf("%v (primary %d): a reader bounds it by %d, threshold %d", iv.Index, iv.Count, iv.Hi, th)
		}
	}
}

// TestProtectProperty protects thousands of random small tables for
// each marks (the seed is fixed, so a failure reproduces) and audits each
// exactly. Under one mark no hidden cell is recovered or narrowed to
// fewer than three values and no primary cell can be shown to be under
// the threshold; under two marks (threshold 4 or more), where the mark
// itself says a cell is under the threshold, no primary cell is narrowed
// to fewer than three values. Protecting the same table twice gives the
// same result, to the byte.
func TestProtectProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 10))
	runs := 3000
	if testing.Short() {
		runs = 300
	}
	var cells, primary [2]int
	var secondary [2]int
	for run := range runs {
		tb, th := randomTable(t, rng)
		for _, m := range []Marks{OneMark, TwoMarks} {
			if m == TwoMarks && th < 4 {
				continue
			}
			p, err := tb.ProtectMarks(th, m)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("", func(t *testing.T) {
				defer func() {
					if t.Failed() {
						t.Logf("run %d, %s marks: sizes %v threshold %d counts %v", run, m, tb.size, th, tb.counts)
					}
				}()
				checkProtected(t, tb, p)
				q, _ := tb.ProtectMarks(th, m)
				if !p.Equal(q) {
					t.Fatal("two protections of one table differ")
				}
				var a, b bytes.Buffer
				p.WriteJSON(&a)
				q.WriteJSON(&b)
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Fatal("two protections of one table encode differently")
				}
			})
			pr, se := p.Suppressed()
			cells[m], primary[m], secondary[m] = cells[m]+p.Cells(), primary[m]+pr, secondary[m]+se
		}
	}
	for _, m := range []Marks{OneMark, TwoMarks} {
		t.Logf("%s marks: %d cells: %d primary, %d secondary", m, cells[m], primary[m], secondary[m])
	}
}
