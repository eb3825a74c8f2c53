package disclosure

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// hide returns t protected by hand for marks m: exactly the given cells
// (flat positions) hidden, none of them zero. It lets the audit be tested
// on patterns Protect would never produce, disclosive ones included.
func hide(t *Table, threshold int64, m Marks, cells ...int) *Protected {
	p := &Protected{t: t.clone(), threshold: threshold, marks: m, status: make([]Status, len(t.counts))}
	for _, f := range cells {
		p.status[f] = Secondary
		if v := t.counts[f]; v > 0 && v < threshold {
			p.status[f] = Primary
		}
	}
	return p
}

// mustTable builds a table from inner counts listed in row-major order.
func mustTable(tb testing.TB, sizes []int, counts ...int64) *Table {
	tb.Helper()
	dims := make([]Dimension, len(sizes))
	for k, n := range sizes {
		dims[k].Name = string(rune('a' + k))
		for i := range n {
			dims[k].Labels = append(dims[k].Labels, string(rune('A'+k))+string(rune('0'+i)))
		}
	}
	t, err := NewTable(dims...)
	if err != nil {
		tb.Fatal(err)
	}
	var idx [MaxDims]int
	for _, v := range counts {
		if err := t.Set(v, idx[:len(sizes)]...); err != nil {
			tb.Fatal(err)
		}
		for k := len(sizes) - 1; k >= 0; k-- {
			idx[k]++
			if idx[k] < sizes[k] {
				break
			}
			idx[k] = 0
		}
	}
	return t
}

// flat is the flat position of a cell index, for tests.
func (t *Table) flat(index ...int) int { return t.mustFlat(index) }

// bruteIntervals enumerates every assignment of 1..limit to the hidden
// inner cells, derives the margins, keeps the assignments that agree
// with every published cell and with what marks m say of hidden ones,
// and returns each hidden cell's smallest and largest value among them.
// It shares no code with Audit but the table layout.
func bruteIntervals(p *Protected, limit int64, m Marks) map[int][2]int64 {
	t := p.t
	var free []int
	for f, s := range p.status {
		if s != Published && isInner(t, f) {
			free = append(free, f)
		}
	}
	out := map[int][2]int64{}
	vals := make([]int64, len(free))
	for i := range vals {
		vals[i] = 1
	}
	for {
		u := t.clone()
		for i, f := range free {
			u.add(f, vals[i]-u.counts[f])
		}
		ok := true
		for f, s := range p.status {
			v := u.counts[f]
			if s == Published && v != t.counts[f] || s != Published && v < 1 ||
				m == TwoMarks && !t.margin[f] && (s == Primary && v >= p.threshold || s == Secondary && v < p.threshold) {
				ok = false
				break
			}
		}
		if ok {
			for f, s := range p.status {
				if s == Published {
					continue
				}
				r, seen := out[f]
				if !seen {
					r = [2]int64{u.counts[f], u.counts[f]}
				}
				r[0], r[1] = min(r[0], u.counts[f]), max(r[1], u.counts[f])
				out[f] = r
			}
		}
		i := 0
		for i < len(vals) && vals[i] == limit {
			vals[i] = 1
			i++
		}
		if i == len(vals) {
			return out
		}
		vals[i]++
	}
}

func isInner(t *Table, f int) bool {
	var c [MaxDims]int
	t.coords(f, &c)
	for k := range t.size {
		if c[k] == t.size[k] {
			return false
		}
	}
	return true
}

// TestAuditAgainstEnumeration checks the exact audit, for both marks,
// against plain enumeration on tiny tables with random suppression
// patterns, most of them weak: exact recoveries, narrow intervals and
// unbounded cells all occur. The threshold is 5 so that values drawn
// from 0 to 7 fall on both sides of it.
func TestAuditAgainstEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	shapes := [][]int{{3}, {2, 2}, {2, 3}, {3, 3}, {2, 2, 2}, {1, 3}, {3, 2, 2}}
	const limit = 24
	runs := 400
	if testing.Short() {
		runs = 60
	}
	for run := range runs {
		sizes := shapes[run%len(shapes)]
		inner := 1
		for _, n := range sizes {
			inner *= n
		}
		counts := make([]int64, inner)
		for i := range counts {
			counts[i] = int64(rng.IntN(8))
		}
		tb := mustTable(t, sizes, counts...)
		// Hide up to 4 inner cells (what enumeration affords) and some
		// margins over them.
		var cells []int
		for f, v := range tb.counts {
			if v == 0 {
				continue
			}
			if isInner(tb, f) && len(cells) < 4 && rng.IntN(3) == 0 || !isInner(tb, f) && rng.IntN(4) == 0 {
				cells = append(cells, f)
			}
		}
		var innerHidden int
		for _, f := range cells {
			if isInner(tb, f) {
				innerHidden++
			}
		}
		if innerHidden > 4 {
			continue
		}
		m := Marks(run % 2)
		p := hide(tb, 5, m, cells...)
		ivs, err := Audit(p)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		want := bruteIntervals(p, limit, m)
		for _, iv := range ivs {
			f := tb.mustFlat(iv.Index)
			w := want[f]
			switch {
			case iv.Unbounded:
				// Enumeration is capped; an unbounded cell must reach
				// beyond what any capped cell alone would allow.
				if w[1] < limit {
					t.Errorf("run %d (%s marks) %v %v: audit unbounded, enumeration tops at %d", run, m, sizes, iv.Index, w[1])
				}
				if iv.Lo != w[0] {
					t.Errorf("run %d (%s marks) %v %v: audit lo %d, enumeration %d", run, m, sizes, iv.Index, iv.Lo, w[0])
				}
			case iv.Hi >= limit:
				// Beyond what the enumeration can see; check the part
				// it can.
				if iv.Lo != w[0] {
					t.Errorf("run %d (%s marks) %v %v: audit lo %d, enumeration %d", run, m, sizes, iv.Index, iv.Lo, w[0])
				}
			default:
				if iv.Lo != w[0] || iv.Hi != w[1] {
					t.Errorf("run %d (%s marks) %v %v: audit [%d, %d], enumeration [%d, %d]", run, m, sizes, iv.Index, iv.Lo, iv.Hi, w[0], w[1])
				}
			}
		}
	}
}

// TestAuditKnown pins the audit on patterns whose answer is known by
// hand.
func TestAuditKnown(t *testing.T) {
	// A 4×4 table whose hidden cells leave every line with two or more
	// hidden cells, yet give one away: rows 0–1 × columns 0–1 and rows
	// 2–3 × columns 2–3 form two closed rectangles, and cell (0, 2)
	// bridges them. Row 0 then reads x00 + x01 + x02 = 60 − x03, and
	// the first rectangle's columns fix x00 + x01, so x02 falls out.
	tb := mustTable(t, []int{4, 4},
		15, 15, 3, 27,
		15, 15, 15, 15,
		15, 15, 15, 15,
		15, 15, 15, 15)
	bridge := []int{tb.flat(0, 0), tb.flat(0, 1), tb.flat(1, 0), tb.flat(1, 1),
		tb.flat(2, 2), tb.flat(2, 3), tb.flat(3, 2), tb.flat(3, 3), tb.flat(0, 2)}
	p := hide(tb, 10, OneMark, bridge...)
	if lone := p.loneLines(); len(lone) != 0 {
		t.Fatalf("setup: lone lines %v", lone)
	}
	ivs, err := Audit(p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]int][2]int64{}
	for _, iv := range ivs {
		got[[2]int{iv.Index[0], iv.Index[1]}] = [2]int64{iv.Lo, iv.Hi}
	}
	if r := got[[2]int{0, 2}]; r != [2]int64{3, 3} {
		t.Errorf("bridge cell: audit %v, want exactly [3, 3]", r)
	}
	// Its rectangle's cells only sum to 30 in pairs.
	if r := got[[2]int{0, 0}]; r != [2]int64{1, 29} {
		t.Errorf("cell (0, 0): audit %v, want [1, 29]", r)
	}
	if err := Verify(p); err == nil {
		t.Error("Verify accepted a pattern that gives the small cell (0, 2) away")
	}

	// 1D: a small cell and its total hidden: both unbounded, the total
	// at least the published cells plus 1.
	tb = mustTable(t, []int{3}, 3, 20, 30)
	p = hide(tb, 10, OneMark, tb.flat(0), tb.flat(Total))
	ivs, err = Audit(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, lo := range []int64{1, 51} {
		if iv := ivs[i]; !iv.Unbounded || iv.Lo != lo {
			t.Errorf("%v: %+v, want [%d, ∞)", iv.Index, iv, lo)
		}
	}

	// 1D: a lone hidden cell is recovered.
	p = hide(tb, 10, OneMark, tb.flat(0))
	ivs, err = Audit(p)
	if err != nil {
		t.Fatal(err)
	}
	if iv := ivs[0]; iv.Lo != 3 || iv.Hi != 3 {
		t.Errorf("lone cell: %+v, want exactly 3", iv)
	}
	if err := Verify(p); err == nil {
		t.Error("Verify accepted a recovered cell")
	}

	// Two marks: a 1 whose complements are 10s. A reader of one mark
	// puts it anywhere in [1, 10]; a reader told that the 10s are at
	// least 10 and the 1 under 10 gets it exactly, since 1 + 10 is
	// published.
	tb = mustTable(t, []int{2, 2}, 1, 10, 10, 50)
	for _, c := range []struct {
		m      Marks
		lo, hi int64
	}{{OneMark, 1, 10}, {TwoMarks, 1, 1}} {
		p = hide(tb, 10, c.m, tb.flat(0, 0), tb.flat(0, 1), tb.flat(1, 0), tb.flat(1, 1))
		ivs, err := Audit(p)
		if err != nil {
			t.Fatal(err)
		}
		if iv := ivs[0]; iv.Lo != c.lo || iv.Hi != c.hi {
			t.Errorf("%s mark(s): %+v, want [%d, %d]", c.m, iv, c.lo, c.hi)
		}
		if err := Verify(p); (err == nil) != (c.m == OneMark) {
			t.Errorf("%s mark(s): Verify: %v", c.m, err)
		}
	}

	// Two marks: nine cells of 1 under a total of 9. Were the total
	// shown "<10", the reader would know each is 1; shown as a plain
	// mark, as TwoMarks does, it leaves them free.
	tb = mustTable(t, []int{9}, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	cells := []int{tb.flat(Total)}
	for i := range 9 {
		cells = append(cells, tb.flat(i))
	}
	ivs, err = Audit(hide(tb, 10, TwoMarks, cells...))
	if err != nil {
		t.Fatal(err)
	}
	if iv := ivs[0]; iv.Lo != 1 || iv.Hi != 9 {
		t.Errorf("nine 1s under a hidden total: %+v, want [1, 9]", iv)
	}
}

// TestIntMax checks the integer optimiser against enumeration on random
// small integer programs, whose relaxations, unlike most table
// patterns', often have fractional optima: branch and bound is
// exercised there. A last row y0+…+y(n−1)+s = K bounds every problem so
// that enumeration over [0, K]^n is exact.
func TestIntMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	const bound = 7
	branched := 0
	for run := range 1500 {
		n := 2 + rng.IntN(3)
		m := 1 + rng.IntN(2)
		point := make([]int64, n)
		var sum int64
		for j := range point {
			point[j] = int64(rng.IntN(3))
			sum += point[j]
		}
		if sum > bound {
			continue
		}
		var a [][]int64
		var b []int64
		for range m {
			row := make([]int64, n+1)
			var v int64
			for j := range n {
				row[j] = int64(rng.IntN(5) - 2)
				v += row[j] * point[j]
			}
			a = append(a, row)
			b = append(b, v)
		}
		last := make([]int64, n+1)
		for j := range last {
			last[j] = 1
		}
		a = append(a, last)
		b = append(b, bound)
		c := make([]int64, n+1)
		for j := range n {
			c[j] = int64(rng.IntN(5) - 2)
		}
		root, err := feasible(a, b, n+1)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if v, ok := lpMax(root, c); ok && !v.IsInt() {
			branched++
		}
		got, ok, err := intMax(root.clone(), a, b, c)
		if err != nil || !ok {
			t.Fatalf("run %d: %d %v %v", run, got, ok, err)
		}
		// Enumerate y in [0, bound]^(n+1).
		want, seen := int64(0), false
		y := make([]int64, n+1)
		for {
			fits := true
			for i, row := range a {
				var v int64
				for j := range row {
					v += row[j] * y[j]
				}
				if v != b[i] {
					fits = false
					break
				}
			}
			if fits {
				var v int64
				for j := range c {
					v += c[j] * y[j]
				}
				if !seen || v > want {
					want, seen = v, true
				}
			}
			i := 0
			for i < len(y) && y[i] == bound {
				y[i] = 0
				i++
			}
			if i == len(y) {
				break
			}
			y[i]++
		}
		if got != want {
			t.Fatalf("run %d: A=%v b=%v c=%v: intMax %d, enumeration %d", run, a, b, c, got, want)
		}
	}
	if branched < 50 {
		t.Errorf("only %d problems needed branching; the test does not exercise branch and bound", branched)
	}
	t.Logf("%d problems needed branching", branched)
}

func TestFloor(t *testing.T) {
	for _, c := range []struct {
		num, den, want int64
	}{{7, 2, 3}, {-7, 2, -4}, {6, 3, 2}, {-6, 3, -2}, {0, 5, 0}, {-1, 3, -1}} {
		r := ratOf(c.num, c.den)
		if got := ratFloor(r); got != c.want {
			t.Errorf("floor(%d/%d) = %d, want %d", c.num, c.den, got, c.want)
		}
	}
}

// lpMax returns the continuous maximum of obj·y from root, and false if
// it is unbounded.
func lpMax(root *tableau, obj []int64) (*big.Rat, bool) {
	c := make([]big.Rat, root.cols)
	for j, v := range obj {
		c[j].SetInt64(v)
	}
	t := root.clone()
	if !t.maximise(c, t.cols) {
		return nil, false
	}
	return t.value(c), true
}

func ratOf(num, den int64) *big.Rat { return big.NewRat(num, den) }
