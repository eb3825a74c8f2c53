package disclosure

import (
	"fmt"
)

// Interval is what a reader can work out about one hidden cell from
// everything a protected table publishes: the smallest and the largest
// count the cell can have in a table of non-negative integers that
// agrees with every published cell and margin and with what the marks
// say of hidden cells.
type Interval struct {
	Index     []int  // the cell, Total for a margin coordinate
	Status    Status // Primary or Secondary
	Count     int64  // the true count
	Lo, Hi    int64  // the feasible range; Hi is meaningless when Unbounded
	Unbounded bool   // no published figure caps the cell
}

// AuditLimit is the most hidden cells Audit takes on. The exact audit
// solves two integer programs per hidden cell; tables of up to about 6×6
// or 4×4×3 (100 cells with the margins) are what it is for.
const AuditLimit = 128

// Audit computes, for every hidden cell of p, the exact interval a reader
// of p, shown with its marks, can narrow it to by any reasoning on the published figures that
// only uses their additive relations, integrality, non-negativity and
// what the marks say: the attacker of the cell-suppression literature.
// It solves, for each hidden cell, the integer programs "largest" and
// "smallest value of this cell", by an exact simplex method with branch
// and bound.
//
// Audit is independent of how Protect chose the cells, so it checks
// Protect rather than repeating it. It refuses tables with more than
// AuditLimit hidden cells.
func Audit(p *Protected) ([]Interval, error) {
	pr := auditProblem(p, p.marks)
	if len(pr.hidden) > AuditLimit {
		return nil, fmt.Errorf("disclosure: audit: %d hidden cells, more than %d", len(pr.hidden), AuditLimit)
	}
	if len(pr.hidden) == 0 {
		return nil, nil
	}
	// Each objective starts from where the last one ended: still a
	// feasible basis, and usually a few pivots from the next optimum.
	work, err := feasible(pr.a, pr.b, pr.n)
	if err != nil {
		return nil, err
	}
	t := p.t
	out := make([]Interval, len(pr.hidden))
	c := make([]int64, pr.n)
	for j, f := range pr.hidden {
		iv := Interval{Index: t.index(f), Status: p.status[f], Count: t.counts[f]}
		c[j] = 1
		hi, bounded, err := intMax(work, pr.a, pr.b, c)
		if err != nil {
			return nil, fmt.Errorf("disclosure: audit %v: %w", iv.Index, err)
		}
		iv.Hi, iv.Unbounded = hi+pr.lower[j], !bounded
		c[j] = -1
		lo, _, err := intMax(work, pr.a, pr.b, c)
		if err != nil {
			return nil, fmt.Errorf("disclosure: audit %v: %w", iv.Index, err)
		}
		iv.Lo = -lo + pr.lower[j]
		c[j] = 0
		out[j] = iv
	}
	return out, nil
}

// Check reports whether an interval audited for marks m meets the
// protection criterion of a table protected with threshold T, and why
// not. For OneMark:
//
//   - every hidden cell can take at least three values (Hi − Lo ≥ 2), so
//     none is recovered exactly or pinned between two neighbours;
//   - a primary cell with count v can be as large as v + max(T−v, 2):
//     at least T, so the reader cannot tell it is a small count at all,
//     and at least v+2.
//
// For TwoMarks, where the mark itself says an inner primary cell is 1 to
// T−1:
//
//   - a primary cell, inner or margin, can take at least three values;
//   - secondary cells are not checked: they hold no small count, and a
//     reader who works one out learns only a figure that could have
//     been published.
//
// TwoMarks with T under 4 fails: "<3" alone leaves two values.
func (iv Interval) Check(m Marks, threshold int64) error {
	if iv.Lo > iv.Count || !iv.Unbounded && iv.Hi < iv.Count {
		return fmt.Errorf("disclosure: cell %v (%s, %d): interval [%d, %d] excludes the true count", iv.Index, iv.Status, iv.Count, iv.Lo, iv.Hi)
	}
	if m == TwoMarks {
		switch {
		case threshold < 4:
			return fmt.Errorf("disclosure: two marks need a threshold of at least 4, not %d", threshold)
		case iv.Status != Primary:
			return nil
		case iv.Hi-iv.Lo < 2:
			return fmt.Errorf("disclosure: cell %v (primary, %d): a reader of two marks narrows it to [%d, %d]", iv.Index, iv.Count, iv.Lo, iv.Hi)
		}
		return nil
	}
	if iv.Unbounded {
		return nil
	}
	if iv.Hi-iv.Lo < 2 {
		return fmt.Errorf("disclosure: cell %v (%s, %d): a reader narrows it to [%d, %d]", iv.Index, iv.Status, iv.Count, iv.Lo, iv.Hi)
	}
	if iv.Status == Primary && iv.Hi < iv.Count+room(iv.Count, threshold) {
		return fmt.Errorf("disclosure: cell %v (primary, %d): a reader bounds it by %d, below %d", iv.Index, iv.Count, iv.Hi, iv.Count+room(iv.Count, threshold))
	}
	return nil
}

// Verify audits p (see Audit) and checks every hidden cell against the
// protection criterion of its marks (see Interval.Check). It is for
// tests and for spot checks of small tables; Protect's construction
// already guarantees the criterion.
func Verify(p *Protected) error {
	ivs, err := Audit(p)
	if err != nil {
		return err
	}
	for _, iv := range ivs {
		if err := iv.Check(p.marks, p.threshold); err != nil {
			return err
		}
	}
	return nil
}

// problem is the audit's system A y = b, y ≥ 0. Its first variables
// are the hidden cells, each its count less the least value the reader
// knows it has; then one slack variable per hidden cell the reader
// knows an upper bound of.
type problem struct {
	a      [][]int64
	b      []int64
	n      int     // variables
	hidden []int   // flat position of each hidden cell's variable
	lower  []int64 // the least value the reader knows each hidden cell to have
}

// auditProblem writes down what a reader of marks m knows. Every line gives
// Σ hidden coef·x = −Σ published coef·count, with coef −1 for the parts
// and +1 for their total; with y = x − lower ≥ 0 the hidden cells' lower
// bounds move to the right-hand side, and an upper bound x ≤ u becomes
// y + s = u − lower.
func auditProblem(p *Protected, m Marks) problem {
	t := p.t
	var pr problem
	slot := make([]int, len(t.counts))
	var capped []int
	for f, s := range p.status {
		slot[f] = -1
		if s == Published {
			continue
		}
		slot[f] = len(pr.hidden)
		pr.hidden = append(pr.hidden, f)
		lower := int64(1)
		if m == TwoMarks && !t.margin[f] {
			if s == Primary {
				capped = append(capped, slot[f])
			} else {
				lower = p.threshold
			}
		}
		pr.lower = append(pr.lower, lower)
	}
	h := len(pr.hidden)
	pr.n = h + len(capped)
	if h == 0 || h > AuditLimit {
		return pr
	}
	t.lines(func(cells []int) {
		row := make([]int64, pr.n)
		var rhs int64
		any := false
		for i, g := range cells {
			coef := int64(-1)
			if i == len(cells)-1 {
				coef = 1
			}
			if j := slot[g]; j >= 0 {
				row[j] += coef
				rhs -= coef * pr.lower[j]
				any = true
			} else {
				rhs -= coef * t.counts[g]
			}
		}
		if any {
			pr.a = append(pr.a, row)
			pr.b = append(pr.b, rhs)
		}
	})
	for k, j := range capped {
		row := make([]int64, pr.n)
		row[j], row[h+k] = 1, 1
		pr.a = append(pr.a, row)
		pr.b = append(pr.b, p.threshold-1-pr.lower[j])
	}
	return pr
}
