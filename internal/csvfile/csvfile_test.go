package csvfile

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
)

// testFormat is a small list: an id, a name and a note.
var testFormat = Format{Columns: []string{"id", "name", "note"}, MaxRows: 5}

// read reads data as a testFormat file and returns its rows, each as
// "line:id|name|note", and its problems, each as "line field key args".
func read(f *Format, data string, max int) (rows, problems []string, more bool) {
	p := &Problems{Max: max}
	f.Read([]byte(data), p, func(r Row) {
		rows = append(rows, fmt.Sprintf("%d:%s|%s|%s", r.Line, r.Cell("id"), r.Cell("name"), r.Cell("note")))
	})
	for _, e := range p.Errors {
		problems = append(problems, fmt.Sprintf("%d %s %s %v", e.Line, e.Field, e.Key, e.Args))
	}
	return rows, problems, p.More
}

// TestRead: the shapes a file comes in, and what is wrong with it, by
// line.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		name     string
		file     string
		rows     []string
		problems []string
	}{
		{"plain", "id,name,note\na,A,x\nb,B,\n", []string{"2:a|A|x", "3:b|B|"}, nil},
		{"byte-order mark, CRLF, blank lines", "\xef\xbb\xbfid,name,note\r\na,A,x\r\n\r\n   \r\nb,B,y\r\n\r\n", []string{"2:a|A|x", "5:b|B|y"}, nil},
		{"semicolons, commas in cells", "id;name;note\na;A, the first;x\n", []string{"2:a|A, the first|x"}, nil},
		{"a semicolon in a comma file", "id,name,note\na,A;B,x\n", []string{"2:a|A;B|x"}, nil},
		{"columns in another order and case", " NOTE ,Id,name\nx,a,A\n", []string{"2:a|A|x"}, nil},
		{"spaces around cells", "id,name,note\n  a , A A ,\t x\n", []string{"2:a|A A|x"}, nil},
		{"formulas protected", "id,name,note\na,'=1+1,'+33 1\nb,'plain,''=x\n", []string{"2:a|=1+1|+33 1", "3:b|'plain|'=x"}, nil},
		{"a quoted cell over lines", "id,name,note\na,\"A\nstill A\",x\nb,B,y\n", []string{"2:a|A\nstill A|x", "4:b|B|y"}, nil},
		{"empty", "", nil, []string{"1  error.csv.empty []"}},
		{"only a byte-order mark", "\xef\xbb\xbf", nil, []string{"1  error.csv.empty []"}},
		{"header only", "id,name,note\n\n", nil, []string{"1  error.csv.empty []"}},
		{"missing columns", "name\nA\n", nil, []string{"1  error.csv.columns [id]", "1  error.csv.columns [note]"}},
		{"unknown column", "id,name,note,colour\na,A,x,red\n", nil, []string{"1  error.csv.column [colour]"}},
		{"a long unknown column is cut", "id,name,note," + strings.Repeat("é", 50) + "\n", nil,
			[]string{"1  error.csv.column [" + strings.Repeat("é", 40) + "…]"}},
		{"a column twice", "id,name,note,NAME\na,A,x,B\n", nil, []string{"1 name error.duplicate []"}},
		{"wrong widths are each reported", "id,name,note\na,A\nb,B,y\nc,C,z,w\n", []string{"3:b|B|y"},
			[]string{"2  error.csv.field_count []", "4  error.csv.field_count []"}},
		{"not UTF-8, on its line", "id,name,note\na,A,x\nb,\xc9cole,y\n", nil, []string{"3  error.invalid_utf8 []"}},
		{"not UTF-8 in the header", "id,n\xe9,note\n", nil, []string{"1  error.invalid_utf8 []"}},
		{"a stray quote stops the reading", "id,name,note\na,A,x\nb,B \"C\",y\nc,C,z\n", []string{"2:a|A|x"}, []string{"3  error.csv.syntax []"}},
		{"a quote that does not end", "id,name,note\na,\"A,x\nb,B,y\n", nil, []string{"3  error.csv.syntax []"}},
		{"a bad header", "id,\"name,note\n", nil, []string{"1  error.csv.syntax []"}},
		{"too many lines", "id,name,note\n1,,\n2,,\n3,,\n4,,\n5,,\n6,,\n7,,\n", []string{"2:1||", "3:2||", "4:3||", "5:4||", "6:5||"},
			[]string{"7  error.csv.too_many_lines [5]"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, problems, _ := read(&testFormat, c.file, 0)
			if !slices.Equal(rows, c.rows) {
				t.Errorf("rows %q, want %q", rows, c.rows)
			}
			if !slices.Equal(problems, c.problems) {
				t.Errorf("problems %q, want %q", problems, c.problems)
			}
		})
	}
}

// TestKeys: an importer may name the file's problems its own way.
func TestKeys(t *testing.T) {
	f := testFormat
	f.Keys = Keys{Syntax: "x.syntax", Columns: "x.columns", Column: "x.column", DuplicateColumn: "x.dup", Fields: "x.fields",
		Empty: "x.empty", TooMany: "x.many", InvalidUTF8: "x.utf8"}
	for file, want := range map[string]string{
		"":                                  "1  x.empty []",
		"id,name,note,id\n":                 "1 id x.dup []",
		"id,name\n":                         "1  x.columns [note]",
		"id,name,note,x\n":                  "1  x.column [x]",
		"id,name,note\na\n":                 "2  x.fields []",
		"id,name,note\n\xff":                "2  x.utf8 []",
		"id,name,note\n\"":                  "2  x.syntax []",
		strings.Repeat("id,name,note\n", 7): "7  x.many [5]",
	} {
		if _, got, _ := read(&f, file, 0); !slices.Equal(got, []string{want}) {
			t.Errorf("%q: %q, want %q", file, got, want)
		}
	}
}

// TestProblems: the list stops at its limit and says there were more;
// the importer's problems and the file's come in the order of the lines.
func TestProblems(t *testing.T) {
	f := Format{Columns: []string{"id", "name", "note"}}
	var b strings.Builder
	b.WriteString("id,name,note\n")
	for range 300 {
		b.WriteString("x\n")
	}
	if _, problems, more := read(&f, b.String(), 0); len(problems) != DefaultMaxErrors || !more {
		t.Errorf("%d problems listed, more %v", len(problems), more)
	}
	if _, problems, more := read(&f, b.String(), 7); len(problems) != 7 || !more {
		t.Errorf("%d problems listed with a limit of 7, more %v", len(problems), more)
	}
	if _, problems, more := read(&f, "id,name,note\nx\n", 7); len(problems) != 1 || more {
		t.Errorf("%d problems listed, more %v", len(problems), more)
	}

	p := &Problems{}
	f.Read([]byte("id,name,note\na,,x\nb\nc,,\n"), p, func(r Row) {
		if r.Cell("name") == "" {
			p.Add(r.Line, "name", "error.required")
		}
	})
	var got []string
	for _, e := range p.Errors {
		got = append(got, fmt.Sprintf("%d %s %s", e.Line, e.Field, e.Key))
	}
	if want := []string{"2 name error.required", "3  error.csv.field_count", "4 name error.required"}; !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}

	defer func() {
		if recover() == nil {
			t.Error("a cell of a column the format does not have was read")
		}
	}()
	f.Read([]byte("id,name,note\na,b,c\n"), &Problems{}, func(r Row) { r.Cell("colour") })
}

// TestProtect: a formula stays text both ways, and nothing else changes.
func TestProtect(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"},
		{"+33 1 23", "'+33 1 23"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"}, {"\tx", "'\tx"}, {"\rx", "'\rx"},
		{"'quoted", "'quoted"}, {"'=x", "''=x"}, {"''-1", "'''-1"}, {"plain", "plain"}, {"", ""}, {"a=b", "a=b"},
		{"'", "'"}, {"''", "''"}, {"' =x", "' =x"},
	} {
		if got := Protect(c.in); got != c.out {
			t.Errorf("Protect(%q) = %q, want %q", c.in, got, c.out)
		}
		if got := Unprotect(Protect(c.in)); got != c.in {
			t.Errorf("%q comes back as %q", c.in, got)
		}
	}
	// A cell typed with its apostrophe, as in a spreadsheet, loses it.
	for in, want := range map[string]string{"'=x": "=x", "''=x": "'=x", "=x": "=x", "'x": "'x", "'": "'", "'' -1": "'' -1"} {
		if got := Unprotect(in); got != want {
			t.Errorf("Unprotect(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriter: what the writer writes reads back the same, formulas and
// separators and line breaks in cells included.
func TestWriter(t *testing.T) {
	rows := []map[string]string{
		{"id": "a", "name": "=HYPERLINK(\"x\")", "note": "one, two; three"},
		{"id": "b", "name": "Line\nbreak \"quoted\""},
		{"id": "c", "name": "'+already", "note": "@home"},
	}
	var out bytes.Buffer
	w := NewWriter(&out, testFormat.Columns)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "id,name,note\na,\"'=HYPERLINK(\"\"x\"\")\",\"one, two; three\"\nb,\"Line\nbreak \"\"quoted\"\"\",\nc,''+already,'@home\n"
	if out.String() != want {
		t.Errorf("wrote\n%s\nwant\n%s", out.String(), want)
	}
	var back []map[string]string
	p := &Problems{}
	testFormat.Read(out.Bytes(), p, func(r Row) {
		back = append(back, map[string]string{"id": r.Cell("id"), "name": r.Cell("name"), "note": r.Cell("note")})
	})
	rows[1]["note"] = ""
	if len(p.Errors) > 0 || !reflect.DeepEqual(back, rows) {
		t.Errorf("read back %q %+v, want %q", back, p.Errors, rows)
	}

	out.Reset()
	w = NewWriter(&out, testFormat.Columns)
	if err := w.Flush(); err != nil || out.String() != "id,name,note\n" {
		t.Errorf("an empty list: %q %v", out.String(), err)
	}
	if err := NewWriter(&out, testFormat.Columns).Write(map[string]string{"colour": "red"}); err == nil {
		t.Error("a cell of no column was written")
	}
}

// TestBool: yes and no the ways people type them.
func TestBool(t *testing.T) {
	for _, c := range []struct {
		in       string
		def      bool
		want, ok bool
	}{
		{"", true, true, true}, {"", false, false, true},
		{"yes", false, true, true}, {"Y", false, true, true}, {"TRUE", false, true, true}, {"1", false, true, true},
		{"No", true, false, true}, {"n", true, false, true}, {"false", true, false, true}, {"0", true, false, true},
		{"maybe", true, true, false}, {"oui", false, false, false}, {"2", false, false, false},
	} {
		if v, ok := Bool(c.in, c.def); v != c.want || ok != c.ok {
			t.Errorf("Bool(%q, %v) = %v, %v", c.in, c.def, v, ok)
		}
		if v, ok := Bool(YesNo(c.want), !c.want); !ok || v != c.want {
			t.Errorf("YesNo(%v) does not read back", c.want)
		}
	}
}

func TestReadAll(t *testing.T) {
	if b, err := ReadAll(strings.NewReader("12345"), 5); err != nil || string(b) != "12345" {
		t.Errorf("a file at the limit: %q %v", b, err)
	}
	if _, err := ReadAll(strings.NewReader("123456"), 5); canopy.ErrorCode(err) != canopy.ETOOLARGE {
		t.Errorf("a file over the limit: %v", err)
	}
}

func TestSniffAndUTF8(t *testing.T) {
	for in, want := range map[string]rune{"a,b\n": ',', "a;b\n": ';', "a;b,c\n": ',', "a\nb;c": ',', "": ',', "a;b": ';'} {
		if got := sniffComma([]byte(in)); got != want {
			t.Errorf("sniffComma(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]int{"": 0, "abc": 3, "ab\xffc": 2, "é\xc3": 2, "\xed\xa0\x80": 0} {
		if got := firstInvalidUTF8([]byte(in)); got != want {
			t.Errorf("firstInvalidUTF8(%q) = %d, want %d", in, got, want)
		}
	}
}

// FuzzRead reads arbitrary bytes as a file. It must never panic; every
// problem must name a line of the file and have a key; and whatever it
// accepts must come back the same through the writer and a second read.
func FuzzRead(f *testing.F) {
	f.Add([]byte("id,name,note\na,A,x\nb,\"B\nB\",'=1\n"))
	f.Add([]byte("\xef\xbb\xbfID;Name;Note\r\na;A, A;x\r\n\r\n"))
	f.Add([]byte("id,name,note\na,A\n\"b,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := 1 + bytes.Count(data, []byte("\n"))
		var rows [][]string
		p := &Problems{}
		testFormat.Read(data, p, func(r Row) {
			if r.Line < 2 || r.Line > lines {
				t.Fatalf("a row on line %d of a file of %d", r.Line, lines)
			}
			rows = append(rows, []string{r.Cell("id"), r.Cell("name"), r.Cell("note")})
		})
		for _, e := range p.Errors {
			if e.Line < 1 || e.Line > lines || e.Key == "" {
				t.Fatalf("problem %+v in a file of %d lines", e, lines)
			}
		}
		if len(p.Errors) > DefaultMaxErrors {
			t.Fatalf("%d problems listed", len(p.Errors))
		}
		if len(p.Errors) > 0 {
			return
		}
		var out bytes.Buffer
		w := NewWriter(&out, testFormat.Columns)
		for _, r := range rows {
			if err := w.Write(map[string]string{"id": r[0], "name": r[1], "note": r[2]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		var again [][]string
		p = &Problems{}
		testFormat.Read(out.Bytes(), p, func(r Row) {
			again = append(again, []string{r.Cell("id"), r.Cell("name"), r.Cell("note")})
		})
		if len(rows) == 0 {
			t.Fatal("a file without a line after its header accepted")
		}
		if len(p.Errors) > 0 || !reflect.DeepEqual(rows, again) {
			t.Fatalf("round trip: %q\n%+v\nvs %q\n%s", rows, p.Errors, again, out.String())
		}
	})
}
