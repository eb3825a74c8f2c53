package disclosure

import (
	"errors"
	"math/big"
)

// This file is a small exact linear-programming solver for the audit:
// the primal simplex method on a dense tableau of big.Rat, with Bland's
// rule (lowest index enters, lowest basic index leaves on ties) so that
// it cannot cycle on the many degenerate vertices table constraints
// have, and branch and bound on top for integer optima. Exact arithmetic
// because the audit's answer is a yes or no about integers; dense and
// simple because it only ever sees small tables.
//
// Problems have the standard form: maximise c·y over y ≥ 0 with A y = b,
// A and b integers.

var errInfeasible = errors.New("disclosure: audit: no table is consistent with the published cells")

// tableau is A y = b in canonical form for a basis: each basic column is
// a unit column, and the last entry of each row is the basic variable's
// value.
type tableau struct {
	rows  [][]big.Rat // each of len cols+1
	cols  int
	basis []int // basic column per row
}

// pivot makes column c basic in row r.
func (t *tableau) pivot(r, c int) {
	row := t.rows[r]
	var inv, tmp big.Rat
	inv.Inv(&row[c])
	for j := range row {
		if row[j].Sign() != 0 {
			row[j].Mul(&row[j], &inv)
		}
	}
	for i := range t.rows {
		if i == r || t.rows[i][c].Sign() == 0 {
			continue
		}
		other := t.rows[i]
		var f big.Rat
		f.Set(&other[c])
		for j := range row {
			if row[j].Sign() != 0 {
				tmp.Mul(&f, &row[j])
				other[j].Sub(&other[j], &tmp)
			}
		}
	}
	t.basis[r] = c
}

// clone returns a deep copy.
func (t *tableau) clone() *tableau {
	u := &tableau{cols: t.cols, basis: append([]int(nil), t.basis...), rows: make([][]big.Rat, len(t.rows))}
	for i, row := range t.rows {
		u.rows[i] = make([]big.Rat, len(row))
		for j := range row {
			u.rows[i][j].Set(&row[j])
		}
	}
	return u
}

// maximise runs the simplex method from the tableau's (feasible) basis
// for objective c over the first allowed columns. It returns false if
// the objective is unbounded; otherwise the tableau is optimal.
func (t *tableau) maximise(c []big.Rat, allowed int) bool {
	// Reduced costs d_j = c_j − Σ_i c_basis(i) · a_ij.
	d := make([]big.Rat, t.cols)
	var tmp big.Rat
	for j := range t.cols {
		d[j].Set(&c[j])
	}
	for i, row := range t.rows {
		cb := &c[t.basis[i]]
		if cb.Sign() == 0 {
			continue
		}
		for j := range t.cols {
			if row[j].Sign() != 0 {
				tmp.Mul(cb, &row[j])
				d[j].Sub(&d[j], &tmp)
			}
		}
	}
	var best, ratio big.Rat
	for {
		enter := -1
		for j := range allowed {
			if d[j].Sign() > 0 {
				enter = j
				break
			}
		}
		if enter < 0 {
			return true
		}
		leave := -1
		for i, row := range t.rows {
			if row[enter].Sign() <= 0 {
				continue
			}
			ratio.Quo(&row[t.cols], &row[enter])
			if leave < 0 {
				leave = i
				best.Set(&ratio)
				continue
			}
			if s := ratio.Cmp(&best); s < 0 || s == 0 && t.basis[i] < t.basis[leave] {
				leave = i
				best.Set(&ratio)
			}
		}
		if leave < 0 {
			return false
		}
		t.pivot(leave, enter)
		// Update the reduced costs as the pivot did the rows.
		var f big.Rat
		f.Set(&d[enter])
		row := t.rows[leave]
		for j := range t.cols {
			if row[j].Sign() != 0 {
				tmp.Mul(&f, &row[j])
				d[j].Sub(&d[j], &tmp)
			}
		}
	}
}

// value returns Σ c_basis(i) · b_i, the objective at the current basis.
func (t *tableau) value(c []big.Rat) *big.Rat {
	v, tmp := new(big.Rat), new(big.Rat)
	for i, row := range t.rows {
		tmp.Mul(&c[t.basis[i]], &row[t.cols])
		v.Add(v, tmp)
	}
	return v
}

// solution returns y at the current basis.
func (t *tableau) solution() []big.Rat {
	y := make([]big.Rat, t.cols)
	for i, row := range t.rows {
		y[t.basis[i]].Set(&row[t.cols])
	}
	return y
}

// feasible returns a tableau in canonical form for a feasible basis of
// A y = b, y ≥ 0, with redundant rows dropped, or errInfeasible.
//
// It first reduces [A | b] to reduced row echelon form, which drops the
// many redundant rows a table's relations have and gives a basis at
// once; rows whose value is negative are negated and given an
// artificial variable, and a first simplex phase drives those to zero.
func feasible(a [][]int64, b []int64, n int) (*tableau, error) {
	t := &tableau{cols: n}
	for i, r := range a {
		row := make([]big.Rat, n+1)
		for j, v := range r {
			row[j].SetInt64(v)
		}
		row[n].SetInt64(b[i])
		t.rows = append(t.rows, row)
	}
	// Gauss–Jordan elimination, pivoting on the first non-zero column.
	rank := 0
	for col := 0; col < n && rank < len(t.rows); col++ {
		p := -1
		for i := rank; i < len(t.rows); i++ {
			if t.rows[i][col].Sign() != 0 {
				p = i
				break
			}
		}
		if p < 0 {
			continue
		}
		t.rows[rank], t.rows[p] = t.rows[p], t.rows[rank]
		t.basis = append(t.basis, -1)
		t.pivot(rank, col)
		rank++
	}
	for i := rank; i < len(t.rows); i++ {
		if t.rows[i][n].Sign() != 0 {
			return nil, errInfeasible
		}
	}
	t.rows = t.rows[:rank]

	// Rows with a negative value need an artificial basic variable.
	var neg []int
	for i, row := range t.rows {
		if row[n].Sign() < 0 {
			neg = append(neg, i)
		}
	}
	if len(neg) == 0 {
		return t, nil
	}
	w := n + len(neg)
	for i := range t.rows {
		row := make([]big.Rat, w+1)
		for j := range n {
			row[j].Set(&t.rows[i][j])
		}
		row[w].Set(&t.rows[i][n])
		t.rows[i] = row
	}
	t.cols = w
	for k, i := range neg {
		for j := range t.rows[i] {
			t.rows[i][j].Neg(&t.rows[i][j])
		}
		t.rows[i][n+k].SetInt64(1)
		t.basis[i] = n + k
	}
	c := make([]big.Rat, w)
	for j := n; j < w; j++ {
		c[j].SetInt64(-1)
	}
	t.maximise(c, n)
	if t.value(c).Sign() != 0 {
		return nil, errInfeasible
	}
	// Drive artificials still basic (at zero) out of the basis, or drop
	// their row if it has nothing else left.
	for i := 0; i < len(t.rows); i++ {
		if t.basis[i] < n {
			continue
		}
		j := 0
		for j < n && t.rows[i][j].Sign() == 0 {
			j++
		}
		if j == n {
			t.rows = append(t.rows[:i], t.rows[i+1:]...)
			t.basis = append(t.basis[:i], t.basis[i+1:]...)
			i--
			continue
		}
		t.pivot(i, j)
	}
	for i, row := range t.rows {
		out := make([]big.Rat, n+1)
		for j := range n {
			out[j].Set(&row[j])
		}
		out[n].Set(&row[w])
		t.rows[i] = out
	}
	t.cols = n
	return t, nil
}

// intMax returns the largest value of the integer objective c·y over
// integer points of {A y = b, y ≥ 0}, starting from t, a feasible
// tableau of that system, which the caller knows to hold an integer
// point (the true table). That makes an unbounded relaxation an
// unbounded integer problem too, since a rational ray scales to an
// integer one: ok is false then.
//
// t is left at a feasible basis (the relaxation's optimum, or where the
// simplex found the ray), ready to start the next objective from.
func intMax(t *tableau, a [][]int64, b []int64, c []int64) (best int64, ok bool, err error) {
	n := t.cols
	cr := make([]big.Rat, n)
	for j, v := range c {
		cr[j].SetInt64(v)
	}
	if !t.maximise(cr, n) {
		return 0, false, nil
	}
	y := t.solution()
	frac := fractional(y)
	if frac < 0 {
		return ratInt(t.value(cr)), true, nil
	}
	// Branch and bound. A node is a list of bounds on single variables,
	// each added as a row with its own slack variable.
	type bound struct {
		j     int
		v     int64
		upper bool
	}
	bestSet := false
	var stack [][]bound
	split := func(bs []bound, j int, yj *big.Rat) {
		fl := ratFloor(yj)
		up := append(append([]bound(nil), bs...), bound{j, fl + 1, false})
		down := append(append([]bound(nil), bs...), bound{j, fl, true})
		stack = append(stack, up, down)
	}
	split(nil, frac, &y[frac])
	for len(stack) > 0 {
		bs := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		m := n + len(bs)
		a2 := make([][]int64, 0, len(a)+len(bs))
		for _, r := range a {
			row := make([]int64, m)
			copy(row, r)
			a2 = append(a2, row)
		}
		b2 := append([]int64(nil), b...)
		for k, bd := range bs {
			row := make([]int64, m)
			row[bd.j] = 1
			if bd.upper {
				row[n+k] = 1
			} else {
				row[n+k] = -1
			}
			a2 = append(a2, row)
			b2 = append(b2, bd.v)
		}
		node, err := feasible(a2, b2, m)
		if errors.Is(err, errInfeasible) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		c2 := make([]big.Rat, m)
		for j := range n {
			c2[j].Set(&cr[j])
		}
		if !node.maximise(c2, m) {
			// The root was bounded, so every restriction of it is.
			return 0, false, errors.New("disclosure: audit: unbounded branch of a bounded problem")
		}
		z := node.value(c2)
		if bestSet && ratFloor(z) <= best {
			continue
		}
		y := node.solution()
		if f := fractional(y[:n]); f >= 0 {
			split(bs, f, &y[f])
			continue
		}
		best, bestSet = ratInt(z), true
	}
	if !bestSet {
		return 0, false, errors.New("disclosure: audit: no integer point, though the table is one")
	}
	return best, true, nil
}

// fractional returns the index of the first non-integer entry of y, or
// -1.
func fractional(y []big.Rat) int {
	for j := range y {
		if !y[j].IsInt() {
			return j
		}
	}
	return -1
}

// ratFloor returns ⌊r⌋; r fits an int64 here (it is at most a table's
// grand total).
func ratFloor(r *big.Rat) int64 {
	// Euclidean division leaves a non-negative remainder, and the
	// denominator is positive, so the quotient is the floor.
	q, _ := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	return q.Int64()
}

// ratInt returns r, an integer, as an int64.
func ratInt(r *big.Rat) int64 { return r.Num().Int64() }
