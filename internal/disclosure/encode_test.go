package disclosure

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/csvfile"
)

// example is the table of docs/disclosure.md's worked example, protected
// for marks m.
func example(t testing.TB, m Marks) *Protected {
	t.Helper()
	tb, err := NewTable(
		Dimension{Name: "month", Labels: []string{"2025-01", "2025-02"}},
		Dimension{Name: "category", Labels: []string{"A", "B", "C"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range [][]int64{{3, 20, 30}, {15, 25, 12}} {
		for j, v := range row {
			if err := tb.Set(v, i, j); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := tb.ProtectMarks(DefaultThreshold, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJSON(t *testing.T) {
	t.Parallel()
	head := `{"method":"canopy-hypercube-1","threshold":10,"marks":"%s",` +
		`"dimensions":[{"name":"month","labels":["2025-01","2025-02"]},{"name":"category","labels":["A","B","C"]}],` +
		`"cells":[` +
		`{"key":["2025-01","A"],"count":null,"mark":"%s"},` +
		`{"key":["2025-01","B"],"count":20},` +
		`{"key":["2025-01","C"],"count":null,"mark":"suppressed"},` +
		`{"key":["2025-01",null],"count":53},` +
		`{"key":["2025-02","A"],"count":null,"mark":"suppressed"},` +
		`{"key":["2025-02","B"],"count":25},` +
		`{"key":["2025-02","C"],"count":null,"mark":"suppressed"},` +
		`{"key":["2025-02",null],"count":52},` +
		`{"key":[null,"A"],"count":18},` +
		`{"key":[null,"B"],"count":45},` +
		`{"key":[null,"C"],"count":42},` +
		`{"key":[null,null],"count":105}]}` + "\n"
	for _, tt := range []struct {
		m          Marks
		name, mark string
	}{{OneMark, "one", "suppressed"}, {TwoMarks, "two", `\u003c10`}} {
		p := example(t, tt.m)
		var b bytes.Buffer
		if err := p.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(head, tt.name, tt.mark); b.String() != want {
			t.Errorf("%s: JSON\n got %s\nwant %s", tt.m, b.String(), want)
		}
		// Whatever the figures, a hidden cell's count never leaks into
		// the output.
		if strings.Contains(b.String(), `"count":3`) {
			t.Error("the small count is in the JSON")
		}
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	want := "month,category,count\n" +
		"2025-01,A,%s\n" +
		"2025-01,B,20\n" +
		"2025-01,C,suppressed\n" +
		"2025-01,Total,53\n" +
		"2025-02,A,suppressed\n" +
		"2025-02,B,25\n" +
		"2025-02,C,suppressed\n" +
		"2025-02,Total,52\n" +
		"Total,A,18\n" +
		"Total,B,45\n" +
		"Total,C,42\n" +
		"Total,Total,105\n"
	for m, mark := range map[Marks]string{OneMark: "suppressed", TwoMarks: "<10"} {
		p := example(t, m)
		var b bytes.Buffer
		if err := p.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(want, mark); b.String() != want {
			t.Errorf("%s: CSV\n got %q\nwant %q", m, b.String(), want)
		}
		recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil || len(recs) != 1+p.Cells() {
			t.Errorf("CSV reads back as %d records, %v", len(recs), err)
		}
	}
}

func TestShow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		m     Marks
		index []int
		want  string
	}{
		{OneMark, []int{0, 0}, Mark},
		{TwoMarks, []int{0, 0}, "<10"},
		{OneMark, []int{0, 1}, "20"},
		{TwoMarks, []int{0, 2}, Mark},
		{TwoMarks, []int{Total, Total}, "105"},
	} {
		if got := example(t, tt.m).Show(tt.index...); got != tt.want {
			t.Errorf("Show(%s, %v) = %q, want %q", tt.m, tt.index, got, tt.want)
		}
	}
	if SmallMark(5) != "<5" {
		t.Error(SmallMark(5))
	}
	// A small margin shows the plain mark even under two marks: "<10" on
	// a total would bound the sum of its hidden parts.
	q, err := mustTable(t, []int{3, 3}, 20, 30, 40, 0, 4, 0, 25, 35, 45).Protect(DefaultThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Show(1, 1); got != "<10" {
		t.Errorf("small inner cell shows %q", got)
	}
	if got := q.Show(1, Total); got != Mark {
		t.Errorf("small margin shows %q", got)
	}
}

func TestCSVFormulaLabels(t *testing.T) {
	t.Parallel()
	tb, err := NewTable(Dimension{Name: "=name", Labels: []string{"@a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	tb.Set(12, 0)
	tb.Set(15, 1)
	p, err := tb.Protect(DefaultThreshold)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if want := "'=name,count\n'@a,12\nb,15\nTotal,27\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

var errFail = &json.UnsupportedValueError{Str: "fail"}

func TestCSVWriteError(t *testing.T) {
	t.Parallel()
	if err := example(t, OneMark).WriteCSV(failWriter{}); err == nil {
		t.Error("no error from a failing writer")
	}
	if err := example(t, OneMark).WriteJSON(failWriter{}); err == nil {
		t.Error("no error from a failing writer")
	}
}

// TestMarksNeedNoDefusing: the marks a protected table writes in its CSV
// are not taken for formulas, so a reader sees them as they are.
func TestMarksNeedNoDefusing(t *testing.T) {
	t.Parallel()
	if csvfile.Protect(Mark) != Mark || csvfile.Protect(SmallMark(10)) != SmallMark(10) {
		t.Error("a mark would need defusing")
	}
}
