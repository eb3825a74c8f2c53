package support

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var directoryT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// newDirectoryService is a support service on db with its own audit log
// and a fixed clock.
func newDirectoryService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "test-node")
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	now := func() time.Time { return directoryT0 }
	log.Now = now
	return &Service{DB: db, Audit: log, Now: now}
}

// directoryAudit returns the directory's audit entries.
func directoryAudit(t *testing.T, s *Service) []audit.Entry {
	t.Helper()
	es, err := s.Audit.Entries(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(es, func(e audit.Entry) bool { return e.Action != audit.ActionServiceChange })
}

// fieldKeys lists an error's field errors as "field:key".
func fieldKeys(err error) []string {
	var out []string
	if err == nil {
		return nil
	}
	for _, f := range canopy.AsError(err).Fields {
		out = append(out, f.Field+":"+f.Key)
	}
	return out
}

func validOffer(id, provider string) canopy.ServiceOffer {
	return canopy.ServiceOffer{ID: id, ProviderID: provider, Needs: []string{"counselling"}, Country: "FR",
		Languages: []string{"fr"}, Ages: canopy.AgeRange{Min: 6, Max: 17}}
}

// TestDirectoryValidation: what a form or a file may put in the
// directory, and how it is written down.
func TestDirectoryValidation(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(o *canopy.ServiceOffer)
		want   []string // field:key, in order
		check  func(o *canopy.ServiceOffer) bool
	}{
		{"valid", func(o *canopy.ServiceOffer) {}, nil, nil},
		{"normalised", func(o *canopy.ServiceOffer) {
			o.ID, o.Country, o.Needs = "  Lyon-Help ", " fr ", []string{"Shelter", "medical", "shelter", " "}
			o.Languages = []string{"FRE", "ar", "fra", "fsl"}
			o.Regions = []string{" Île-de-France ", "ile de  france", "", "Lyon"}
			o.Access, o.Capacity = []string{"remote", "step_free"}, " Open "
			o.Website, o.Phone, o.Email = "Example.ORG/help?x=1", " +33 1 23 45 67 89 ", "a@example.org"
			o.Description = "Line one\r\nLine two  "
		}, nil, func(o *canopy.ServiceOffer) bool {
			return o.ID == "lyon-help" && o.Country == "FR" && slices.Equal(o.Needs, []string{"medical", "shelter"}) &&
				slices.Equal(o.Languages, []string{"fr", "ar", "fsl"}) && slices.Equal(o.Regions, []string{"Île-de-France", "Lyon"}) &&
				slices.Equal(o.Access, []string{"step_free", "remote"}) && o.Capacity == "open" &&
				o.Website == "https://example.org/help?x=1" && o.Phone == "+33 1 23 45 67 89" && o.Description == "Line one\nLine two"
		}},
		{"empty", func(o *canopy.ServiceOffer) { *o = canopy.ServiceOffer{} }, []string{
			"id:error.required", "provider_id:error.required", "needs:error.required", "country:error.required", "languages:error.required"}, nil},
		{"bad ids", func(o *canopy.ServiceOffer) { o.ID, o.ProviderID = "-x", "a b" }, []string{"id:error.directory.id", "provider_id:error.directory.id"}, nil},
		{"long id", func(o *canopy.ServiceOffer) { o.ID = strings.Repeat("a", 65) }, []string{"id:error.directory.id"}, nil},
		{"unknown need", func(o *canopy.ServiceOffer) { o.Needs = []string{"legal", "magic"} }, []string{"needs:error.unknown_code"}, nil},
		{"unknown country", func(o *canopy.ServiceOffer) { o.Country = "XX" }, []string{"country:error.country.unknown"}, nil},
		{"bad language", func(o *canopy.ServiceOffer) { o.Languages = []string{"french"} }, []string{"languages:error.directory.language"}, nil},
		{"unknown language", func(o *canopy.ServiceOffer) { o.Languages = []string{"qqq"} }, []string{"languages:error.directory.language"}, nil},
		{"ages the wrong way", func(o *canopy.ServiceOffer) { o.Ages = canopy.AgeRange{Min: 12, Max: 6} }, []string{"max_age:error.directory.ages"}, nil},
		{"ages out of range", func(o *canopy.ServiceOffer) { o.Ages = canopy.AgeRange{Min: -1, Max: 100} },
			[]string{"min_age:error.directory.ages", "max_age:error.directory.ages"}, nil},
		{"one age", func(o *canopy.ServiceOffer) { o.Ages = canopy.AgeRange{Min: 0, Max: 0} }, nil, nil},
		{"unknown access", func(o *canopy.ServiceOffer) { o.Access = []string{"ramp"} }, []string{"access:error.unknown_code"}, nil},
		{"unknown capacity", func(o *canopy.ServiceOffer) { o.Capacity = "some" }, []string{"capacity:error.unknown_code"}, nil},
		{"script address", func(o *canopy.ServiceOffer) { o.Website = "javascript:alert(1)" }, []string{"website:error.url.scheme"}, nil},
		{"other scheme", func(o *canopy.ServiceOffer) { o.Website = "ftp://example.org" }, []string{"website:error.url.scheme"}, nil},
		{"no host", func(o *canopy.ServiceOffer) { o.Website = "https://localhost/x" }, []string{"website:error.url.invalid"}, nil},
		{"credentials", func(o *canopy.ServiceOffer) { o.Website = "https://user:pw@example.org" }, []string{"website:error.url.invalid"}, nil},
		{"bad phone", func(o *canopy.ServiceOffer) { o.Phone = "call 112" }, []string{"phone:error.phone.invalid"}, nil},
		{"short phone", func(o *canopy.ServiceOffer) { o.Phone = "11" }, []string{"phone:error.phone.invalid"}, nil},
		{"short number", func(o *canopy.ServiceOffer) { o.Phone = "112" }, nil, nil},
		{"bad email", func(o *canopy.ServiceOffer) { o.Email = "Help <a@example.org>" }, []string{"email:error.email.invalid"}, nil},
		{"control character", func(o *canopy.ServiceOffer) { o.Name = "Safe\u202ehouse" }, []string{"name:error.control_chars"}, nil},
		{"line break in a name", func(o *canopy.ServiceOffer) { o.Hours = "9\n17" }, []string{"hours:error.control_chars"}, nil},
		{"not UTF-8", func(o *canopy.ServiceOffer) { o.Description = "caf\xe9" }, []string{"description:error.invalid_utf8"}, nil},
		{"too long", func(o *canopy.ServiceOffer) { o.Description = strings.Repeat("é", 1001) }, []string{"description:error.too_long"}, nil},
		{"many regions", func(o *canopy.ServiceOffer) {
			o.Regions = nil
			for i := range 51 {
				o.Regions = append(o.Regions, fmt.Sprint("r", i))
			}
		}, []string{"regions:error.too_many"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := validOffer("svc", "ngo")
			c.change(&o)
			err := checkOffer(&o)
			if got := fieldKeys(err); !slices.Equal(got, c.want) {
				t.Fatalf("errors %v, want %v", got, c.want)
			}
			if err != nil && canopy.ErrorCode(err) != canopy.EINVALID {
				t.Fatalf("code %s", canopy.ErrorCode(err))
			}
			if c.check != nil && !c.check(&o) {
				t.Fatalf("normalised to %+v", o)
			}
		})
	}
	p := canopy.Provider{ID: "x", Name: " ", Website: "data:text/html,hi", Phone: "+", Email: "@"}
	want := []string{"name:error.required", "website:error.url.scheme", "phone:error.phone.invalid", "email:error.email.invalid"}
	if got := fieldKeys(checkProvider(&p)); !slices.Equal(got, want) {
		t.Errorf("provider errors %v, want %v", got, want)
	}
}

// TestDirectoryChanges: staff add, change, deactivate and reactivate
// providers and services, and each change is in the audit log by id and
// field name, never by value. Both databases.
func TestDirectoryChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newDirectoryService(t, db)
		staff := audit.Staff("caseworker1")
		p, err := s.AddProvider(ctx, staff, canopy.Provider{ID: "ngo-lyon", Name: "Enfance Lyon", Phone: "04 72 00 00 00"})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Active || p.UpdatedBy != "staff:caseworker1" || !p.Updated.Equal(directoryT0) {
			t.Errorf("provider %+v", p)
		}
		if _, err := s.AddProvider(ctx, staff, canopy.Provider{ID: "ngo-lyon", Name: "Again"}); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("same id again: %v", err)
		}
		auto, err := s.AddProvider(ctx, audit.System, canopy.Provider{Name: "No id given"})
		if err != nil || !directoryID.MatchString(auto.ID) {
			t.Fatalf("a provider without an id: %+v %v", auto, err)
		}
		if _, err := s.AddProvider(ctx, staff, canopy.Provider{ID: "x"}); !slices.Equal(fieldKeys(err), []string{"name:error.required"}) {
			t.Errorf("no name: %v", err)
		}

		o, err := s.AddServiceOffer(ctx, staff, validOffer("lyon-talk", "ngo-lyon"))
		if err != nil || !o.Active {
			t.Fatalf("service: %+v %v", o, err)
		}
		if _, err := s.AddServiceOffer(ctx, staff, validOffer("orphan", "nobody")); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("a service of no provider: %v", err)
		}
		bad := validOffer("bad", "ngo-lyon")
		bad.Country = "ZZ"
		if _, err := s.AddServiceOffer(ctx, staff, bad); !slices.Equal(fieldKeys(err), []string{"country:error.country.unknown"}) {
			t.Errorf("bad country: %v", err)
		}

		p, err = s.UpdateProvider(ctx, staff, "ngo-lyon", func(p *canopy.Provider) {
			p.ID, p.Name, p.Website = "stolen", "Enfance & Jeunesse Lyon", "enfance-lyon.example"
		})
		if err != nil || p.ID != "ngo-lyon" || p.Website != "https://enfance-lyon.example" {
			t.Fatalf("update provider: %+v %v", p, err)
		}
		if _, err := s.UpdateProvider(ctx, staff, "ngo-lyon", func(p *canopy.Provider) { p.Email = "nope" }); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Errorf("bad update: %v", err)
		}
		if _, err := s.UpdateProvider(ctx, staff, "ghost", func(*canopy.Provider) {}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("update of no provider: %v", err)
		}
		// A change that changes nothing is not a change.
		if _, err := s.UpdateProvider(ctx, staff, "ngo-lyon", func(*canopy.Provider) {}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateServiceOffer(ctx, staff, "lyon-talk", func(o *canopy.ServiceOffer) {
			o.Languages = append(o.Languages, "ar")
			o.Capacity = canopy.CapacityWaitlist
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetServiceOfferActive(ctx, staff, "lyon-talk", false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetProviderActive(ctx, staff, "ngo-lyon", false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetProviderActive(ctx, staff, "ngo-lyon", true); err != nil {
			t.Fatal(err)
		}
		got, err := s.ServiceOffer(ctx, "lyon-talk")
		if err != nil || got.Active || !slices.Equal(got.Languages, []string{"fr", "ar"}) {
			t.Errorf("service now %+v %v", got, err)
		}

		var log []string
		for _, e := range directoryAudit(t, s) {
			log = append(log, fmt.Sprintf("%s %s %s %s %s %s %s", e.Actor, e.ID, e.Details["record"], e.Details["op"], e.Details["fields"], e.Details["needs"], e.Outcome))
			for k, v := range e.Details {
				if strings.Contains(v, "Lyon") || strings.Contains(v, "example") {
					t.Errorf("audit detail %s holds a value: %q", k, v)
				}
			}
		}
		want := []string{
			"staff:caseworker1 ngo-lyon provider create   ok",
			"system " + auto.ID + " provider create   ok",
			"staff:caseworker1 lyon-talk service create  counselling ok",
			"staff:caseworker1 ngo-lyon provider update name,website  ok",
			"staff:caseworker1 lyon-talk service update languages,capacity  ok",
			"staff:caseworker1 lyon-talk service deactivate active  ok",
			"staff:caseworker1 ngo-lyon provider deactivate active  ok",
			"staff:caseworker1 ngo-lyon provider activate active  ok",
		}
		if !slices.Equal(log, want) {
			t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
		}
		entries, err := s.Directory(ctx)
		if err != nil || len(entries) != 2 || entries[0].Provider.ID != "ngo-lyon" || len(entries[0].Services) != 1 || len(entries[1].Services) != 0 {
			t.Errorf("directory %+v %v", entries, err)
		}
	})
}

// directoryCSV is a directory file as a partner might send it: two
// providers, one with a provider-only line first, lists in the forms
// people type them, a formula-looking phone number protected.
const directoryCSV = `provider_id,provider_name,provider_website,provider_phone,provider_email,provider_active,service_id,service_name,needs,description,country,regions,languages,min_age,max_age,accessibility,hours,always_open,phone,website,email,free,confidential,capacity,active
ngo-lyon,Enfance Lyon,enfance-lyon.example,'+33 4 72 00 00 00,contact@enfance-lyon.example,yes,,,,,,,,,,,,,,,,,,,
ngo-lyon,Enfance Lyon,enfance-lyon.example,'+33 4 72 00 00 00,contact@enfance-lyon.example,yes,lyon-talk,Écoute jeunes,counselling,"Parler, en confiance.
Sans rendez-vous.",FR,Lyon; Rhône,"fr, ar",11,21,step_free remote,Lun–Ven 9h–18h,no,,,,yes,yes,open,yes
ngo-lyon,Enfance Lyon,enfance-lyon.example,'+33 4 72 00 00 00,contact@enfance-lyon.example,yes,lyon-shelter,,shelter;medical,,fr,Lyon,fr,12,17,,,yes,04 72 11 11 11,,,yes,,full,yes
allo-enfance,Allô Enfance,,119,,yes,119,Allô 119,helpline,,FR,,fr ar en,0,21,text_chat sign_language,,yes,119,https://allo119.example,,yes,yes,,yes
`

// TestImportExport: a partner's file imports whole, a second import of it
// changes nothing, the export imports back unchanged, and a bad file
// imports nothing and says what is wrong on which line. Both databases.
func TestImportExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newDirectoryService(t, db)
		by := audit.Staff("admin1")
		res, err := s.ImportDirectory(ctx, by, strings.NewReader(directoryCSV))
		if err != nil {
			t.Fatalf("import: %v %+v", err, res)
		}
		if res.ProvidersAdded != 2 || res.ServicesAdded != 3 || res.ProvidersChanged+res.ServicesChanged != 0 {
			t.Errorf("first import %+v", res)
		}
		talk, err := s.ServiceOffer(ctx, "lyon-talk")
		if err != nil {
			t.Fatal(err)
		}
		want := &canopy.ServiceOffer{ID: "lyon-talk", ProviderID: "ngo-lyon", Name: "Écoute jeunes", Needs: []string{"counselling"},
			Description: "Parler, en confiance.\nSans rendez-vous.", Country: "FR", Regions: []string{"Lyon", "Rhône"},
			Languages: []string{"fr", "ar"}, Ages: canopy.AgeRange{Min: 11, Max: 21}, Access: []string{"step_free", "remote"},
			Hours: "Lun–Ven 9h–18h", Free: true, Confidential: true, Capacity: "open", Active: true, Updated: directoryT0, UpdatedBy: "staff:admin1"}
		if !reflect.DeepEqual(talk, want) {
			t.Errorf("imported service\n%+v, want\n%+v", talk, want)
		}
		lyon, _ := s.Provider(ctx, "ngo-lyon")
		if lyon.Phone != "+33 4 72 00 00 00" || lyon.Website != "https://enfance-lyon.example" {
			t.Errorf("imported provider %+v", lyon)
		}

		res, err = s.ImportDirectory(ctx, by, strings.NewReader(directoryCSV))
		if err != nil || res.ProvidersUnchanged != 2 || res.ServicesUnchanged != 3 || res.ProvidersAdded+res.ServicesAdded+res.ProvidersChanged+res.ServicesChanged != 0 {
			t.Errorf("second import %+v %v", res, err)
		}

		var out bytes.Buffer
		if err := s.ExportDirectory(ctx, &out); err != nil {
			t.Fatal(err)
		}
		exported := out.String()
		for _, w := range []string{"'+33 4 72 00 00 00", "\"Parler, en confiance.\nSans rendez-vous.\"", "Lyon; Rhône", "allo-enfance,Allô Enfance"} {
			if !strings.Contains(exported, w) {
				t.Errorf("export lacks %q:\n%s", w, exported)
			}
		}
		res, err = s.ImportDirectory(ctx, by, strings.NewReader(exported))
		if err != nil || res.ProvidersUnchanged != 2 || res.ServicesUnchanged != 3 {
			t.Errorf("export imported back: %+v %v", res, err)
		}
		var again bytes.Buffer
		s.ExportDirectory(ctx, &again)
		if again.String() != exported {
			t.Errorf("export of the import of the export differs:\n%s\n---\n%s", exported, again.String())
		}

		// A change by file: one service retired, one renamed.
		changed := strings.Replace(strings.Replace(exported, ",open,yes\n", ",open,no\n", 1), "Allô 119", "Allô 119 enfance", 1)
		res, err = s.ImportDirectory(ctx, by, strings.NewReader(changed))
		if err != nil || res.ServicesChanged != 2 || res.ServicesUnchanged != 1 {
			t.Errorf("changing import %+v %v", res, err)
		}
		if o, _ := s.ServiceOffer(ctx, "lyon-talk"); o.Active {
			t.Error("a service set active=no is still active")
		}

		// A bad file: every problem reported by line and column, nothing
		// written, not even its good lines.
		bad := strings.Join([]string{
			strings.Join(DirectoryColumns, ","),
			"new-ngo,New NGO,,,,yes,new-1,,legal,,FR,,fr,0,17,,,,,,,,,,",
			"new-ngo,New NGO,,,,yes,new-2,,legal,,XX,,fr,ten,17,,,maybe,,,,,,,",
			"new-ngo,Renamed NGO,,,,yes,new-3,,legal,,FR,,fr,0,17,,,,,,,,,,",
			"new-ngo,New NGO,,,,yes,new-1,,legal,,FR,,fr,0,17,,,,,,,,,,",
			"other,Other,,,,yes,,,legal,,,,,,,,,,,,,,,,",
			"too,few",
		}, "\r\n")
		before := directoryAudit(t, s)
		res, err = s.ImportDirectory(ctx, by, strings.NewReader(bad))
		if canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("bad file: %v", err)
		}
		var got []string
		for _, e := range res.Errors {
			got = append(got, fmt.Sprintf("%d %s %s %v", e.Line, e.Field, e.Key, e.Args))
		}
		wantErrs := []string{
			"3 min_age error.directory.number []",
			"3 always_open error.directory.yes_no []",
			"3 country error.country.unknown []",
			"4 provider_id error.directory.provider_differs [2]",
			"5 service_id error.directory.duplicate [2]",
			"6 service_id error.directory.service_missing []",
			"7  error.directory.field_count []",
		}
		if !slices.Equal(got, wantErrs) {
			t.Errorf("line errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
		}
		if _, err := s.Provider(ctx, "new-ngo"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Error("a bad file was half imported")
		}
		after := directoryAudit(t, s)
		if len(after) != len(before)+1 || after[len(after)-1].Outcome != audit.Failed || after[len(after)-1].Details["errors"] != "7" {
			t.Errorf("the refused import is not audited as failed: %+v", after[len(after)-1])
		}
		for _, e := range after {
			if e.Details["op"] == "import" && len(e.Details["sha256"]) != 64 {
				t.Errorf("import entry without the file's hash: %+v", e)
			}
		}
	})
}

// TestImportFileShapes: the header's problems, separators, encodings and
// sizes a file may come in.
func TestImportFileShapes(t *testing.T) {
	header := strings.Join(DirectoryColumns, ",")
	row := "a,A,,,,,s,,legal,,FR,,fr,0,17,,,,,,,,,,"
	for _, c := range []struct {
		name string
		file string
		want []string // "line field key", or nil for a good file
	}{
		{"good", header + "\n" + row + "\n", nil},
		{"byte-order mark and CRLF", "\xef\xbb\xbf" + header + "\r\n" + row + "\r\n\r\n", nil},
		{"semicolons", strings.ReplaceAll(header, ",", ";") + "\n" + strings.ReplaceAll(row, ",", ";") + "\n", nil},
		{"columns in another order and case", "SERVICE_ID," + strings.Replace(header, ",service_id", "", 1) + "\ns," + strings.Replace(row, ",s,", ",", 1), nil},
		{"empty", "", []string{"1  error.directory.empty"}},
		{"header only", header + "\n", []string{"1  error.directory.empty"}},
		{"missing column", strings.Replace(header, ",hours", "", 1) + "\n" + row, []string{"1  error.directory.columns [hours]"}},
		{"unknown column", header + ",notes\n" + row + ",x", []string{"1  error.directory.column [notes]"}},
		{"column twice", header + ",hours\n" + row + ",", []string{"1 hours error.duplicate []"}},
		{"not UTF-8", header + "\n" + strings.Replace(row, "A", "\xc9cole", 1), []string{"2  error.invalid_utf8"}},
		{"stray quote", header + "\n" + strings.Replace(row, ",A,", `,A "B",`, 1), []string{"2  error.directory.csv"}},
		{"unended quote", header + "\n" + strings.Replace(row, ",A,", `,"A,`, 1), []string{"2  error.directory.csv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parseDirectoryCSV([]byte(c.file))
			var got []string
			for _, e := range f.errs {
				s := fmt.Sprintf("%d %s %s", e.Line, e.Field, e.Key)
				if len(e.Args) > 0 || e.Field != "" {
					s += fmt.Sprintf(" %v", e.Args)
				}
				got = append(got, s)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("errors %q, want %q", got, c.want)
			}
			if c.want == nil && (len(f.providers) != 1 || len(f.offers) != 1 || f.offers[0].ID != "s") {
				t.Fatalf("parsed %+v %+v", f.providers, f.offers)
			}
		})
	}
	// A formula stays text both ways.
	for _, v := range []string{"=HYPERLINK(\"x\")", "+33 1", "-1", "@SUM(A1)", "'quoted", "plain"} {
		if got := unprotectCell(protectCell(v)); got != v {
			t.Errorf("%q comes back as %q", v, got)
		}
	}
	if protectCell("=1+1") != "'=1+1" || protectCell("'=x") != "'=x" && unprotectCell("'=x") != "=x" {
		t.Error("formulas are not protected")
	}
	// Too big, and too many lines.
	s := newDirectoryService(t, storetest.Open(t, store.SQLite))
	if _, err := s.ImportDirectory(context.Background(), audit.System, bytes.NewReader(make([]byte, MaxImportBytes+1))); canopy.ErrorCode(err) != canopy.ETOOLARGE {
		t.Errorf("a file too big: %v", err)
	}
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := range maxImportRows + 1 {
		fmt.Fprintf(&b, "a,A,,,,,s%d,,legal,,FR,,fr,0,17,,,,,,,,,,\n", i)
	}
	f := parseDirectoryCSV([]byte(b.String()))
	if len(f.errs) != 1 || f.errs[0].Key != KeyImportTooMany || f.errs[0].Line != maxImportRows+2 {
		t.Errorf("too many lines: %+v", f.errs)
	}
	// A file wrong everywhere lists the first problems only.
	b.Reset()
	b.WriteString(header + "\n")
	for range 300 {
		b.WriteString("x,,,,,,,,,,,,,,,,,,,,,,,,\n")
	}
	if f := parseDirectoryCSV([]byte(b.String())); len(f.errs) != maxImportErrors || !f.more {
		t.Errorf("%d errors listed, more %v", len(f.errs), f.more)
	}
}

// TestFind searches a small directory the way the portal does.
func TestFind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newDirectoryService(t, db)
		if _, err := s.ImportDirectory(ctx, audit.System, strings.NewReader(findCSV)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			q    FindQuery
			want []string // service ids in order; "*" marks a local match
		}{
			{"everything active: taking people first, then by name", FindQuery{}, []string{"lyon-shelter", "fr-119", "be-line", "lyon-law", "ra-counsel", "idf-talk", "lyon-clinic"}},
			{"a country", FindQuery{Country: "fr"}, []string{"lyon-shelter", "fr-119", "lyon-law", "ra-counsel", "idf-talk", "lyon-clinic"}},
			{"a region, local first", FindQuery{Country: "FR", Region: "lyon"}, []string{"*lyon-shelter", "*lyon-law", "*lyon-clinic", "fr-119"}},
			{"a region in other words", FindQuery{Country: "FR", Region: "  RHÔNE-alpes "}, []string{"*ra-counsel", "fr-119"}},
			{"accents and hyphens do not matter", FindQuery{Region: "ile de france"}, []string{"*idf-talk", "fr-119"}},
			{"a region in a longer text", FindQuery{Region: "Lyon 3e arrondissement", Needs: []string{"shelter"}}, []string{"*lyon-shelter"}},
			{"a part of a word does not name a region", FindQuery{Region: "Saint-Étienne"}, []string{"fr-119", "be-line"}},
			{"a region found nowhere keeps every country", FindQuery{Region: "Nowhere"}, []string{"fr-119", "be-line"}},
			{"an age", FindQuery{Age: 8, HasAge: true}, []string{"fr-119", "be-line", "idf-talk", "lyon-clinic"}},
			{"ages at their edges", FindQuery{Age: 21, HasAge: true, Country: "FR"}, []string{"fr-119", "lyon-law", "ra-counsel"}},
			{"a language", FindQuery{Language: "ara"}, []string{"fr-119", "lyon-law"}},
			{"a need", FindQuery{Needs: []string{"legal"}}, []string{"lyon-law"}},
			{"needs: more of them first, then open before full", FindQuery{Needs: []string{"medical", "shelter"}, Country: "FR"}, []string{"lyon-shelter", "lyon-clinic"}},
			{"nothing fits", FindQuery{Country: "DE"}, nil},
			{"a limit", FindQuery{Country: "FR", Limit: 2}, []string{"lyon-shelter", "fr-119"}},
			{"the next page", FindQuery{Country: "FR", Limit: 2, Offset: 2}, []string{"lyon-law", "ra-counsel"}},
			{"the last page", FindQuery{Country: "FR", Limit: 4, Offset: 4}, []string{"idf-talk", "lyon-clinic"}},
			{"past the end", FindQuery{Country: "FR", Limit: 4, Offset: 40}, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				res, err := s.Find(ctx, c.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, f := range res.Found {
					id := f.Service.ID
					if f.Local {
						id = "*" + id
					}
					got = append(got, id)
				}
				if !slices.Equal(got, c.want) {
					t.Fatalf("found %v, want %v", got, c.want)
				}
				if c.q.Limit == 0 && c.q.Offset == 0 && res.Total != len(got) {
					t.Fatalf("total %d for %d found", res.Total, len(got))
				}
			})
		}
		res, _ := s.Find(ctx, FindQuery{Country: "FR", Limit: 2})
		if res.Total != 6 {
			t.Errorf("total with a limit: %d", res.Total)
		}
		// The contact falls back to the provider's.
		res, _ = s.Find(ctx, FindQuery{Needs: []string{"legal"}})
		if f := res.Found[0]; f.Phone() != "04 78 00 00 00" || f.Website() != "https://droit-lyon.example" || f.Name() != "Droit des jeunes" {
			t.Errorf("contact %q %q %q", f.Phone(), f.Website(), f.Name())
		}
		for _, c := range []struct {
			q    FindQuery
			want []string
		}{
			{FindQuery{Country: "XX"}, []string{"country:error.country.unknown"}},
			{FindQuery{Age: 100, HasAge: true}, []string{"age:help.error.age"}},
			{FindQuery{Age: -1, HasAge: true}, []string{"age:help.error.age"}},
			{FindQuery{Language: "english"}, []string{"language:help.error.language"}},
			{FindQuery{Needs: []string{"pizza"}}, []string{"need:error.unknown_code"}},
			{FindQuery{Region: strings.Repeat("x", 101)}, []string{"region:error.too_long"}},
		} {
			if _, err := s.Find(ctx, c.q); !slices.Equal(fieldKeys(err), c.want) {
				t.Errorf("%+v: %v, want %v", c.q, err, c.want)
			}
		}
		ch, err := s.Choices(ctx)
		if err != nil || !slices.Equal(ch.Countries, []string{"BE", "FR"}) || !slices.Equal(ch.Languages, []string{"ar", "en", "fr", "nl"}) {
			t.Errorf("choices %+v %v", ch, err)
		}
	})
}

// findCSV is the directory TestFind searches. Inactive entries (a
// retired service, a closed provider's) must never be found.
const findCSV = `provider_id,provider_name,provider_website,provider_phone,provider_email,provider_active,service_id,service_name,needs,description,country,regions,languages,min_age,max_age,accessibility,hours,always_open,phone,website,email,free,confidential,capacity,active
droit,Droit des jeunes,droit-lyon.example,04 78 00 00 00,,yes,lyon-law,,legal,,FR,Lyon,fr ar,12,24,,,,,,,yes,yes,,yes
hopital,Hôpital,,,,yes,lyon-clinic,Clinique,medical,,FR,Lyon;Villeurbanne,fr,0,17,,,yes,,,,,,full,yes
hopital,Hôpital,,,,yes,lyon-shelter,Foyer,shelter medical,,FR,Lyon,fr,13,17,,,,,,,,,open,yes
hopital,Hôpital,,,,yes,old,Ancien,shelter,,FR,Lyon,fr,0,17,,,,,,,,,,no
ra,Réseau Rhône-Alpes,,,,yes,ra-counsel,Écoute Rhône-Alpes,counselling,,FR,Rhône-Alpes,fr,10,21,,,,,,,,,,yes
idf,IDF Jeunes,,,,yes,idf-talk,Parler IDF,counselling,,FR,Île-de-France,fr,6,17,,,,,,,,,,yes
national,Allô Enfance,,119,,yes,fr-119,Allô 119,helpline,,FR,,fr ar,0,21,,,yes,,,,yes,yes,,yes
be,Child Focus,,,,yes,be-line,Belgian line,helpline,,BE,,nl fr en,0,17,,,,,,,,,,yes
closed,Closed NGO,,,,no,closed-1,Closed,counselling,,FR,,fr,0,17,,,,,,,,,,yes
`

// FuzzImportCSV reads arbitrary bytes as a directory file. It must never
// panic, every line error must name a line of the file, and whatever it
// accepts must come back the same through an export and a second read.
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(directoryCSV))
	f.Add([]byte(findCSV))
	f.Add([]byte(strings.ReplaceAll(directoryCSV, ",", ";")))
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed := parseDirectoryCSV(data)
		lines := 1 + bytes.Count(data, []byte("\n"))
		for _, e := range parsed.errs {
			if e.Line < 1 || e.Line > lines {
				t.Fatalf("error on line %d of a file of %d: %+v", e.Line, lines, e)
			}
			if e.Key == "" {
				t.Fatalf("error without a key: %+v", e)
			}
		}
		if len(parsed.errs) > maxImportErrors {
			t.Fatalf("%d errors listed", len(parsed.errs))
		}
		if len(parsed.errs) > 0 {
			return
		}
		// Accepted: the records are valid as they stand, and survive an
		// export and a second read unchanged.
		byProvider := map[string][]*canopy.ServiceOffer{}
		for _, o := range parsed.offers {
			if err := checkOffer(o); err != nil {
				t.Fatalf("accepted an invalid service %+v: %v", o, err)
			}
			byProvider[o.ProviderID] = append(byProvider[o.ProviderID], o)
		}
		var entries []DirectoryEntry
		for _, p := range parsed.providers {
			if err := checkProvider(p); err != nil {
				t.Fatalf("accepted an invalid provider %+v: %v", p, err)
			}
			entries = append(entries, DirectoryEntry{Provider: p, Services: byProvider[p.ID]})
		}
		var out bytes.Buffer
		if err := writeDirectoryCSV(&out, entries); err != nil {
			t.Fatal(err)
		}
		again := parseDirectoryCSV(out.Bytes())
		if len(again.errs) > 0 {
			t.Fatalf("the export of an accepted file is refused: %+v\n%s", again.errs, out.String())
		}
		if !sameRecords(parsed, again) {
			t.Fatalf("round trip changed the records:\n%+v\n%+v\nvs\n%+v\n%+v", parsed.providers, parsed.offers, again.providers, again.offers)
		}
	})
}

// sameRecords reports whether two parses hold the same records, grouped
// by provider as an export groups them.
func sameRecords(a, b *directoryFile) bool {
	key := func(f *directoryFile) (map[string]canopy.Provider, map[string]canopy.ServiceOffer) {
		ps, os := map[string]canopy.Provider{}, map[string]canopy.ServiceOffer{}
		for _, p := range f.providers {
			ps[p.ID] = *p
		}
		for _, o := range f.offers {
			os[o.ID] = *o
		}
		return ps, os
	}
	pa, oa := key(a)
	pb, ob := key(b)
	return reflect.DeepEqual(pa, pb) && reflect.DeepEqual(oa, ob)
}
