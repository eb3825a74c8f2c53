package disclosure

import (
	"errors"
	"testing"
)

// TestProtectKnown pins the suppression of small tables worked out by
// hand, for one mark and for two. Patterns list the extended table row
// by row, each dimension's margin last: '.' published, 'P' primary, 'S'
// secondary; layers of a three-dimensional table are separated by " | ".
func TestProtectKnown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		sizes     []int
		threshold int64
		counts    []int64
		one, two  string
	}{{
		name:  "nothing small, nothing hidden",
		sizes: []int{2, 2}, counts: []int64{20, 30, 40, 50},
		one: "... ... ...", two: "... ... ...",
	}, {
		name:  "zeros are published",
		sizes: []int{2, 2}, counts: []int64{0, 30, 0, 50},
		one: "... ... ...", two: "... ... ...",
	}, {
		// The 3 would be the row total less 20 and 30 (and the column
		// total less 15 and 40). The cheapest rectangle through it whose
		// other cells can absorb a rise of 7 is rows 0–1 × columns 0, 2:
		// hidden 15 + 30 + 12 = 57, against 60 for columns 0–1. The same
		// rectangle moves it by 2 for two marks.
		name:  "a small cell forces a second in its row and column",
		sizes: []int{3, 3}, counts: []int64{3, 20, 30, 15, 25, 12, 40, 11, 50},
		one: "P.S. S.S. .... ....", two: "P.S. S.S. .... ....",
	}, {
		// One mark: the 5 is too small to take the 4's rise of 6 along
		// the line, so the 30 goes too. Two marks: a reader knows both
		// small cells are 1 to 9 and sum to 9, so each is 1 to 8, and
		// the 30 stays.
		name:  "one dimension",
		sizes: []int{3}, counts: []int64{4, 5, 30},
		one: "PPS.", two: "PP..",
	}, {
		name:  "one dimension, alone with its total",
		sizes: []int{3}, counts: []int64{3, 0, 0},
		one: "P..P", two: "P..P",
	}, {
		// Row 1 is (0, 4, 0), so its total is the 4 again: a small
		// margin. Column 1 and the column of row totals each need a
		// second hidden cell; the 30 and the row total 90 above them
		// make the rectangle.
		name:  "a small margin",
		sizes: []int{3, 3}, counts: []int64{20, 30, 40, 0, 4, 0, 25, 35, 45},
		one: ".S.S .P.P .... ....", two: ".S.S .P.P .... ....",
	}, {
		// The 3 is alone in its row and its column, so both totals are
		// the 3 again and only the grand total can pair with them.
		name:  "alone in row and column: the grand total goes",
		sizes: []int{3, 3}, counts: []int64{20, 0, 40, 0, 3, 0, 25, 0, 45},
		one: ".... .P.P .... .P.S", two: ".... .P.P .... .P.S",
	}, {
		// With every two-dimensional margin published, a 2×2×2 table's
		// inner cells can only move together along the alternating cube,
		// so all eight go.
		name:  "three dimensions",
		sizes: []int{2, 2, 2}, counts: []int64{3, 20, 30, 40, 25, 35, 45, 55},
		one: "PS. SS. ... | SS. SS. ... | ... ... ...",
		two: "PS. SS. ... | SS. SS. ... | ... ... ...",
	}, {
		// Two small cells on a diagonal share one rectangle.
		name:  "small cells share their complements",
		sizes: []int{3, 3}, counts: []int64{2, 30, 40, 50, 60, 70, 80, 90, 5},
		one: "P.S. .... S.P. ....", two: "P.S. .... S.P. ....",
	}, {
		name:  "everything small",
		sizes: []int{2, 3}, counts: []int64{1, 2, 0, 3, 0, 1},
		one: "PP.P P.PP PPPP", two: "PP.P P.PP PPPP",
	}, {
		// One mark: the rectangle of 1, 10, 10, 50 lets the 1 rise to 10.
		// Two marks: the reader knows the 10s are at least 10, so along
		// that rectangle the 1 could not move at all (1 + 10 = 11 is
		// published); only the totals, shown as plain marks, give room.
		name:  "complements at the threshold",
		sizes: []int{2, 2}, counts: []int64{1, 10, 10, 50},
		one: "PS. SS. ...", two: "P.S ... S.S",
	}, {
		// At threshold 4 the 2 and the 3 are small; the 2 must be able
		// to rise to 4, so its partners must be at least 1+2 = 3.
		name:  "other threshold",
		sizes: []int{2, 3}, threshold: 4, counts: []int64{2, 3, 4, 5, 6, 7},
		one: "PPS. SSS. ....", two: "PPS. SSS. ....",
	}, {
		name:  "threshold 1 hides nothing",
		sizes: []int{2, 2}, threshold: 1, counts: []int64{1, 2, 0, 3},
		one: "... ... ...",
	}}
	for _, tt := range tests {
		for _, m := range []Marks{OneMark, TwoMarks} {
			want := tt.one
			if m == TwoMarks {
				want = tt.two
			}
			if want == "" {
				continue
			}
			t.Run(tt.name+"/"+m.String(), func(t *testing.T) {
				t.Parallel()
				tb := mustTable(t, tt.sizes, tt.counts...)
				th := tt.threshold
				if th == 0 {
					th = DefaultThreshold
				}
				p, err := tb.ProtectMarks(th, m)
				if err != nil {
					t.Fatal(err)
				}
				if got := pattern(p); got != want {
					t.Errorf("pattern\n got %s\nwant %s", got, want)
				}
				checkProtected(t, tb, p)
			})
		}
	}
}

func TestProtectLeavesTableAlone(t *testing.T) {
	t.Parallel()
	tb := mustTable(t, []int{2, 2}, 3, 20, 30, 40)
	p, err := tb.Protect(DefaultThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(50, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := p.Status(0, 0); got != Primary {
		t.Errorf("after changing the table, the protected cell is %s", got)
	}
	if v, ok := p.Value(0, 1); !ok && v != 0 {
		t.Errorf("Value(0, 1) = %d, %v", v, ok)
	}
}

func TestProtectInvalid(t *testing.T) {
	t.Parallel()
	tb := mustTable(t, []int{2}, 1, 2)
	for _, c := range []struct {
		th int64
		m  Marks
	}{{0, OneMark}, {-1, OneMark}, {MaxThreshold + 1, OneMark}, {3, TwoMarks}, {10, Marks(7)}} {
		if _, err := tb.ProtectMarks(c.th, c.m); !errors.Is(err, ErrInvalid) {
			t.Errorf("threshold %d, marks %d: %v", c.th, c.m, err)
		}
	}
	if p, err := tb.Protect(DefaultThreshold); err != nil || p.Marks() != TwoMarks {
		t.Errorf("Protect: %v, %v", p, err)
	}
}

func TestShowDerived(t *testing.T) {
	t.Parallel()
	// Row 0 holds a 3; the row total 53 is published and large.
	tb := mustTable(t, []int{3, 3}, 3, 20, 30, 15, 25, 12, 40, 11, 50)
	p, err := tb.Protect(DefaultThreshold)
	if err != nil {
		t.Fatal(err)
	}
	tb2 := mustTable(t, []int{2}, 0, 12)
	p2, err := tb2.Protect(DefaultThreshold)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		p     *Protected
		index []int
		want  bool
	}{
		{"published and large", p, []int{0, 1}, true},
		{"primary", p, []int{0, 0}, false},
		{"secondary, large as it is", p, []int{0, 2}, false},
		{"published margin", p, []int{0, Total}, true},
		{"grand total", p, []int{Total, Total}, true},
		{"zero has no members", p2, []int{0}, false},
		{"1D published", p2, []int{1}, true},
	}
	for _, tt := range tests {
		if got := tt.p.ShowDerived(tt.index...); got != tt.want {
			t.Errorf("%s: ShowDerived(%v) = %v, want %v", tt.name, tt.index, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	t.Parallel()
	a, _ := mustTable(t, []int{2, 2}, 3, 20, 30, 40).Protect(10)
	b, _ := mustTable(t, []int{2, 2}, 4, 20, 30, 40).Protect(10) // same pattern, other figures
	c, _ := mustTable(t, []int{2, 2}, 30, 20, 30, 40).Protect(10)
	d, _ := mustTable(t, []int{2, 2}, 3, 20, 30, 40).Protect(5)
	if !a.Equal(b) {
		t.Error("same pattern reported different")
	}
	if a.Equal(c) || a.Equal(d) {
		t.Error("different pattern or threshold reported equal")
	}
}

func TestStatusString(t *testing.T) {
	t.Parallel()
	for s, want := range map[Status]string{Published: "published", Primary: "primary", Secondary: "secondary", 9: "Status(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q", s, got)
		}
	}
}
