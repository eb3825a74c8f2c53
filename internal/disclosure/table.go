// Package disclosure protects count tables before they leave the node, on
// the public transparency pages, in the yearly report and in the
// aggregates nodes share with each other, so that no count under the
// threshold (10 by default) can be read or worked out from what is
// published.
//
// A Table holds counts over up to three dimensions (month × category ×
// jurisdiction, say) together with all its margins. Protect hides every
// count from 1 to threshold−1 (primary suppression) and then enough other
// cells (secondary, or complementary, suppression) that additions and
// subtractions over the published cells and margins cannot narrow a
// hidden count to fewer than three values. That holds for a page that
// shows small counts as "<10" (TwoMarks); ProtectMarks with OneMark
// protects a page that shows every hidden cell alike so that a small
// count cannot even be told small. Secondary cells are chosen by a
// hypercube heuristic whose every choice carries a proof of protection,
// and Audit checks the result exactly on small tables by linear
// programming over the integers. The rules, the protection criteria and
// what the caller must still take care of are in docs/disclosure.md.
//
// The package is pure: no I/O beyond the encoders' writers, no clock, no
// randomness. The same table always gives the same suppression, so nodes
// that protect the same figures agree cell for cell.
package disclosure

import (
	"errors"
	"fmt"
	"slices"
)

const (
	// DefaultThreshold is the smallest non-zero count published.
	DefaultThreshold = 10

	// MaxDims is the most dimensions a table may have.
	MaxDims = 3

	// Total stands for a dimension's margin in a cell index: (m, Total)
	// is month m's total over all categories.
	Total = -1

	// TotalLabel names a margin in the CSV encoding; no label may be
	// spelt the same.
	TotalLabel = "Total"

	// MaxCount is the largest count a cell may hold. With MaxCells it
	// keeps every margin, and every sum Protect forms, inside an int64.
	MaxCount = 1 << 40

	// MaxCells is the most inner cells (margins not counted) a table may
	// have. Protect's work grows with the square of the number of cells
	// in the worst case (every cell small); at this size that is a few
	// seconds.
	MaxCells = 1 << 14
)

// Dimension is one way a table is broken down: its name (a CSV column,
// a JSON key) and its labels, in the order the cells are laid out.
//
// The order is part of the table: it breaks ties in the choice of
// secondary cells, so nodes that must agree on a suppression have to list
// labels in the same order (the order of the codes in the taxonomy, or
// sorted).
type Dimension struct {
	Name   string
	Labels []string
}

// Table is a table of non-negative counts with up to MaxDims dimensions
// and all its margins: for two dimensions the row totals, the column
// totals and the grand total; for three, the three two-dimensional
// margins, the three one-dimensional ones and the grand total.
//
// Cells are addressed by one index per dimension, each either the
// position of a label or Total. Only inner cells (no Total) are set; the
// margins follow. The zero Table is not usable; call NewTable.
type Table struct {
	dims   []Dimension
	size   []int   // labels per dimension; index size[k] is the margin
	stride []int   // in the extended layout, where each dimension has size[k]+1 positions
	counts []int64 // extended layout: inner cells and margins
	margin []bool  // whether each position has a Total coordinate
}

// NewTable returns an all-zero table over dims. Each dimension needs a
// name and at least one label; names and labels must be unique within
// the table and dimension, non-empty, and not TotalLabel.
func NewTable(dims ...Dimension) (*Table, error) {
	if len(dims) < 1 || len(dims) > MaxDims {
		return nil, fmt.Errorf("disclosure: %d dimensions, want 1 to %d", len(dims), MaxDims)
	}
	t := &Table{
		dims:   make([]Dimension, len(dims)),
		size:   make([]int, len(dims)),
		stride: make([]int, len(dims)),
	}
	names := map[string]bool{}
	inner := 1
	for k, d := range dims {
		if d.Name == "" || names[d.Name] {
			return nil, fmt.Errorf("disclosure: dimension %d: name %q empty or repeated", k, d.Name)
		}
		names[d.Name] = true
		if len(d.Labels) == 0 {
			return nil, fmt.Errorf("disclosure: dimension %q has no labels", d.Name)
		}
		seen := map[string]bool{}
		for _, l := range d.Labels {
			if l == "" || l == TotalLabel || seen[l] {
				return nil, fmt.Errorf("disclosure: dimension %q: label %q empty, repeated or reserved", d.Name, l)
			}
			seen[l] = true
		}
		if len(d.Labels) > MaxCells || inner*len(d.Labels) > MaxCells {
			return nil, fmt.Errorf("disclosure: more than %d cells", MaxCells)
		}
		inner *= len(d.Labels)
		t.dims[k] = Dimension{Name: d.Name, Labels: slices.Clone(d.Labels)}
		t.size[k] = len(d.Labels)
	}
	n := 1
	for k := len(dims) - 1; k >= 0; k-- {
		t.stride[k] = n
		n *= t.size[k] + 1
	}
	t.counts = make([]int64, n)
	t.margin = make([]bool, n)
	var c [MaxDims]int
	for f := range t.margin {
		t.coords(f, &c)
		for k := range t.size {
			t.margin[f] = t.margin[f] || c[k] == t.size[k]
		}
	}
	return t, nil
}

// Dims returns the table's dimensions (a copy).
func (t *Table) Dims() []Dimension {
	out := make([]Dimension, len(t.dims))
	for k, d := range t.dims {
		out[k] = Dimension{Name: d.Name, Labels: slices.Clone(d.Labels)}
	}
	return out
}

// Index returns the position of label in dimension dim, or -1.
func (t *Table) Index(dim int, label string) int {
	return slices.Index(t.dims[dim].Labels, label)
}

// ErrInvalid is wrapped by the errors Set and Add return.
var ErrInvalid = errors.New("invalid")

// Set sets the count of an inner cell (no Total in index) and updates
// its margins.
func (t *Table) Set(n int64, index ...int) error {
	f, err := t.inner(index)
	if err != nil {
		return err
	}
	if n < 0 || n > MaxCount {
		return fmt.Errorf("disclosure: count %d at %v: want 0 to %d: %w", n, index, int64(MaxCount), ErrInvalid)
	}
	t.add(f, n-t.counts[f])
	return nil
}

// Add adds n (which may be negative) to an inner cell.
func (t *Table) Add(n int64, index ...int) error {
	f, err := t.inner(index)
	if err != nil {
		return err
	}
	// Both terms are within ±2^40 after the check on n, so the sum
	// cannot overflow before it is checked.
	if n < -MaxCount || n > MaxCount || t.counts[f]+n < 0 || t.counts[f]+n > MaxCount {
		return fmt.Errorf("disclosure: count %d%+d at %v: want 0 to %d: %w", t.counts[f], n, index, int64(MaxCount), ErrInvalid)
	}
	t.add(f, n)
	return nil
}

// Count returns the count of any cell, inner or margin. It panics if
// index does not address a cell, as slice indexing does.
func (t *Table) Count(index ...int) int64 {
	return t.counts[t.mustFlat(index)]
}

// add adds delta to inner cell f and to each of the 2^n margins over it.
func (t *Table) add(f int, delta int64) {
	var c [MaxDims]int
	t.coords(f, &c)
	for mask := 0; mask < 1<<len(t.size); mask++ {
		g := f
		for k := range t.size {
			if mask&(1<<k) != 0 {
				g += (t.size[k] - c[k]) * t.stride[k]
			}
		}
		t.counts[g] += delta
	}
}

// inner returns the flat position of an inner cell.
func (t *Table) inner(index []int) (int, error) {
	if len(index) != len(t.size) {
		return 0, fmt.Errorf("disclosure: index %v for %d dimensions: %w", index, len(t.size), ErrInvalid)
	}
	f := 0
	for k, i := range index {
		if i < 0 || i >= t.size[k] {
			return 0, fmt.Errorf("disclosure: index %v: dimension %q has %d labels (and only margins are Total): %w", index, t.dims[k].Name, t.size[k], ErrInvalid)
		}
		f += i * t.stride[k]
	}
	return f, nil
}

// mustFlat returns the flat position of any cell, panicking on a bad
// index.
func (t *Table) mustFlat(index []int) int {
	if len(index) != len(t.size) {
		panic(fmt.Sprintf("disclosure: index %v for %d dimensions", index, len(t.size)))
	}
	f := 0
	for k, i := range index {
		switch {
		case i == Total:
			i = t.size[k]
		case i < 0 || i >= t.size[k]:
			panic(fmt.Sprintf("disclosure: index %v out of range", index))
		}
		f += i * t.stride[k]
	}
	return f
}

// coords writes the extended coordinates of flat position f into c; a
// coordinate equal to size[k] is the margin.
func (t *Table) coords(f int, c *[MaxDims]int) {
	for k := range t.size {
		c[k] = f / t.stride[k]
		f %= t.stride[k]
	}
}

// index returns the public index (Total for margins) of flat position f.
func (t *Table) index(f int) []int {
	var c [MaxDims]int
	t.coords(f, &c)
	out := make([]int, len(t.size))
	for k := range t.size {
		out[k] = c[k]
		if c[k] == t.size[k] {
			out[k] = Total
		}
	}
	return out
}

// clone returns a deep copy, so a Protected does not change when its
// table does.
func (t *Table) clone() *Table {
	return &Table{
		dims:   t.Dims(),
		size:   slices.Clone(t.size),
		stride: slices.Clone(t.stride),
		counts: slices.Clone(t.counts),
		margin: t.margin, // never written after NewTable
	}
}

// lines calls fn for every additive relation of the extended table: for
// each dimension k and each choice of the other coordinates (margins
// included), the cells along k and, last, their total. Every set of
// cells that sums to a margin is one of these lines.
func (t *Table) lines(fn func(cells []int)) {
	n := len(t.size)
	buf := make([]int, 0, 16)
	for k := range n {
		// Walk every extended position whose coordinate k is 0.
		for f := range t.counts {
			if (f/t.stride[k])%(t.size[k]+1) != 0 {
				continue
			}
			buf = buf[:0]
			for i := 0; i <= t.size[k]; i++ {
				buf = append(buf, f+i*t.stride[k])
			}
			fn(buf)
		}
	}
}
