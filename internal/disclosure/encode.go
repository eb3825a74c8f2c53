package disclosure

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/canopy-org/canopy/internal/csvfile"
)

// Mark is what the public sees in place of a hidden count: in place of
// every hidden count under OneMark, and under TwoMarks of all but the
// small inner cells, which show SmallMark. It is not "<10" because
// most secondary cells are not under 10, and a page must not say they
// are. Pages explain it in their legend (docs/disclosure.md suggests
// wordings) and may translate it; the CSV and JSON carry it as is.
//
// Written into published files: never change it.
const Mark = "suppressed"

// SmallMark is what TwoMarks shows in place of an inner count under the
// threshold: "<10" for the default. Hidden margins show Mark even when
// small (see TwoMarks).
func SmallMark(threshold int64) string {
	return "<" + strconv.FormatInt(threshold, 10)
}

// Show returns what a page shows for a cell, inner or margin: its count
// in decimal, or the mark its Marks give it.
func (p *Protected) Show(index ...int) string {
	return p.show(p.t.mustFlat(index))
}

func (p *Protected) show(f int) string {
	switch {
	case p.status[f] == Published:
		return strconv.FormatInt(p.t.counts[f], 10)
	case p.marks == TwoMarks && p.status[f] == Primary && !p.t.margin[f]:
		return SmallMark(p.threshold)
	}
	return Mark
}

// jsonTable is the JSON form of a protected table. Field names are
// published: add, never rename.
type jsonTable struct {
	Method     string          `json:"method"`
	Threshold  int64           `json:"threshold"`
	Marks      string          `json:"marks"`
	Dimensions []jsonDimension `json:"dimensions"`
	Cells      []jsonCell      `json:"cells"`
}

type jsonDimension struct {
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
}

// jsonCell is one cell. Key holds one label per dimension, null for a
// margin; Count is null when the cell is hidden, and Mark then says what
// the page shows.
type jsonCell struct {
	Key   []*string `json:"key"`
	Count *int64    `json:"count"`
	Mark  string    `json:"mark,omitempty"`
}

// WriteJSON writes the table as published, under its marks: the method,
// the threshold and the marks ("one" or "two"), the dimensions with
// their labels, and every cell, inner and margin, in a fixed order
// (row-major, each dimension's margin after its labels). A hidden cell
// has "count": null and its "mark". The same protected table always
// encodes to the same bytes, so nodes can compare them. Strings are
// escaped for safe inclusion in HTML ("<10" is written "\u003c10"),
// which any JSON reader reads back as it was.
func (p *Protected) WriteJSON(w io.Writer) error {
	t := p.t
	out := jsonTable{Method: Method, Threshold: p.threshold, Marks: p.marks.String(), Cells: make([]jsonCell, len(t.counts))}
	for _, d := range t.dims {
		out.Dimensions = append(out.Dimensions, jsonDimension(d))
	}
	var c [MaxDims]int
	for f := range t.counts {
		t.coords(f, &c)
		key := make([]*string, len(t.size))
		for k := range t.size {
			if c[k] < t.size[k] {
				key[k] = &t.dims[k].Labels[c[k]]
			}
		}
		cell := jsonCell{Key: key}
		if p.status[f] == Published {
			v := t.counts[f]
			cell.Count = &v
		} else {
			cell.Mark = p.show(f)
		}
		out.Cells[f] = cell
	}
	if err := json.NewEncoder(w).Encode(out); err != nil {
		return fmt.Errorf("disclosure: write json: %w", err)
	}
	return nil
}

// WriteCSV writes the table as published, under its marks, one row per cell
// in the order of WriteJSON: a header with the dimensions' names and
// "count", then each cell's labels (TotalLabel for a margin) and its
// count or mark.
//
// Labels and names come from the caller; one that a spreadsheet would
// read as a formula (starting with = + - @, a tab or a carriage return)
// is written with a leading apostrophe. Counts are digits and the marks
// plain text starting with a letter or "<", so neither needs it.
func (p *Protected) WriteCSV(w io.Writer) error {
	t := p.t
	cw := csv.NewWriter(w)
	rec := make([]string, len(t.size)+1)
	for k, d := range t.dims {
		rec[k] = csvfile.Protect(d.Name)
	}
	rec[len(t.size)] = "count"
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("disclosure: write csv: %w", err)
	}
	var c [MaxDims]int
	for f := range t.counts {
		t.coords(f, &c)
		for k := range t.size {
			if c[k] == t.size[k] {
				rec[k] = TotalLabel
			} else {
				rec[k] = csvfile.Protect(t.dims[k].Labels[c[k]])
			}
		}
		rec[len(t.size)] = p.show(f)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("disclosure: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("disclosure: write csv: %w", err)
	}
	return nil
}
