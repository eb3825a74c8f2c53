package disclosure

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
)

// tableFromBytes builds a small table from fuzz input: the first byte
// picks the number of dimensions, the next ones their sizes (up to 8,
// 6×6 or 4×4×3) and the threshold (1 to 16), and each further byte one
// count in row-major order (a multiple of 5 is a zero, anything else
// its quarter, 0 to 63); missing bytes are zeros.
func tableFromBytes(tb testing.TB, data []byte) (*Table, int64) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	var sizes []int
	switch next() % 3 {
	case 0:
		sizes = []int{1 + int(next()%8)}
	case 1:
		sizes = []int{1 + int(next()%6), 1 + int(next()%6)}
	default:
		sizes = []int{1 + int(next()%4), 1 + int(next()%4), 1 + int(next()%3)}
	}
	threshold := 1 + int64(next()%16)
	inner := 1
	for _, n := range sizes {
		inner *= n
	}
	counts := make([]int64, inner)
	for i := range counts {
		if b := next(); b%5 != 0 {
			counts[i] = int64(b) / 4
		}
	}
	return mustTable(tb, sizes, counts...), threshold
}

// FuzzProtect protects tables built from arbitrary bytes for both marks
// and checks every invariant, the exact audit included, and that the
// encoders' output reads back.
func FuzzProtect(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, th := tableFromBytes(t, data)
		for _, m := range []Marks{OneMark, TwoMarks} {
			if m == TwoMarks && th < 4 {
				if _, err := tb.ProtectMarks(th, m); err == nil {
					t.Fatalf("two marks accepted threshold %d", th)
				}
				continue
			}
			p, err := tb.ProtectMarks(th, m)
			if err != nil {
				t.Fatal(err)
			}
			checkProtected(t, tb, p)
			q, _ := tb.ProtectMarks(th, m)
			var a, b bytes.Buffer
			if err := p.WriteJSON(&a); err != nil {
				t.Fatal(err)
			}
			q.WriteJSON(&b)
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("not deterministic")
			}
			var back jsonTable
			if err := json.Unmarshal(a.Bytes(), &back); err != nil || len(back.Cells) != p.Cells() {
				t.Fatalf("JSON reads back as %d cells, %v", len(back.Cells), err)
			}
			for i, c := range back.Cells {
				if (c.Mark == "") != (c.Count != nil) {
					t.Fatalf("cell %d: count %v, mark %q", i, c.Count, c.Mark)
				}
				if c.Count != nil && *c.Count > 0 && *c.Count < th {
					t.Fatalf("cell %d: small count %d published", i, *c.Count)
				}
			}
			var w bytes.Buffer
			if err := p.WriteCSV(&w); err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&w).ReadAll()
			if err != nil || len(recs) != 1+p.Cells() {
				t.Fatalf("CSV reads back as %d records, %v", len(recs), err)
			}
		}
	})
}
