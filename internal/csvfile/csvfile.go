// Package csvfile reads and writes the CSV files (RFC 4180) that staff
// keep lists in and move between nodes: the directory of support
// services, the hosts that take notices. It knows files, not records: a
// header row naming the columns, in any order and case; the separator a
// spreadsheet chose; a byte-order mark; text that is not UTF-8; cells a
// spreadsheet would run as formulas. Each importer reads its records from
// the rows and reports its own problems next to the file's, by line and
// column, with catalog keys.
package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
)

// Keys of the problems this package finds, and of those every importer
// has; an importer may name the file's problems its own way (Keys).
const (
	KeyInvalid         = "error.csv.invalid"        // the file has problems: nothing was imported
	KeySyntax          = "error.csv.syntax"         // not CSV: a stray quote, a quoted cell that does not end
	KeyColumns         = "error.csv.columns"        // a column is missing from the header: {0}
	KeyColumn          = "error.csv.column"         // a column the file may not have: {0}
	KeyDuplicateColumn = "error.duplicate"          // a column twice in the header
	KeyFields          = "error.csv.field_count"    // a line with more or fewer cells than the header
	KeyEmpty           = "error.csv.empty"          // no line after the header
	KeyTooMany         = "error.csv.too_many_lines" // more than {0} lines
	KeyInvalidUTF8     = "error.invalid_utf8"       // not UTF-8 (Latin-1 from an old spreadsheet)
	KeyYesNo           = "error.csv.yes_no"         // not yes or no
	KeyNumber          = "error.csv.number"         // not a whole number
	KeyRepeated        = "error.csv.repeated"       // a record's id is on line {0} too
)

// DefaultMaxErrors is how many problems a file's answer lists when
// Problems.Max is zero: a wrong file should not produce an answer as long
// as itself.
const DefaultMaxErrors = 100

// LineError is one problem with one line of a file. Line 1 is the
// header. Field is the column, or "" for the line as a whole.
type LineError struct {
	Line  int
	Field string
	Key   string
	Args  []any
}

// Problems collects what is wrong with a file, in the order found.
type Problems struct {
	Max    int // at most this many are listed; 0 for DefaultMaxErrors
	Errors []LineError
	More   bool // there were more problems than Errors lists
}

// Add records a problem.
func (p *Problems) Add(line int, field, key string, args ...any) {
	limit := p.Max
	if limit <= 0 {
		limit = DefaultMaxErrors
	}
	if len(p.Errors) >= limit {
		p.More = true
		return
	}
	p.Errors = append(p.Errors, LineError{Line: line, Field: field, Key: key, Args: args})
}

// Result says what an import of one kind of record did, or would have
// done. When Errors has any, nothing was written.
type Result struct {
	Added, Changed, Unchanged int
	Errors                    []LineError
	More                      bool // there were more problems than Errors lists
}

// Keys name the problems of a file as a whole. An empty key is the
// package's own (KeySyntax and so on).
type Keys struct {
	Syntax, Columns, Column, DuplicateColumn, Fields, Empty, TooMany, InvalidUTF8 string
}

// or is key, or def when key is empty.
func or(key, def string) string {
	if key != "" {
		return key
	}
	return def
}

// Format is one kind of file.
type Format struct {
	// Columns must all be in the header, and nothing else: a column
	// left out would empty a field of every record, and a misspelt one
	// would be ignored without a word.
	Columns []string
	MaxRows int // lines after the header; 0 for no limit
	Keys    Keys
}

// Row is one line after the header. It is valid only during the call
// that received it.
type Row struct {
	Line int // where the line begins in the file; a quoted cell may span lines
	rec  []string
	col  map[string]int
}

// Cell returns the named column's cell, without the spaces around it and
// without the apostrophe Protect puts before a formula.
func (r Row) Cell(name string) string {
	i, ok := r.col[name]
	if !ok {
		panic("csvfile: no column " + name)
	}
	return Unprotect(strings.TrimSpace(r.rec[i]))
}

// Read reads a whole file and calls each with every line after the
// header that has as many cells as the header; blank lines are skipped.
// What is wrong with the file goes to p. A problem of the file as a
// whole (its encoding, its CSV syntax, its header, its length) stops the
// reading; a line of the wrong width is reported and skipped; each
// reports a line's own problems to p too, so that they come in order.
func (f *Format) Read(data []byte, p *Problems, each func(Row)) {
	k := f.Keys
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		// Report the first bad line; a file in another encoding is bad
		// throughout.
		p.Add(1+bytes.Count(data[:firstInvalidUTF8(data)], []byte("\n")), "", or(k.InvalidUTF8, KeyInvalidUTF8))
		return
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = sniffComma(data)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		p.Add(1, "", or(k.Empty, KeyEmpty))
		return
	}
	if err != nil {
		p.Add(errorLine(err, 1), "", or(k.Syntax, KeySyntax))
		return
	}
	bad := false
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		switch _, seen := col[h]; {
		case !slices.Contains(f.Columns, h):
			p.Add(1, "", or(k.Column, KeyColumn), truncate(h))
			bad = true
		case seen:
			p.Add(1, h, or(k.DuplicateColumn, KeyDuplicateColumn))
			bad = true
		default:
			col[h] = i
		}
	}
	for _, c := range f.Columns {
		if _, ok := col[c]; !ok {
			p.Add(1, "", or(k.Columns, KeyColumns), c)
			bad = true
		}
	}
	if bad {
		return
	}
	width := len(header)
	rows := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.Add(errorLine(err, 1), "", or(k.Syntax, KeySyntax))
			return
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line, as spreadsheets leave at the end
		}
		if rows++; f.MaxRows > 0 && rows > f.MaxRows {
			p.Add(line, "", or(k.TooMany, KeyTooMany), f.MaxRows)
			return
		}
		if len(rec) != width {
			p.Add(line, "", or(k.Fields, KeyFields))
			continue
		}
		each(Row{Line: line, rec: rec, col: col})
	}
	if rows == 0 {
		p.Add(1, "", or(k.Empty, KeyEmpty))
	}
}

// ReadAll reads a whole file of at most max bytes. A larger one is
// refused with ETOOLARGE before it is all read.
func ReadAll(r io.Reader, max int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, &canopy.Error{Code: canopy.ETOOLARGE, Key: "error.too_large"}
	}
	return data, nil
}

// Bool reads a yes-or-no cell the ways people type it; an empty cell is
// def. ok is false for anything else.
func Bool(cell string, def bool) (v, ok bool) {
	switch strings.ToLower(cell) {
	case "":
		return def, true
	case "yes", "y", "true", "1":
		return true, true
	case "no", "n", "false", "0":
		return false, true
	}
	return def, false
}

// YesNo writes a bool as Bool reads it.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// sniffComma picks the separator from the header line: a semicolon when
// the line has semicolons and no comma, as spreadsheets write CSV in
// many European locales.
func sniffComma(data []byte) rune {
	head, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.IndexByte(head, ';') >= 0 && bytes.IndexByte(head, ',') < 0 {
		return ';'
	}
	return ','
}

// errorLine is the line a CSV syntax error is on.
func errorLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return def
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// truncate keeps a column name from the file short enough to show back.
func truncate(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

// formulaStart are the first characters a spreadsheet reads as a formula.
const formulaStart = "=+-@\t\r"

// Protect makes a cell a spreadsheet shows as text: a name such as
// "=HYPERLINK(…)" typed into a list must not run when staff open its
// export. It puts an apostrophe before it, which spreadsheets hide; and
// one more before a value that already begins with apostrophes and a
// formula, so that Unprotect gives back exactly what was protected.
func Protect(s string) string {
	if formulaAt(s, 0) {
		return "'" + s
	}
	return s
}

// Unprotect undoes Protect.
func Unprotect(s string) string {
	if formulaAt(s, 1) {
		return s[1:]
	}
	return s
}

// formulaAt reports whether s begins with at least quotes apostrophes
// and then a character a spreadsheet starts a formula with.
func formulaAt(s string, quotes int) bool {
	i := 0
	for i < len(s) && s[i] == '\'' {
		i++
	}
	return i >= quotes && i < len(s) && strings.IndexByte(formulaStart, s[i]) >= 0
}

// Writer writes a file: the header, then a line per Write, every cell
// protected from being run as a formula.
type Writer struct {
	columns []string
	cw      *csv.Writer
	rec     []string
	started bool
}

// NewWriter returns a writer of a file with these columns, in this order.
func NewWriter(w io.Writer, columns []string) *Writer {
	return &Writer{columns: columns, cw: csv.NewWriter(w), rec: make([]string, len(columns))}
}

func (w *Writer) header() error {
	if w.started {
		return nil
	}
	w.started = true
	return w.cw.Write(w.columns)
}

// Write writes one line, its cells by column name. A column row lacks is
// written empty; a name that is not a column is a mistake of the caller's
// and an error.
func (w *Writer) Write(row map[string]string) error {
	if err := w.header(); err != nil {
		return err
	}
	for name := range row {
		if !slices.Contains(w.columns, name) {
			return fmt.Errorf("csvfile: no column %q", name)
		}
	}
	for i, c := range w.columns {
		w.rec[i] = Protect(row[c])
	}
	return w.cw.Write(w.rec)
}

// Flush writes what is buffered, and the header when nothing else was
// written, so that an empty list is a template still.
func (w *Writer) Flush() error {
	if err := w.header(); err != nil {
		return err
	}
	w.cw.Flush()
	return w.cw.Error()
}
