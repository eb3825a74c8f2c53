package takedown

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/csvfile"
)

// The list of hosts as a CSV file, for the provider directories hotlines
// keep in spreadsheets and for moving a list between nodes. One line is
// one host. Every column below must be in the header, in any order:
//
//	id                    stable id: lower-case letters, digits, _ and -, such as ovh
//	name                  required
//	kind                  hosting or platform
//	jurisdictions         ISO 3166-1 codes of the countries whose law it answers to, such as FR BE
//	domains               host names it serves, such as example.com (covering cdn.example.com)
//	networks              address prefixes it hosts, such as 203.0.113.0/24
//	method                email or webhook
//	email                 the abuse address, for email
//	webhook               the https endpoint, for webhook
//	language              of its notices: en, fr… (empty: en)
//	remind_after_hours    whole hours, 1 to 720 (empty: the node's default)
//	escalate_after_hours  likewise
//	platform              the platform account that confirms its removals through the API, or empty
//	active                yes or no (empty: yes)
//
// Lists are separated by spaces or semicolons. Separators, the byte-order
// mark and formulas are as csvfile reads and writes them.
//
// An import is all or nothing: one bad line and nothing is written, and
// every bad line is reported with its column and what is wrong. It adds
// and changes hosts by id and never deletes: a host the file does not
// mention stays, and retiring one is marking it active = no. Importing a
// file twice, or the export of a list into the same list, changes nothing
// and audits nothing.

// HostColumns are the columns of the host list's CSV, in the order the
// export writes them.
var HostColumns = []string{"id", "name", "kind", "jurisdictions", "domains", "networks", "method", "email", "webhook",
	"language", "remind_after_hours", "escalate_after_hours", "platform", "active"}

// Limits on an import of hosts.
const (
	MaxHostsBytes = 4 << 20 // ten thousand hosts with hundreds of domains each would not fit, nor exist
	maxHostRows   = 10_000
	maxHostErrors = csvfile.DefaultMaxErrors
)

var hostsFormat = csvfile.Format{Columns: HostColumns, MaxRows: maxHostRows}

// hostColumn is the column of a field NormaliseHost names.
func hostColumn(field string) string {
	switch field {
	case "remind_after", "escalate_after":
		return field + "_hours"
	}
	return field
}

// hostFile is a parsed host list: its good hosts and the problems of
// the others.
type hostFile struct {
	hosts    []*canopy.Host
	problems csvfile.Problems
}

// parseHostsCSV reads a host list and checks every line, without
// touching the database: platform says whether a platform account
// exists. It is what FuzzImportHosts exercises.
func parseHostsCSV(data []byte, platform func(id string) bool) *hostFile {
	f := &hostFile{problems: csvfile.Problems{Max: maxHostErrors}}
	ids := map[string]int{} // id → the line it is first on
	hostsFormat.Read(data, &f.problems, func(row csvfile.Row) {
		if h := f.line(row, platform, ids); h != nil {
			f.hosts = append(f.hosts, h)
		}
	})
	return f
}

// line reads one line's host, or returns nil with its problems reported.
func (f *hostFile) line(row csvfile.Row, platform func(string) bool, ids map[string]int) *canopy.Host {
	fail := func(column, key string, args ...any) { f.problems.Add(row.Line, column, key, args...) }
	reported := map[string]bool{} // columns whose cell is not even of the right form
	hours := func(column string) time.Duration {
		v := row.Cell(column)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			fail(column, csvfile.KeyNumber)
			reported[column] = true
			return 0
		}
		// Far out of range stays out of range, without overflowing.
		return time.Duration(max(-1, min(n, 1<<20))) * time.Hour
	}
	h := &canopy.Host{ID: row.Cell("id"), Name: row.Cell("name"), Kind: strings.ToLower(row.Cell("kind")),
		Jurisdictions: hostList(row.Cell("jurisdictions")), Domains: hostList(row.Cell("domains")),
		Networks: hostList(row.Cell("networks")), Method: strings.ToLower(row.Cell("method")), Email: row.Cell("email"),
		Webhook: row.Cell("webhook"), Language: row.Cell("language"), RemindAfter: hours("remind_after_hours"),
		EscalateAfter: hours("escalate_after_hours"), Platform: row.Cell("platform")}
	active, ok := csvfile.Bool(row.Cell("active"), true)
	if !ok {
		fail("active", csvfile.KeyYesNo)
		reported["active"] = true
	}
	h.Active = active
	for _, fe := range NormaliseHost(h) {
		column := hostColumn(fe.Field)
		if !reported[column] {
			fail(column, fe.Key, fe.Args...)
			reported[column] = true
		}
	}
	if h.Platform != "" && !reported["platform"] && !platform(h.Platform) {
		fail("platform", "error.takedown.platform")
		reported["platform"] = true
	}
	if !reported["id"] {
		if first, ok := ids[h.ID]; ok {
			fail("id", csvfile.KeyRepeated, first)
			reported["id"] = true
		} else {
			ids[h.ID] = row.Line
		}
	}
	if len(reported) > 0 {
		return nil
	}
	return h
}

// hostList splits a cell's list at spaces and semicolons.
func hostList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
}

// ImportHosts reads a host list and, if every line is good, adds and
// changes its hosts in one transaction, each change audited as PutHosts
// audits it, and one more entry for the file: who, how much changed, and
// its SHA-256. Hosts the file leaves as they are are not written, so the
// same file twice changes and audits nothing. A file with problems
// returns the result with its Errors and an EINVALID error, is audited
// as a failed import, and writes nothing.
func (s *Service) ImportHosts(ctx context.Context, by audit.Actor, r io.Reader) (*csvfile.Result, error) {
	data, err := csvfile.ReadAll(r, MaxHostsBytes)
	if canopy.ErrorCode(err) == canopy.ETOOLARGE {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("takedown: read host list: %w", err)
	}
	sum := sha256.Sum256(data)
	details := map[string]string{"op": "import", "sha256": hex.EncodeToString(sum[:])}

	var dbErr error
	platforms := map[string]bool{}
	exists := func(id string) bool {
		if ok, seen := platforms[id]; seen {
			return ok
		}
		_, err := s.DB.Platform(ctx, id)
		if err != nil && canopy.ErrorCode(err) != canopy.ENOTFOUND && dbErr == nil {
			dbErr = err
		}
		platforms[id] = err == nil
		return err == nil
	}
	f := parseHostsCSV(data, exists)
	if dbErr != nil {
		return nil, dbErr
	}
	res := &csvfile.Result{Errors: f.problems.Errors, More: f.problems.More}
	if len(res.Errors) > 0 {
		details["errors"] = strconv.Itoa(len(res.Errors))
		if err := s.logHostImport(ctx, by, details, audit.Failed); err != nil {
			return nil, err
		}
		return res, &canopy.Error{Code: canopy.EINVALID, Key: csvfile.KeyInvalid}
	}

	// Compare with the list, so that only what changed is written and
	// audited. The comparison and the write are not one transaction: an
	// edit made on a page between them is overwritten by the file, as it
	// would be a moment later, and only the counts could be off.
	existing, err := s.DB.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	known := make(map[string]*canopy.Host, len(existing))
	for i := range existing {
		known[existing[i].ID] = &existing[i]
	}
	var put []*canopy.Host
	for _, h := range f.hosts {
		old, ok := known[h.ID]
		switch {
		case !ok:
			res.Added++
		case len(changedFields(old, h)) > 0:
			res.Changed++
		default:
			res.Unchanged++
			continue
		}
		put = append(put, h)
	}
	if len(put) == 0 {
		return res, nil
	}
	if err := s.PutHosts(ctx, by, put); err != nil {
		return nil, err
	}
	details["added"], details["changed"] = strconv.Itoa(res.Added), strconv.Itoa(res.Changed)
	if err := s.logHostImport(ctx, by, details, audit.OK); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) logHostImport(ctx context.Context, by audit.Actor, details map[string]string, outcome audit.Outcome) error {
	e := audit.Entry{Actor: by, Action: audit.ActionHostChange, Outcome: outcome, Details: details}
	if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("takedown: audit host import: %w", err)
	}
	return nil
}

// ExportHosts writes the whole list of hosts, inactive ones included, by
// name, as the CSV ImportHosts reads.
func (s *Service) ExportHosts(ctx context.Context, w io.Writer) error {
	hosts, err := s.DB.Hosts(ctx)
	if err != nil {
		return err
	}
	return writeHostsCSV(w, hosts)
}

// writeHostsCSV writes hosts as a host list.
func writeHostsCSV(w io.Writer, hosts []canopy.Host) error {
	cw := csvfile.NewWriter(w, HostColumns)
	hours := func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return strconv.Itoa(int(d / time.Hour))
	}
	for _, h := range hosts {
		row := map[string]string{"id": h.ID, "name": h.Name, "kind": h.Kind, "jurisdictions": strings.Join(h.Jurisdictions, " "),
			"domains": strings.Join(h.Domains, " "), "networks": strings.Join(h.Networks, " "), "method": h.Method,
			"email": h.Email, "webhook": h.Webhook, "language": h.Language, "remind_after_hours": hours(h.RemindAfter),
			"escalate_after_hours": hours(h.EscalateAfter), "platform": h.Platform, "active": csvfile.YesNo(h.Active)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("takedown: export hosts: %w", err)
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("takedown: export hosts: %w", err)
	}
	return nil
}
