package support

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/csvfile"
	"github.com/canopy-org/canopy/internal/store"
)

// The directory as a CSV file (RFC 4180), for the spreadsheets partner
// organisations keep their lists in and for moving a directory between
// nodes. One line is one service with its provider's details repeated; a
// line with an empty service_id is a provider with no service yet. Every
// column below must be in the header, in any order:
//
//	provider_id        stable id of the provider: lower-case letters, digits, . _ -
//	provider_name      required
//	provider_website   provider_phone   provider_email
//	provider_active    yes or no (empty: yes)
//	service_id         stable id of the service, same form as provider_id
//	service_name       optional; the provider's name stands for it
//	needs              kinds of service: medical counselling legal shelter helpline education
//	description        a sentence or two
//	country            ISO 3166-1 alpha-2, such as FR
//	regions            separated by semicolons; empty: the whole country
//	languages          ISO 639 codes, such as fr ar fsl
//	min_age  max_age   whole years, 0 to 99
//	accessibility      step_free hearing_loop sign_language interpreter easy_read text_chat remote
//	hours              as the provider words them
//	always_open        yes or no
//	phone  website  email   the service's own, when not the provider's
//	free  confidential yes or no
//	capacity           open, waitlist, full, or empty when not known
//	active             yes or no (empty: yes)
//
// Lists of codes may be separated by spaces, commas or semicolons. A file
// whose columns are separated by semicolons (as spreadsheets write CSV in
// many European locales) is read as well; a byte-order mark is skipped.
//
// An import is all or nothing: one bad line and nothing is written, and
// every bad line is reported with what is wrong. It adds and changes by
// id and never deletes: a service the file does not mention stays as it
// is, and retiring one is marking it active = no. Importing a file twice,
// or the export of a directory into the same directory, changes nothing.
//
// A cell that begins with = + - or @ is exported with a leading
// apostrophe, which spreadsheets show as text instead of running it as a
// formula; the import takes the apostrophe off again.

// DirectoryColumns are the columns of the directory's CSV, in the order
// the export writes them.
var DirectoryColumns = []string{
	"provider_id", "provider_name", "provider_website", "provider_phone", "provider_email", "provider_active",
	"service_id", "service_name", "needs", "description", "country", "regions", "languages", "min_age", "max_age",
	"accessibility", "hours", "always_open", "phone", "website", "email", "free", "confidential", "capacity", "active",
}

// Limits on an import.
const (
	MaxImportBytes = 8 << 20 // a directory of tens of thousands of services
	maxImportRows  = 20_000
	// maxImportErrors bounds the problems an import lists: a wrong file
	// should not produce an answer as long as itself.
	maxImportErrors = 100
)

// Keys of an import's problems, besides the validation keys of the fields.
const (
	KeyImportInvalid   = "error.directory.import"           // the file has problems: nothing was imported
	KeyImportSyntax    = "error.directory.csv"              // not CSV: a stray quote, a line that does not end
	KeyImportColumns   = "error.directory.columns"          // a column is missing from the header: {0}
	KeyImportColumn    = "error.directory.column"           // a column the directory does not have: {0}
	KeyImportFields    = "error.directory.field_count"      // a line with more or fewer cells than the header
	KeyImportBool      = "error.directory.yes_no"           // not yes or no
	KeyImportNumber    = "error.directory.number"           // not a whole number
	KeyImportEmpty     = "error.directory.empty"            // no line after the header
	KeyImportTooMany   = "error.directory.too_many_lines"   // more than {0} lines
	KeyImportDuplicate = "error.directory.duplicate"        // a service id on two lines
	KeyImportDiffers   = "error.directory.provider_differs" // a provider's details differ from an earlier line's
	KeyImportNoService = "error.directory.service_missing"  // service details on a line without a service id
)

// LineError is one problem with one line of an import. Line 1 is the
// header. Field is the column, or "" for the line as a whole.
type LineError = csvfile.LineError

// ImportResult says what an import did, or would have done.
type ImportResult struct {
	ProvidersAdded, ProvidersChanged, ProvidersUnchanged int
	ServicesAdded, ServicesChanged, ServicesUnchanged    int
	// Errors lists the problems found, at most maxImportErrors of them;
	// when there is any, nothing was written. More is set when there
	// were more than it lists.
	Errors []LineError
	More   bool
}

// directoryFormat is the directory's file, its problems named as the
// directory's pages and catalogs have always named them.
var directoryFormat = csvfile.Format{Columns: DirectoryColumns, MaxRows: maxImportRows, Keys: csvfile.Keys{
	Syntax: KeyImportSyntax, Columns: KeyImportColumns, Column: KeyImportColumn, DuplicateColumn: dirDuplicate,
	Fields: KeyImportFields, Empty: KeyImportEmpty, TooMany: KeyImportTooMany, InvalidUTF8: dirInvalidUTF8,
}}

// directoryFile is a parsed import: each record once, with the line it
// was first read on.
type directoryFile struct {
	providers     []*canopy.Provider
	providerLines []int
	offers        []*canopy.ServiceOffer
	offerLines    []int
	problems      csvfile.Problems
	// errs and more are the problems found, once the file is read.
	errs []LineError
	more bool
}

func (f *directoryFile) fail(line int, field, key string, args ...any) {
	f.problems.Add(line, field, key, args...)
}

// parseDirectoryCSV reads a directory file and checks every line, without
// touching the database. It is what FuzzImportCSV exercises.
func parseDirectoryCSV(data []byte) *directoryFile {
	f := &directoryFile{problems: csvfile.Problems{Max: maxImportErrors}}
	providers := map[string]int{} // id → index in f.providers
	offers := map[string]int{}    // id → line
	directoryFormat.Read(data, &f.problems, func(row csvfile.Row) {
		f.line(row.Line, row.Cell, providers, offers)
	})
	f.errs, f.more = f.problems.Errors, f.problems.More
	return f
}

// line reads one line's provider and service. Problems go to f.errs;
// only a line without any is kept.
func (f *directoryFile) line(line int, cell func(string) string, providers map[string]int, offers map[string]int) {
	bad := false
	yesNo := func(field string, def bool) bool {
		v, ok := csvfile.Bool(cell(field), def)
		if !ok {
			f.fail(line, field, KeyImportBool)
			bad = true
		}
		return v
	}
	p := &canopy.Provider{ID: cell("provider_id"), Name: cell("provider_name"), Website: cell("provider_website"),
		Phone: cell("provider_phone"), Email: cell("provider_email"), Active: yesNo("provider_active", true)}
	providerBad := false
	if err := checkProvider(p); err != nil {
		for _, fe := range canopy.AsError(err).Fields {
			f.fail(line, "provider_"+fe.Field, fe.Key, fe.Args...)
		}
		providerBad = true
	}
	if i, ok := providers[p.ID]; ok && !providerBad {
		if len(providerDiff(f.providers[i], p)) > 0 {
			f.fail(line, "provider_id", KeyImportDiffers, f.providerLines[i])
			providerBad = true
		}
	} else if !providerBad && !bad {
		providers[p.ID] = len(f.providers)
		f.providers = append(f.providers, p)
		f.providerLines = append(f.providerLines, line)
	}

	if cell("service_id") == "" {
		for _, c := range DirectoryColumns[slices.Index(DirectoryColumns, "service_id")+1:] {
			if cell(c) != "" {
				f.fail(line, "service_id", KeyImportNoService)
				return
			}
		}
		return
	}
	agesBad := false
	age := func(field string) int {
		v := cell(field)
		n, err := strconv.Atoi(v)
		switch {
		case v == "":
			f.fail(line, field, dirRequired)
		case err != nil:
			f.fail(line, field, KeyImportNumber)
		default:
			return n
		}
		agesBad = true
		return 0
	}
	o := &canopy.ServiceOffer{ID: cell("service_id"), ProviderID: p.ID, Name: cell("service_name"),
		Needs: DirectoryCodes(cell("needs")), Description: cell("description"), Country: cell("country"),
		Regions: DirectoryRegions(cell("regions")), Languages: DirectoryCodes(cell("languages")),
		Ages:   canopy.AgeRange{Min: age("min_age"), Max: age("max_age")},
		Access: DirectoryCodes(cell("accessibility")), Hours: cell("hours"), AlwaysOpen: yesNo("always_open", false),
		Phone: cell("phone"), Website: cell("website"), Email: cell("email"), Free: yesNo("free", false),
		Confidential: yesNo("confidential", false), Capacity: cell("capacity"), Active: yesNo("active", true)}
	serviceBad := false
	if err := checkOffer(o); err != nil {
		for _, fe := range canopy.AsError(err).Fields {
			field := fe.Field
			switch {
			case field == "provider_id" || (agesBad && (field == "min_age" || field == "max_age")):
				continue // said above
			case field == "id" || field == "name":
				field = "service_" + field
			case field == "access":
				field = "accessibility"
			}
			f.fail(line, field, fe.Key, fe.Args...)
			serviceBad = true
		}
	}
	if first, ok := offers[o.ID]; ok {
		f.fail(line, "service_id", KeyImportDuplicate, first)
		return
	}
	offers[o.ID] = line
	if !bad && !providerBad && !agesBad && !serviceBad {
		f.offers = append(f.offers, o)
		f.offerLines = append(f.offerLines, line)
	}
}

// protectCell and unprotectCell are the shared formula protection.
var (
	protectCell   = csvfile.Protect
	unprotectCell = csvfile.Unprotect
)

// ImportDirectory reads a directory file and, if every line is good,
// adds and changes its providers and services in one transaction. A file
// with problems returns the result with its Errors and an EINVALID error,
// and nothing is written. One audit entry records the import: who, how
// much changed, and the file's SHA-256, so the file itself can be matched
// to it later.
func (s *Service) ImportDirectory(ctx context.Context, by audit.Actor, r io.Reader) (*ImportResult, error) {
	data, err := csvfile.ReadAll(r, MaxImportBytes)
	if canopy.ErrorCode(err) == canopy.ETOOLARGE {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("support: read directory file: %w", err)
	}
	sum := sha256.Sum256(data)
	details := map[string]string{"op": "import", "sha256": hex.EncodeToString(sum[:])}
	f := parseDirectoryCSV(data)
	res := &ImportResult{Errors: f.errs, More: f.more}
	if len(f.errs) > 0 {
		details["errors"] = strconv.Itoa(len(f.errs))
		if err := s.logImport(ctx, by, details, audit.Failed); err != nil {
			return nil, err
		}
		return res, &canopy.Error{Code: canopy.EINVALID, Key: KeyImportInvalid}
	}

	// Compare with what is there, so that only what changed is written
	// and stamped: the same file twice changes nothing. The comparison and
	// the write are not one transaction: an edit made on a page between
	// them is overwritten by the file, as it would be a moment later, and
	// only the counts could be off.
	existing, err := s.DB.Providers(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]*canopy.Provider{}
	for _, p := range existing {
		known[p.ID] = p
	}
	now := s.now()
	var putP []*canopy.Provider
	for _, p := range f.providers {
		old, ok := known[p.ID]
		switch {
		case !ok:
			res.ProvidersAdded++
		case len(providerDiff(old, p)) > 0:
			res.ProvidersChanged++
		default:
			res.ProvidersUnchanged++
			continue
		}
		p.Updated, p.UpdatedBy = now, string(by)
		putP = append(putP, p)
	}
	offers, err := s.DB.ServiceOffers(ctx, store.OfferFilter{})
	if err != nil {
		return nil, err
	}
	knownO := map[string]*canopy.ServiceOffer{}
	for _, o := range offers {
		knownO[o.ID] = o
	}
	var putO []*canopy.ServiceOffer
	for _, o := range f.offers {
		old, ok := knownO[o.ID]
		switch {
		case !ok:
			res.ServicesAdded++
		case len(offerDiff(old, o)) > 0:
			res.ServicesChanged++
		default:
			res.ServicesUnchanged++
			continue
		}
		o.Updated, o.UpdatedBy = now, string(by)
		putO = append(putO, o)
	}
	if len(putP)+len(putO) > 0 {
		if err := s.DB.PutDirectory(ctx, putP, putO); err != nil {
			return nil, err
		}
	}
	for k, v := range map[string]int{"providers_added": res.ProvidersAdded, "providers_changed": res.ProvidersChanged,
		"services_added": res.ServicesAdded, "services_changed": res.ServicesChanged} {
		details[k] = strconv.Itoa(v)
	}
	if err := s.logImport(ctx, by, details, audit.OK); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) logImport(ctx context.Context, by audit.Actor, details map[string]string, outcome audit.Outcome) error {
	e := audit.Entry{Actor: by, Action: audit.ActionServiceChange, Outcome: outcome, Details: details}
	if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("support: audit directory import: %w", err)
	}
	return nil
}

// ExportDirectory writes the whole directory, inactive entries included,
// as the CSV ImportDirectory reads: providers by name, each followed by
// its services.
func (s *Service) ExportDirectory(ctx context.Context, w io.Writer) error {
	entries, err := s.Directory(ctx)
	if err != nil {
		return err
	}
	return writeDirectoryCSV(w, entries)
}

// writeDirectoryCSV writes entries as a directory file.
func writeDirectoryCSV(w io.Writer, entries []DirectoryEntry) error {
	cw := csvfile.NewWriter(w, DirectoryColumns)
	yn := csvfile.YesNo
	for _, e := range entries {
		p := e.Provider
		services := e.Services
		if len(services) == 0 {
			services = []*canopy.ServiceOffer{nil}
		}
		for _, o := range services {
			row := map[string]string{"provider_id": p.ID, "provider_name": p.Name, "provider_website": p.Website,
				"provider_phone": p.Phone, "provider_email": p.Email, "provider_active": yn(p.Active)}
			if o != nil {
				for k, v := range map[string]string{"service_id": o.ID, "service_name": o.Name, "needs": strings.Join(o.Needs, " "),
					"description": o.Description, "country": o.Country, "regions": strings.Join(o.Regions, "; "),
					"languages": strings.Join(o.Languages, " "), "min_age": strconv.Itoa(o.Ages.Min), "max_age": strconv.Itoa(o.Ages.Max),
					"accessibility": strings.Join(o.Access, " "), "hours": o.Hours, "always_open": yn(o.AlwaysOpen), "phone": o.Phone,
					"website": o.Website, "email": o.Email, "free": yn(o.Free), "confidential": yn(o.Confidential),
					"capacity": o.Capacity, "active": yn(o.Active)} {
					row[k] = v
				}
			}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("support: export directory: %w", err)
			}
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("support: export directory: %w", err)
	}
	return nil
}
