// Package bank keeps the node's hash banks: named sets of hashes of known
// material with their provenance (who supplied them, under what agreement,
// who added each entry and when, its category and labels). It imports and
// exports them in the layouts partners already use — Canopy CSV and JSON
// lines, the ThreatExchange-style PDQ layout (hash, quality, metadata) and
// the hash fields of VICS media records — and versions every addition and
// removal so that a consumer can sync a bank from a cursor.
package bank

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// Service manages hash banks.
type Service struct {
	DB    *store.DB
	Audit *audit.Log
	Now   func() time.Time
	// Matcher, when set, is kept in step with every change, so a hash is
	// matchable as soon as its addition is durable.
	Matcher *Matcher
}

var bankName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Create makes a new, empty bank.
func (s *Service) Create(ctx context.Context, by audit.Actor, b canopy.Bank) (*canopy.Bank, error) {
	b.Name = strings.ToLower(strings.TrimSpace(b.Name))
	var fields []canopy.FieldError
	if !bankName.MatchString(b.Name) {
		fields = append(fields, canopy.FieldError{Field: "name", Key: "error.bank.name"})
	}
	for field, v := range map[string]string{"source_org": b.SourceOrg, "agreement": b.Agreement, "description": b.Description} {
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 500 {
			fields = append(fields, canopy.FieldError{Field: field, Key: "error.too_long", Args: []any{500}})
		}
	}
	if len(fields) > 0 {
		return nil, &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: fields}
	}
	b.ID, b.Created, b.CreatedBy = canopy.NewID(), s.Now().UTC(), string(by)
	if err := s.DB.CreateBank(ctx, &b); err != nil {
		return nil, err
	}
	if err := s.log(ctx, by, audit.ActionBankCreate, b.ID, nil); err != nil {
		return nil, err
	}
	return &b, nil
}

func (s *Service) log(ctx context.Context, by audit.Actor, action audit.Action, id string, details map[string]string) error {
	if s.Audit == nil {
		return fmt.Errorf("bank: no audit log")
	}
	_, err := s.Audit.Append(ctx, audit.Entry{Actor: by, Action: action, Kind: audit.KindBank, ID: id, Outcome: audit.OK, Details: details})
	if err != nil {
		return fmt.Errorf("bank: audit: %w", err)
	}
	return nil
}

// hexLen is the length of each exact and perceptual algorithm's values.
var hexLen = map[string]int{"pdq": 64, "md5": 32, "sha1": 40, "sha256": 64}

// opaque are licensed or proprietary schemes whose values the node keeps
// and exchanges as text without interpreting them.
var opaque = map[string]bool{"photodna": true}

// NormaliseEntry checks one entry and puts it in the form the node keeps:
// lowercase algorithm and hex, trimmed category and labels. It returns a
// message key when the entry cannot be kept.
func NormaliseEntry(e *canopy.BankEntry) string {
	e.Algorithm = strings.ToLower(strings.TrimSpace(e.Algorithm))
	e.Value = strings.TrimSpace(e.Value)
	if n, ok := hexLen[e.Algorithm]; ok {
		e.Value = strings.ToLower(e.Value)
		if len(e.Value) != n || strings.Trim(e.Value, "0123456789abcdef") != "" {
			return "error.hash.value"
		}
	} else if opaque[e.Algorithm] {
		if e.Value == "" || len(e.Value) > 4096 || !utf8.ValidString(e.Value) || strings.IndexFunc(e.Value, unicode.IsControl) >= 0 {
			return "error.hash.value"
		}
	} else {
		return "error.hash.algorithm"
	}
	if e.Algorithm != "pdq" || e.Quality < 0 || e.Quality > 100 {
		e.Quality = -1
	}
	e.Category = strings.TrimSpace(e.Category)
	if e.Category != "" && !canopy.IsCategory(e.Category) {
		return "error.unknown_code"
	}
	var labels []string
	for _, l := range e.Labels {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if len(l) > 64 || strings.ContainsAny(l, " ,") || strings.IndexFunc(l, unicode.IsControl) >= 0 || !utf8.ValidString(l) {
			return "error.bank.label"
		}
		labels = append(labels, l)
	}
	if len(labels) > 32 {
		return "error.too_many"
	}
	e.Labels = labels
	return ""
}

// LineError is a problem with one line or record of an import.
type LineError struct {
	Line int
	Key  string
}

// Result says what an import or a change did.
type Result struct {
	Added, Removed, Unchanged int
	Errors                    []LineError
}

// maxErrors bounds the line errors an import reports, so a wrong file does
// not produce a wrong answer a million lines long.
const maxErrors = 100

// Change adds or removes entries (op is canopy.BankAdd or BankRemove),
// stamped with who did it and when, in batches of a few thousand, each
// durable. Entries that fail validation are reported by position and the
// rest are applied.
func (s *Service) Change(ctx context.Context, by audit.Actor, bankName, op string, entries []canopy.BankEntry) (*Result, error) {
	b, err := s.DB.BankByName(ctx, bankName)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	now := s.Now().UTC()
	var batch []canopy.BankChange
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		applied, err := s.DB.ChangeBank(ctx, b.ID, batch)
		if err != nil {
			return err
		}
		for _, c := range applied {
			if c.Op == canopy.BankAdd {
				res.Added++
			} else {
				res.Removed++
			}
		}
		res.Unchanged += len(batch) - len(applied)
		if s.Matcher != nil {
			s.Matcher.Apply(b, applied)
		}
		batch = batch[:0]
		return nil
	}
	for i := range entries {
		e := entries[i]
		if key := NormaliseEntry(&e); key != "" {
			if len(res.Errors) < maxErrors {
				res.Errors = append(res.Errors, LineError{Line: i + 1, Key: key})
			}
			continue
		}
		e.AddedBy, e.Added = string(by), now
		batch = append(batch, canopy.BankChange{Op: op, BankEntry: e})
		if len(batch) == 2000 {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if res.Added+res.Removed > 0 {
		if err := s.log(ctx, by, audit.ActionBankChange, b.ID, map[string]string{
			"added": strconv.Itoa(res.Added), "removed": strconv.Itoa(res.Removed)}); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Changes returns up to limit changes of a bank after cursor ("" for the
// start), and the cursor to resume from. Cursors are opaque to callers.
func (s *Service) Changes(ctx context.Context, bankName, cursor string, limit int) ([]canopy.BankChange, string, error) {
	b, err := s.DB.BankByName(ctx, bankName)
	if err != nil {
		return nil, "", err
	}
	var since int64
	if cursor != "" {
		since, err = strconv.ParseInt(cursor, 36, 64)
		if err != nil || since < 0 {
			return nil, "", &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid",
				Fields: []canopy.FieldError{{Field: "since", Key: "error.bank.cursor"}}}
		}
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	changes, err := s.DB.BankChanges(ctx, b.ID, since, limit)
	if err != nil {
		return nil, "", err
	}
	if len(changes) > 0 {
		since = changes[len(changes)-1].Seq
	}
	return changes, strconv.FormatInt(since, 36), nil
}
