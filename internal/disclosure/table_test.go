package disclosure

import (
	"errors"
	"strings"
	"testing"
)

func TestNewTable(t *testing.T) {
	t.Parallel()
	many := make([]string, MaxCells+1)
	for i := range many {
		many[i] = strings.Repeat("x", 1+i%7) + string(rune('a'+i%26)) + string(rune(i))
	}
	d := func(name string, labels ...string) Dimension { return Dimension{Name: name, Labels: labels} }
	tests := []struct {
		name string
		dims []Dimension
		ok   bool
	}{
		{"one", []Dimension{d("month", "2025-01")}, true},
		{"three", []Dimension{d("a", "x"), d("b", "y"), d("c", "z")}, true},
		{"none", nil, false},
		{"four", []Dimension{d("a", "x"), d("b", "y"), d("c", "z"), d("d", "w")}, false},
		{"unnamed", []Dimension{d("", "x")}, false},
		{"same name", []Dimension{d("a", "x"), d("a", "y")}, false},
		{"no labels", []Dimension{d("a")}, false},
		{"empty label", []Dimension{d("a", "x", "")}, false},
		{"repeated label", []Dimension{d("a", "x", "x")}, false},
		{"reserved label", []Dimension{d("a", "x", TotalLabel)}, false},
		{"too many cells", []Dimension{d("a", many[:200]...), d("b", many[:100]...)}, false},
	}
	for _, tt := range tests {
		_, err := NewTable(tt.dims...)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

func TestMargins(t *testing.T) {
	t.Parallel()
	tb := mustTable(t, []int{2, 3, 2},
		1, 2, 3, 4, 5, 6,
		7, 8, 9, 10, 11, 12)
	tests := []struct {
		index []int
		want  int64
	}{
		{[]int{0, 0, 0}, 1},
		{[]int{1, 2, 1}, 12},
		{[]int{0, 0, Total}, 3},
		{[]int{Total, 0, 0}, 8},
		{[]int{0, Total, 1}, 12},
		{[]int{Total, Total, 0}, 1 + 3 + 5 + 7 + 9 + 11},
		{[]int{0, Total, Total}, 21},
		{[]int{Total, Total, Total}, 78},
	}
	for _, tt := range tests {
		if got := tb.Count(tt.index...); got != tt.want {
			t.Errorf("Count(%v) = %d, want %d", tt.index, got, tt.want)
		}
	}
	if err := tb.Add(-1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := tb.Set(5, 1, 2, 1); err != nil {
		t.Fatal(err)
	}
	if got := tb.Count(Total, Total, Total); got != 78-1-7 {
		t.Errorf("grand total after changes: %d", got)
	}
}

func TestSetInvalid(t *testing.T) {
	t.Parallel()
	tb := mustTable(t, []int{2, 2}, 1, 2, 3, 4)
	tests := []struct {
		name  string
		set   bool
		n     int64
		index []int
	}{
		{"negative", true, -1, []int{0, 0}},
		{"too large", true, MaxCount + 1, []int{0, 0}},
		{"margin", true, 1, []int{Total, 0}},
		{"out of range", true, 1, []int{2, 0}},
		{"too few indices", true, 1, []int{0}},
		{"below zero", false, -2, []int{0, 0}},
		{"beyond the maximum", false, MaxCount, []int{0, 0}},
		{"huge step", false, -1 << 62, []int{0, 0}},
	}
	for _, tt := range tests {
		var err error
		if tt.set {
			err = tb.Set(tt.n, tt.index...)
		} else {
			err = tb.Add(tt.n, tt.index...)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if got := tb.Count(Total, Total); got != 10 {
		t.Errorf("a refused change changed the table: total %d", got)
	}
}

func TestCountPanics(t *testing.T) {
	t.Parallel()
	tb := mustTable(t, []int{2}, 1, 2)
	for _, index := range [][]int{{2}, {-2}, {0, 0}, {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Count(%v) did not panic", index)
				}
			}()
			tb.Count(index...)
		}()
	}
}

func TestIndex(t *testing.T) {
	t.Parallel()
	tb, err := NewTable(Dimension{"month", []string{"2025-01", "2025-02"}}, Dimension{"category", []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Index(0, "2025-02") != 1 || tb.Index(1, "c") != -1 {
		t.Error("Index")
	}
	dims := tb.Dims()
	dims[0].Labels[0] = "changed"
	if tb.Index(0, "2025-01") != 0 {
		t.Error("Dims shares its labels with the table")
	}
}
