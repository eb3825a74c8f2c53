package bank

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
)

// Formats Import reads and Export writes.
const (
	// FormatCSV is Canopy's CSV: a header line naming the columns
	// algorithm,value,quality,category,labels (labels space-separated),
	// and on export also added_by,added_at.
	FormatCSV = "csv"
	// FormatJSONL is one JSON object per line with the same members.
	FormatJSONL = "jsonl"
	// FormatThreatExchange is the ThreatExchange-style PDQ layout: lines of
	// hash,quality and any further comma-separated metadata, which is kept
	// as labels; no header. Lines starting with '#' are comments.
	FormatThreatExchange = "te"
	// FormatVICS reads the hash fields (MD5, SHA1, SHA256, PhotoDNA) of the
	// Media records of a VICS (Project VIC) JSON document. Import only.
	FormatVICS = "vics"
)

// Formats lists what Import accepts.
var Formats = []string{FormatCSV, FormatJSONL, FormatThreatExchange, FormatVICS}

// maxImport bounds one import, so one upload cannot hold the node's memory.
const maxImport = 5_000_000

type jsonEntry struct {
	Algorithm string   `json:"algorithm"`
	Value     string   `json:"value"`
	Quality   *int     `json:"quality,omitempty"`
	Category  string   `json:"category,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	AddedBy   string   `json:"added_by,omitempty"`
	AddedAt   string   `json:"added_at,omitempty"`
}

func invalidFormat(format string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid",
		Fields: []canopy.FieldError{{Field: "format", Key: "error.unknown_code"}}, Err: fmt.Errorf("bank: format %q", format)}
}

// Import reads entries in format from r and adds them to the bank. Lines
// that cannot be read are reported with their line numbers and skipped;
// the rest are added.
func (s *Service) Import(ctx context.Context, by audit.Actor, bankName, format string, r io.Reader) (*Result, error) {
	p, err := Parse(format, r)
	if err != nil {
		return nil, err
	}
	res, err := s.Change(ctx, by, bankName, canopy.BankAdd, p.Entries)
	if res != nil {
		for i := range res.Errors {
			res.Errors[i].Line = p.Lines[res.Errors[i].Line-1]
		}
		res.Errors = append(p.Errors, res.Errors...)
		if len(res.Errors) > maxErrors {
			res.Errors = res.Errors[:maxErrors]
		}
	}
	return res, err
}

// Parsed is what Parse read: entries with the line (or record) each came
// from, and the lines it could not read.
type Parsed struct {
	Entries []canopy.BankEntry
	Lines   []int
	Errors  []LineError
}

func (p *Parsed) add(line int, e canopy.BankEntry) error {
	if len(p.Entries) >= maxImport {
		return &canopy.Error{Code: canopy.ETOOLARGE, Key: "error.too_large", Err: fmt.Errorf("bank: more than %d entries", maxImport)}
	}
	p.Entries = append(p.Entries, e)
	p.Lines = append(p.Lines, line)
	return nil
}

func (p *Parsed) fail(line int, key string) {
	if len(p.Errors) < maxErrors {
		p.Errors = append(p.Errors, LineError{Line: line, Key: key})
	}
}

// Parse reads entries in format without storing them.
func Parse(format string, r io.Reader) (*Parsed, error) {
	switch format {
	case FormatCSV:
		return parseCSV(r)
	case FormatJSONL:
		return parseJSONL(r)
	case FormatThreatExchange:
		return parseTE(r)
	case FormatVICS:
		return parseVICS(r)
	}
	return nil, invalidFormat(format)
}

func parseCSV(r io.Reader) (*Parsed, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	p := &Parsed{}
	head, err := cr.Read()
	if err != nil {
		return nil, &canopy.Error{Code: canopy.EINVALID, Key: "error.bank.header", Err: fmt.Errorf("bank: csv header: %w", err)}
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	if _, ok := col["algorithm"]; !ok {
		return nil, &canopy.Error{Code: canopy.EINVALID, Key: "error.bank.header"}
	}
	if _, ok := col["value"]; !ok {
		return nil, &canopy.Error{Code: canopy.EINVALID, Key: "error.bank.header"}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.fail(pe.Line, "error.bank.line")
				continue
			}
			return nil, fmt.Errorf("bank: read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		e := canopy.BankEntry{Algorithm: get(rec, "algorithm"), Value: get(rec, "value"), Quality: -1,
			Category: get(rec, "category"), Labels: strings.Fields(get(rec, "labels"))}
		if q := strings.TrimSpace(get(rec, "quality")); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil {
				p.fail(line, "error.bank.quality")
				continue
			}
			e.Quality = n
		}
		if err := p.add(line, e); err != nil {
			return nil, err
		}
	}
}

// lines calls fn for each line of r, numbered from 1, refusing lines over
// 1 MiB.
func lines(r io.Reader, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.bank.line", Err: fmt.Errorf("bank: line %d: %w", n+1, err)}
	}
	return nil
}

func parseJSONL(r io.Reader) (*Parsed, error) {
	p := &Parsed{}
	err := lines(r, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		var j jsonEntry
		d := json.NewDecoder(strings.NewReader(line))
		d.DisallowUnknownFields()
		if err := d.Decode(&j); err != nil || d.More() {
			p.fail(n, "error.bank.line")
			return nil
		}
		e := canopy.BankEntry{Algorithm: j.Algorithm, Value: j.Value, Quality: -1, Category: j.Category, Labels: j.Labels}
		if j.Quality != nil {
			e.Quality = *j.Quality
		}
		return p.add(n, e)
	})
	return p, err
}

func parseTE(r io.Reader) (*Parsed, error) {
	p := &Parsed{}
	err := lines(r, func(n int, line string) error {
		line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
		if line == "" || strings.HasPrefix(line, "#") {
			return nil
		}
		fields := strings.Split(line, ",")
		e := canopy.BankEntry{Algorithm: "pdq", Value: fields[0], Quality: -1}
		if len(fields) > 1 && strings.TrimSpace(fields[1]) != "" {
			q, err := strconv.Atoi(strings.TrimSpace(fields[1]))
			if err != nil {
				p.fail(n, "error.bank.quality")
				return nil
			}
			e.Quality = q
		}
		for _, m := range fields[min(2, len(fields)):] {
			e.Labels = append(e.Labels, strings.Fields(m)...)
		}
		return p.add(n, e)
	})
	return p, err
}

// vicsDoc is the part of a VICS document that carries hashes: an OData
// "value" array of cases, each with Media records.
type vicsDoc struct {
	Value []struct {
		Media []map[string]any `json:"Media"`
	} `json:"value"`
}

// vicsFields maps VICS media hash fields to algorithms.
var vicsFields = []struct{ field, algorithm string }{
	{"MD5", "md5"}, {"SHA1", "sha1"}, {"SHA256", "sha256"}, {"PhotoDNA", "photodna"},
}

func parseVICS(r io.Reader) (*Parsed, error) {
	var doc vicsDoc
	if err := json.NewDecoder(io.LimitReader(r, 2<<30)).Decode(&doc); err != nil {
		return nil, &canopy.Error{Code: canopy.EINVALID, Key: "error.bank.vics", Err: fmt.Errorf("bank: vics: %w", err)}
	}
	p := &Parsed{}
	record := 0
	for _, c := range doc.Value {
		for _, m := range c.Media {
			record++
			var labels []string
			if cat, ok := m["Category"]; ok {
				labels = append(labels, fmt.Sprintf("vics-category-%v", cat))
			}
			found := false
			for _, f := range vicsFields {
				v, ok := m[f.field].(string)
				if !ok || strings.TrimSpace(v) == "" {
					continue
				}
				found = true
				if err := p.add(record, canopy.BankEntry{Algorithm: f.algorithm, Value: v, Quality: -1, Labels: labels}); err != nil {
					return nil, err
				}
			}
			if !found {
				p.fail(record, "error.bank.no_hash")
			}
		}
	}
	return p, nil
}

// Export writes every entry a bank holds in format (csv, jsonl or te; te
// carries only PDQ entries).
func (s *Service) Export(ctx context.Context, bankName, format string, w io.Writer) error {
	b, err := s.DB.BankByName(ctx, bankName)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var write func(canopy.BankEntry) error
	finish := bw.Flush
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(bw)
		finish = func() error {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			return bw.Flush()
		}
		cw.Write([]string{"algorithm", "value", "quality", "category", "labels", "added_by", "added_at"})
		write = func(e canopy.BankEntry) error {
			q := ""
			if e.Quality >= 0 {
				q = strconv.Itoa(e.Quality)
			}
			return cw.Write([]string{e.Algorithm, e.Value, q, e.Category, strings.Join(e.Labels, " "), e.AddedBy, e.Added.Format(time.RFC3339)})
		}
	case FormatJSONL:
		enc := json.NewEncoder(bw)
		write = func(e canopy.BankEntry) error {
			j := jsonEntry{Algorithm: e.Algorithm, Value: e.Value, Category: e.Category, Labels: e.Labels,
				AddedBy: e.AddedBy, AddedAt: e.Added.Format(time.RFC3339)}
			if e.Quality >= 0 {
				j.Quality = &e.Quality
			}
			return enc.Encode(j)
		}
	case FormatThreatExchange:
		write = func(e canopy.BankEntry) error {
			if e.Algorithm != "pdq" {
				return nil
			}
			q := ""
			if e.Quality >= 0 {
				q = strconv.Itoa(e.Quality)
			}
			_, err := fmt.Fprintf(bw, "%s,%s%s\n", e.Value, q, labelSuffix(e.Labels))
			return err
		}
	default:
		return invalidFormat(format)
	}
	if err := s.DB.BankEntries(ctx, b.ID, write); err != nil {
		return err
	}
	if err := finish(); err != nil {
		return fmt.Errorf("bank: export %s: %w", bankName, err)
	}
	return nil
}

func labelSuffix(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	return "," + strings.Join(labels, ",")
}
