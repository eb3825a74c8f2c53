package disclosure

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
)

// Method names the suppression rules this package applies. It goes out
// with every encoded table so that two nodes whose patterns differ can
// tell a difference of figures from a difference of rules. Sent on the
// wire: a change to the rules gets a new name, never a reused one.
const Method = "canopy-hypercube-1"

// Status says whether a cell is published, and if not, why.
type Status uint8

const (
	// Published cells are shown as they are: zero, or at least the
	// threshold.
	Published Status = iota
	// Primary cells hold a count from 1 to threshold−1.
	Primary
	// Secondary cells are hidden so that a primary cell cannot be worked
	// out from the others.
	Secondary
)

func (s Status) String() string {
	switch s {
	case Published:
		return "published"
	case Primary:
		return "primary"
	case Secondary:
		return "secondary"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Marks is how a publication shows hidden cells, and so what its reader
// knows about them besides the published figures. A table is protected
// for one convention (ProtectMarks), which its page and its CSV and JSON
// then all follow; the criterion differs (see Interval.Check).
//
// Protecting for one mark and showing two would hand the reader bounds
// the protection did not allow for; the other way round is safe but
// hides more than needed. Sent on the wire: append only.
type Marks uint8

const (
	// OneMark shows every hidden cell with the same Mark. Zeros are
	// always published, so the reader knows a hidden cell is at least 1,
	// and nothing more: not which hidden cells are small. It protects
	// more, and hides more, than TwoMarks.
	OneMark Marks = iota
	// TwoMarks shows inner primary cells as SmallMark ("<10"), as the
	// issue asks of the public pages, and every other hidden cell as
	// Mark: the reader knows each inner primary cell to be 1 to
	// threshold−1, every other hidden inner cell to be at least the
	// threshold, and a hidden margin to be at least 1. This is what the
	// public pages use (Protect). Hidden margins
	// never show "<10": a small total over k hidden cells, each at least
	// 1, would pin them all when k is close to the threshold (nine cells
	// under a total "<10" are all 1). It needs a threshold of at least 4,
	// for "<3" alone leaves a small count only two possible values.
	TwoMarks
)

func (m Marks) String() string {
	if m == TwoMarks {
		return "two"
	}
	return "one"
}

// Protected is a table with its suppression decided, for one Marks. It
// is immutable.
//
// Publish it through Show, WriteCSV or WriteJSON, which follow its
// marks, or through Value. A page that renders hidden cells itself from
// Status must follow the same rules: under TwoMarks only inner primary
// cells show "<10", and a hidden margin shows Mark even when small.
type Protected struct {
	t         *Table
	threshold int64
	marks     Marks
	status    []Status
}

// MaxThreshold is the largest threshold Protect takes.
const MaxThreshold = 1 << 16

// Protect protects t for publication with TwoMarks, the public pages'
// convention: ProtectMarks(threshold, TwoMarks).
func (t *Table) Protect(threshold int64) (*Protected, error) {
	return t.ProtectMarks(threshold, TwoMarks)
}

// ProtectMarks decides which cells of t to hide so that no count from 1
// to threshold−1 can be read or worked out from the rest by a reader of
// marks m, and returns the result; t itself is not changed. Use
// DefaultThreshold unless a publication has agreed another; TwoMarks
// needs at least 4.
//
// Zeros are always published and never hidden: a zero says that no
// report exists, which identifies no one, and hiding some zeros but not
// others would only tell the reader that every hidden cell is non-zero
// anyway.
//
// Every cell of 1 to threshold−1, margins included, is suppressed
// (primary suppression). Then each primary cell p with count v, smallest
// counts first, is protected by hiding hypercubes through it: 2^n cells,
// one pair of positions per dimension (two labels, or a label and the
// margin), whose counts a reader could shift together, by the same
// amount with alternating signs, without changing any published figure.
// Each shifted table is a witness of what the reader cannot exclude;
// what is sought depends on the marks (docs/disclosure.md has the
// details):
//
//   - OneMark, a reader who sees one mark for every hidden cell: a chain of
//     cubes, each the cheapest per unit of shift (counts newly hidden
//     over the shift it allows), shifted by as much as keeps every hidden
//     cell at least 1 and by no less than 2, until p has risen by
//     max(threshold−v, 2). The reader cannot exclude p being at least
//     the threshold, nor tell it is small at all.
//   - TwoMarks, a reader who is told which hidden inner cells are small
//     (a page showing "<10"): a chain of cubes along which p
//     moves by 2, up or down, whichever hides less, while every small
//     inner cell stays within 1 to threshold−1, every other hidden inner
//     cell at least the threshold and every hidden margin at least 1.
//     The reader cannot narrow p to fewer than three values.
//
// A cube already hidden costs nothing, so later cells often reuse
// earlier ones. Each line of the table (each set of cells summing to a
// published margin) ends with no hidden cell or at least two.
func (t *Table) ProtectMarks(threshold int64, m Marks) (*Protected, error) {
	switch {
	case m != OneMark && m != TwoMarks:
		return nil, fmt.Errorf("disclosure: marks %d: %w", m, ErrInvalid)
	case threshold < 1 || threshold > MaxThreshold:
		return nil, fmt.Errorf("disclosure: threshold %d, want 1 to %d: %w", threshold, MaxThreshold, ErrInvalid)
	case m == TwoMarks && threshold < 4:
		return nil, fmt.Errorf("disclosure: threshold %d: two marks need at least 4, as %q alone leaves a small count two values: %w", threshold, SmallMark(threshold), ErrInvalid)
	}
	p := &Protected{t: t.clone(), threshold: threshold, marks: m}
	p.status = make([]Status, len(p.t.counts))
	var primary []int
	for f, v := range p.t.counts {
		if v > 0 && v < threshold {
			p.status[f] = Primary
			primary = append(primary, f)
		}
	}
	// The smallest counts need the most room, so they choose first; the
	// larger ones then often find cubes already hidden. Ties go by
	// position, so the order, and hence the result, is fixed.
	slices.SortFunc(primary, func(a, b int) int {
		return cmp.Or(cmp.Compare(p.t.counts[a], p.t.counts[b]), cmp.Compare(a, b))
	})
	s := searcher{p: p, y: slices.Clone(p.t.counts)}
	for _, f := range primary {
		s.start(f)
		if m == OneMark {
			s.rise()
		} else {
			s.witness()
		}
	}
	return p, nil
}

// room returns how far a primary cell with count v must be able to rise
// for a reader of one mark: to the threshold, and by at least 2 so that
// the reader is left with three values or more even for v = threshold−1.
func room(v, threshold int64) int64 {
	return max(threshold-v, 2)
}

// searcher finds, for one primary cell, the cubes that protect it.
type searcher struct {
	p *Protected
	// y is the table shifted along the cubes chosen so far for the
	// current cell by rise; touched lists the cells where it differs
	// from the counts, to restore them.
	y       []int64
	touched []int

	// For the cell being protected:
	f        int
	n        int
	partners [MaxDims][]partner

	// For the search under way:
	twoMarks bool  // look for a witness for a reader of two marks
	want     int64 // the shift sought: what is left (for rise, at least 2)
	down     bool  // p moves down rather than up
	pick     [MaxDims]partner
	best     choice
	bestPick [MaxDims]partner
	found    bool
	done     bool
}

// partner is the second position of a cube along one dimension: its
// offset from p in the flat layout, and whether it has the sign opposite
// p's (a second label) or the same (the margin, or a label when p is
// the margin).
type partner struct {
	delta int
	minus bool
}

// choice is a cube's price: the counts it would newly hide, how many
// cells that is, and the shift it allows.
type choice struct {
	cost  int64
	cells int
	step  int64
}

// better reports whether c is preferred to d: a lower cost per unit of
// shift, then a longer shift, then fewer new cells. Products are
// compared in 128 bits.
func (c choice) better(d choice) bool {
	if r := cmpRatio(c.cost, c.step, d.cost, d.step); r != 0 {
		return r < 0
	}
	if c.step != d.step {
		return c.step > d.step
	}
	return c.cells < d.cells
}

// cmpRatio compares a/b with c/d for non-negative a, c and positive b, d.
func cmpRatio(a, b, c, d int64) int {
	h1, l1 := bits.Mul64(uint64(a), uint64(d))
	h2, l2 := bits.Mul64(uint64(c), uint64(b))
	return cmp.Or(cmp.Compare(h1, h2), cmp.Compare(l1, l2))
}

// start lists the cube partners of primary cell f along each dimension.
func (s *searcher) start(f int) {
	t := s.p.t
	s.f, s.n = f, len(t.size)
	var c [MaxDims]int
	t.coords(f, &c)
	for k := range s.n {
		s.partners[k] = s.partners[k][:0]
		if c[k] == t.size[k] {
			// p is the margin along k: the pair is a label and the
			// margin, both moving with p.
			for i := range t.size[k] {
				s.partners[k] = append(s.partners[k], partner{delta: (i - c[k]) * t.stride[k]})
			}
			continue
		}
		for i := range t.size[k] {
			if i != c[k] {
				s.partners[k] = append(s.partners[k], partner{delta: (i - c[k]) * t.stride[k], minus: true})
			}
		}
		s.partners[k] = append(s.partners[k], partner{delta: (t.size[k] - c[k]) * t.stride[k]})
	}
}

// search finds the best cube for the current mode and shift, leaving it
// in s.bestPick; it reports whether there is one.
func (s *searcher) search() bool {
	s.found, s.done = false, false
	s.walk(0, choice{step: s.want})
	return s.found
}

// hide hides the corners of the chosen cube, shifts s.y along it by its
// step (p's way, or the other way if s.down), and returns the corners
// it newly hid and their counts' sum.
func (s *searcher) hide(newly []int) ([]int, int64) {
	t := s.p.t
	step := s.best.step
	if s.down {
		step = -step
	}
	var cost int64
	for m := range 1 << s.n {
		g, minus := s.f, false
		for j := range s.n {
			if m&(1<<j) != 0 {
				g += s.bestPick[j].delta
				minus = minus != s.bestPick[j].minus
			}
		}
		if s.p.status[g] == Published {
			s.p.status[g] = Secondary
			newly = append(newly, g)
			cost += t.counts[g]
		}
		if s.y[g] == t.counts[g] {
			s.touched = append(s.touched, g)
		}
		if minus {
			s.y[g] -= step
		} else {
			s.y[g] += step
		}
	}
	return newly, cost
}

// restore undoes the shifts of s.y.
func (s *searcher) restore() {
	for _, g := range s.touched {
		s.y[g] = s.p.t.counts[g]
	}
	s.touched = s.touched[:0]
}

// rise gives the current cell room to rise by room(v, threshold) for a
// reader of one mark, along a chain of cubes.
func (s *searcher) rise() {
	s.twoMarks, s.down = false, false
	for left := room(s.p.t.counts[s.f], s.p.threshold); left > 0; {
		s.want = max(left, 2)
		if !s.search() {
			// Cannot happen: the cube pairing p with the margin in every
			// dimension has only cells of p's sign, each at least p's
			// count, so it allows any shift.
			panic("disclosure: no cube gives room")
		}
		s.hide(nil)
		left -= s.best.step
	}
	s.restore()
}

// witness moves the current cell by 2 for a reader told which hidden
// inner cells are small: along a chain of cubes, every table on the way
// keeping what the marks say true (see TwoMarks). Both directions are
// tried, where both fit, and the one that hides less is kept. Where
// neither allows 2 (a 2 under threshold 4) it moves the cell by 1 each
// way instead, as far as that goes.
func (s *searcher) witness() {
	v, th := s.p.t.counts[s.f], s.p.threshold
	s.twoMarks = true
	// A hidden margin shows no more than Mark, so it may rise freely.
	ceiling := th - 1
	if s.p.t.margin[s.f] {
		ceiling = v + 2
	}
	var runs [2]*chain
	for i, down := range []bool{false, true} {
		if down && v-2 >= 1 || !down && v+2 <= ceiling {
			runs[i] = s.chain(down, 2)
		}
	}
	keep := runs[0]
	if keep == nil || !keep.ok || runs[1] != nil && runs[1].ok && runs[1].cost < keep.cost {
		keep = runs[1]
	}
	if keep != nil && keep.ok {
		s.apply(keep)
		return
	}
	for _, down := range []bool{false, true} {
		if down && v-1 >= 1 || !down && v+1 <= ceiling {
			if c := s.chain(down, 1); c.ok {
				s.apply(c)
			}
		}
	}
}

// chain is a run of cubes for witness: each cube's partners and step,
// the direction, and what the run would newly hide.
type chain struct {
	down  bool
	cubes []cube
	cost  int64
	ok    bool
}

type cube struct {
	pick [MaxDims]partner
	step int64
}

// chain finds cubes moving the current cell by total, down or up, for a
// reader of two marks, without changing the suppression: what it hides
// along the way it puts back.
func (s *searcher) chain(down bool, total int64) *chain {
	c := &chain{down: down}
	var newly []int
	left := total
	for left > 0 {
		s.want, s.down = left, down
		if !s.search() {
			break
		}
		var cost int64
		newly, cost = s.hide(newly)
		c.cost += cost
		c.cubes = append(c.cubes, cube{s.bestPick, s.best.step})
		left -= s.best.step
	}
	c.ok = left <= 0
	s.restore()
	for _, g := range newly {
		s.p.status[g] = Published
	}
	return c
}

// apply hides the cubes of a chain.
func (s *searcher) apply(c *chain) {
	s.down = c.down
	for _, q := range c.cubes {
		s.bestPick, s.best.step = q.pick, q.step
		s.hide(nil)
	}
	s.restore()
}

// walk chooses the partner along dimension k, having chosen those before
// it. The corners a choice settles are those that take the partner along
// k and p's own position along every later dimension; they are checked,
// and their price added, as soon as they are known, and a branch is left
// as soon as it cannot win: prices only grow and shifts only shrink
// further down.
func (s *searcher) walk(k int, sofar choice) {
	if k == s.n {
		if !s.found || sofar.better(s.best) {
			s.best, s.bestPick, s.found = sofar, s.pick, true
			s.done = sofar.cost == 0 && sofar.step == s.want
		}
		return
	}
	status, th, margin := s.p.status, s.p.threshold, s.p.t.margin
next:
	for _, q := range s.partners[k] {
		c := sofar
		// Corners with the partner along k, and along each subset of the
		// earlier dimensions.
		for m := range 1 << k {
			g := s.f + q.delta
			minus := q.minus
			for j := range k {
				if m&(1<<j) != 0 {
					g += s.pick[j].delta
					minus = minus != s.pick[j].minus
				}
			}
			if s.twoMarks {
				// The corner moves with p if plus, against it if minus;
				// it must stay where the marks say it is, which caps
				// the step.
				v := s.y[g]
				if v < 1 {
					continue next
				}
				var room int64
				switch up := minus == s.down; {
				case margin[g] && up:
					room = c.step
				case margin[g]:
					room = v - 1
				case status[g] == Primary && up:
					room = th - 1 - v
				case status[g] == Primary:
					room = v - 1
				case up:
					room = c.step
				default:
					room = v - th
				}
				if room < 1 {
					continue next
				}
				c.step = min(c.step, room)
				if status[g] == Published {
					c.cost += v
					c.cells++
				}
				continue
			}
			v := s.y[g]
			if v < 1 {
				continue next
			}
			if minus {
				// Shifting by the step must leave the cell at least 1,
				// and a step under 2 would not do.
				if v-1 < 2 {
					continue next
				}
				c.step = min(c.step, v-1)
			}
			if status[g] == Published {
				c.cost += v
				c.cells++
			}
		}
		if s.found && cmpRatio(c.cost, c.step, s.best.cost, s.best.step) > 0 {
			continue
		}
		s.pick[k] = q
		s.walk(k+1, c)
		if s.done {
			return
		}
	}
}

// Threshold returns the threshold the table was protected with.
func (p *Protected) Threshold() int64 { return p.threshold }

// Marks returns the marks the table was protected for.
func (p *Protected) Marks() Marks { return p.marks }

// Dims returns the table's dimensions (a copy).
func (p *Protected) Dims() []Dimension { return p.t.Dims() }

// Status returns whether a cell, inner or margin, is published. It
// panics if index does not address a cell.
func (p *Protected) Status(index ...int) Status {
	return p.status[p.t.mustFlat(index)]
}

// Value returns a cell's count and true when it is published, and 0 and
// false when it is suppressed.
func (p *Protected) Value(index ...int) (int64, bool) {
	f := p.t.mustFlat(index)
	if p.status[f] != Published {
		return 0, false
	}
	return p.t.counts[f], true
}

// ShowDerived reports whether a value derived from a cell's members (a
// median latency, a percentile, a share) may be published for that cell,
// inner or margin: only where the cell's own count is published and at
// least the threshold. A zero cell has no members, so nothing to derive.
//
// The value itself must not be additive over cells (a sum or a mean of
// durations is; a median or a percentile is not): additive values can be
// subtracted along a line just like counts. See docs/disclosure.md.
func (p *Protected) ShowDerived(index ...int) bool {
	f := p.t.mustFlat(index)
	return p.status[f] == Published && p.t.counts[f] >= p.threshold
}

// Suppressed returns how many cells, margins included, are hidden as
// primary and as secondary cells.
func (p *Protected) Suppressed() (primary, secondary int) {
	for _, s := range p.status {
		switch s {
		case Primary:
			primary++
		case Secondary:
			secondary++
		}
	}
	return primary, secondary
}

// Cells returns how many cells the table has, margins included.
func (p *Protected) Cells() int { return len(p.status) }

// Equal reports whether p and q hide the same cells of tables with the
// same dimensions, labels, threshold and marks: what two nodes compare
// when they protect the same figures.
func (p *Protected) Equal(q *Protected) bool {
	if p.threshold != q.threshold || p.marks != q.marks || len(p.t.dims) != len(q.t.dims) {
		return false
	}
	for k := range p.t.dims {
		if p.t.dims[k].Name != q.t.dims[k].Name || !slices.Equal(p.t.dims[k].Labels, q.t.dims[k].Labels) {
			return false
		}
	}
	for f := range p.status {
		if p.status[f] != q.status[f] && (p.status[f] == Published || q.status[f] == Published || p.marks == TwoMarks) {
			return false
		}
	}
	return true
}

// loneLines returns the lines (sets of cells summing to a margin, the
// margin included) that hold exactly one hidden cell: a reader gets that
// cell by subtraction. Protect never leaves one; tests check.
func (p *Protected) loneLines() [][]int {
	var out [][]int
	p.t.lines(func(cells []int) {
		n := 0
		for _, g := range cells {
			if p.status[g] != Published {
				n++
			}
		}
		if n == 1 {
			out = append(out, slices.Clone(cells))
		}
	})
	return out
}
