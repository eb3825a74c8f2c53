package takedown

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/csvfile"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var hostsT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// newHostsService is as much of the takedown service as the host list
// needs, with a platform account "social" registered.
func newHostsService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	log := audittest.Open(t, db)
	log.Now = func() time.Time { return hostsT0 }
	if err := db.CreatePlatform(context.Background(), &canopy.Platform{ID: "social", Name: "Social", Contact: "trust@social.example",
		Created: hostsT0, CreatedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	return &Service{DB: db, Audit: log, Now: func() time.Time { return hostsT0 }}
}

// hostsCSV is a list as a hotline might keep it: lists in the forms
// people type them, codes in capitals, a name that is a formula
// protected, and one that is a formula unprotected.
const hostsCSV = `id,name,kind,jurisdictions,domains,networks,method,email,webhook,language,remind_after_hours,escalate_after_hours,platform,active
frhost,Numérique Hébergement,Hosting,FR,"fr-host.example; *.cdn.fr-host.example",203.0.113.0/28  2001:db8::1/32,email,abuse@fr-host.example,,FR,12,48,,
social,"'=HYPERLINK(""http://evil.example"")",platform,FR;BE,social.example,,WEBHOOK,,https://social.example/notices,,,,social,yes
old,=1+1,hosting,BE,old.example,,email,abuse@old.example,,en,,,,no
`

// hostsWant are the hosts hostsCSV describes, as stored.
var hostsWant = []canopy.Host{
	{ID: "old", Name: "=1+1", Kind: canopy.HostHosting, Jurisdictions: []string{"BE"}, Domains: []string{"old.example"},
		Method: canopy.NoticeByEmail, Email: "abuse@old.example", Language: "en", Updated: hostsT0, UpdatedBy: "staff:admin1"},
	{ID: "social", Name: `=HYPERLINK("http://evil.example")`, Kind: canopy.HostPlatform, Jurisdictions: []string{"FR", "BE"},
		Domains: []string{"social.example"}, Method: canopy.NoticeByWebhook, Webhook: "https://social.example/notices",
		Language: "en", Platform: "social", Active: true, Updated: hostsT0, UpdatedBy: "staff:admin1"},
	{ID: "frhost", Name: "Numérique Hébergement", Kind: canopy.HostHosting, Jurisdictions: []string{"FR"},
		Domains: []string{"fr-host.example", "cdn.fr-host.example"}, Networks: []string{"203.0.113.0/28", "2001:db8::/32"},
		Method: canopy.NoticeByEmail, Email: "abuse@fr-host.example", Language: "fr", RemindAfter: 12 * time.Hour,
		EscalateAfter: 48 * time.Hour, Active: true, Updated: hostsT0, UpdatedBy: "staff:admin1"},
}

func hostsOf(t *testing.T, s *Service) []canopy.Host {
	t.Helper()
	hosts, err := s.DB.Hosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// An empty list is stored as nothing; which of nil and empty the
	// store gives back does not matter.
	nilEmpty := func(l []string) []string {
		if len(l) == 0 {
			return nil
		}
		return l
	}
	for i := range hosts {
		h := &hosts[i]
		h.Updated = h.Updated.UTC()
		h.Jurisdictions, h.Domains, h.Networks = nilEmpty(h.Jurisdictions), nilEmpty(h.Domains), nilEmpty(h.Networks)
	}
	return hosts
}

// hostAudit lists the host list's audit entries as "id fields" for a
// host's and "import outcome added changed errors" for a file's.
func hostAudit(t *testing.T, s *Service) []string {
	t.Helper()
	all, err := s.Audit.Entries(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range all {
		switch {
		case e.Action != audit.ActionHostChange:
		case e.Details["op"] == "import":
			if len(e.Details["sha256"]) != 64 || e.Actor != "staff:admin1" {
				t.Errorf("import entry without the file's hash or its actor: %+v", e)
			}
			out = append(out, fmt.Sprintf("import %s %s %s %s", e.Outcome, e.Details["added"], e.Details["changed"], e.Details["errors"]))
		default:
			out = append(out, e.ID+" "+e.Details["fields"])
		}
	}
	return out
}

func sameHosts(t *testing.T, got, want []canopy.Host) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hosts\n%+v\nwant\n%+v", got, want)
	}
}

// TestImportExportHosts: a list imports whole; a second import of it
// changes and audits nothing; its export imports back unchanged; a file
// changes what it changes and leaves the hosts it does not mention. Both
// databases.
func TestImportExportHosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newHostsService(t, db)
		by := audit.Staff("admin1")
		res, err := s.ImportHosts(ctx, by, strings.NewReader(hostsCSV))
		if err != nil || res.Added != 3 || res.Changed+res.Unchanged != 0 || len(res.Errors) != 0 {
			t.Fatalf("first import: %+v %v", res, err)
		}
		sameHosts(t, hostsOf(t, s), hostsWant)
		want := []string{"frhost new", "social new", "old new", "import ok 3 0 "}
		if got := hostAudit(t, s); !slices.Equal(got, want) {
			t.Errorf("audit %q, want %q", got, want)
		}

		res, err = s.ImportHosts(ctx, by, strings.NewReader(hostsCSV))
		if err != nil || res.Unchanged != 3 || res.Added+res.Changed != 0 {
			t.Errorf("second import: %+v %v", res, err)
		}
		if got := hostAudit(t, s); !slices.Equal(got, want) {
			t.Errorf("the second import was audited: %q", got)
		}

		var out bytes.Buffer
		if err := s.ExportHosts(ctx, &out); err != nil {
			t.Fatal(err)
		}
		exported := out.String()
		wantExport := strings.Join(HostColumns, ",") + "\n" +
			"old,'=1+1,hosting,BE,old.example,,email,abuse@old.example,,en,,,,no\n" +
			`social,"'=HYPERLINK(""http://evil.example"")",platform,FR BE,social.example,,webhook,,https://social.example/notices,en,,,social,yes` + "\n" +
			"frhost,Numérique Hébergement,hosting,FR,fr-host.example cdn.fr-host.example,203.0.113.0/28 2001:db8::/32,email,abuse@fr-host.example,,fr,12,48,,yes\n"
		if exported != wantExport {
			t.Errorf("export\n%s\nwant\n%s", exported, wantExport)
		}
		res, err = s.ImportHosts(ctx, by, strings.NewReader(exported))
		if err != nil || res.Unchanged != 3 || res.Added+res.Changed != 0 {
			t.Errorf("the export imported back: %+v %v", res, err)
		}
		out.Reset()
		s.ExportHosts(ctx, &out)
		if out.String() != exported {
			t.Errorf("the export of the import of the export differs:\n%s", out.String())
		}

		// A change by file: one host retired, one renamed, one added;
		// frhost is not in the file and stays as it is.
		changed := strings.Join(HostColumns, ",") + "\n" +
			"social,Social,platform,FR BE,social.example,,webhook,,https://social.example/notices,en,,,social,yes\n" +
			"old,'=1+1,hosting,BE,old.example,,email,abuse@old.example,,en,,,,yes\n" +
			"new,New,hosting,DE,new.example,,email,abuse@new.example,,,,,,false\n"
		res, err = s.ImportHosts(ctx, by, strings.NewReader(changed))
		if err != nil || res.Added != 1 || res.Changed != 2 || res.Unchanged != 0 {
			t.Errorf("changing import: %+v %v", res, err)
		}
		want = append(want, "social name", "old active", "new new", "import ok 1 2 ")
		if got := hostAudit(t, s); !slices.Equal(got, want) {
			t.Errorf("audit %q, want %q", got, want)
		}
		if h, err := s.DB.Host(ctx, "frhost"); err != nil || h.Name != "Numérique Hébergement" || !h.Active {
			t.Errorf("a host the file did not mention: %+v %v", h, err)
		}
		if h, _ := s.DB.Host(ctx, "new"); h.Active || h.Jurisdictions[0] != "DE" {
			t.Errorf("a host added with active = false: %+v", h)
		}
	})
}

// TestImportHostsSemicolons: a file as spreadsheets write CSV in many
// European locales, with a byte-order mark and CRLF, reads as the same
// list. Both databases.
func TestImportHostsSemicolons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newHostsService(t, db)
		file := "\xef\xbb\xbf" + strings.Join(HostColumns, ";") + "\r\n" +
			`frhost;Numérique Hébergement;hosting;FR;"fr-host.example;cdn.fr-host.example";203.0.113.0/28 2001:db8::/32;email;abuse@fr-host.example;;fr;12;48;;oui` + "\r\n" +
			`social;"Social; the network";platform;FR BE;social.example;;webhook;;https://social.example/notices;;;;social;1` + "\r\n"
		res, err := s.ImportHosts(ctx, audit.Staff("admin1"), strings.NewReader(file))
		if canopy.ErrorCode(err) != canopy.EINVALID || !reflect.DeepEqual(res.Errors, []csvfile.LineError{{Line: 2, Field: "active", Key: csvfile.KeyYesNo}}) {
			t.Fatalf("active = oui: %+v %v", res, err)
		}
		file = strings.Replace(file, ";oui\r\n", ";0\r\n", 1)
		res, err = s.ImportHosts(ctx, audit.Staff("admin1"), strings.NewReader(file))
		if err != nil || res.Added != 2 {
			t.Fatalf("import: %+v %v", res, err)
		}
		social := hostsWant[1]
		social.Name = "Social; the network"
		frhost := hostsWant[2]
		frhost.Active = false
		sameHosts(t, hostsOf(t, s), []canopy.Host{frhost, social})
	})
}

// TestImportHostsBadLines: every problem of a bad file is reported by line
// and column; nothing is written, not even its good lines; and the
// refusal is audited. Both databases.
func TestImportHostsBadLines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newHostsService(t, db)
		bad := strings.Join([]string{
			strings.Join(HostColumns, ","),
			"good,Good,hosting,FR,good.example,,email,abuse@good.example,,,,,,",
			"Bad Id,,cloud,XX,,,email,not an address,,de,ten,0,,maybe",
			"h3,H3,hosting,FR,example,10.0.0.0/33,webhook,,http://example.com/x,,72,24,nobody,",
			"good,Again,hosting,FR,again.example,,email,abuse@again.example,,,,,,",
			"too,few",
			"h6,H6,platform,FR,h6.example,,fax,,,,,721,,yes",
			"h7,H7,hosting,,h7.example,,email,abuse@h7.example,,,-5,99999999999999999999,,",
		}, "\r\n")
		res, err := s.ImportHosts(ctx, audit.Staff("admin1"), strings.NewReader(bad))
		if canopy.ErrorCode(err) != canopy.EINVALID || canopy.AsError(err).Key != csvfile.KeyInvalid {
			t.Fatalf("bad file: %v", err)
		}
		var got []string
		for _, e := range res.Errors {
			got = append(got, fmt.Sprintf("%d %s %s %v", e.Line, e.Field, e.Key, e.Args))
		}
		want := []string{
			"3 remind_after_hours error.csv.number []",
			"3 active error.csv.yes_no []",
			"3 id error.takedown.host_id []",
			"3 name error.required []",
			"3 kind error.unknown_code []",
			"3 jurisdictions error.takedown.country []",
			"3 domains error.takedown.no_match []",
			"3 email error.takedown.email []",
			"3 language error.unknown_code []",
			"4 domains error.takedown.domain []",
			"4 networks error.takedown.network []",
			"4 webhook error.takedown.webhook []",
			"4 remind_after_hours error.takedown.remind_before_escalate []",
			"4 platform error.takedown.platform []",
			"5 id error.csv.repeated [2]",
			"6  error.csv.field_count []",
			"7 method error.unknown_code []",
			"7 escalate_after_hours error.takedown.clock []",
			"8 escalate_after_hours error.csv.number []",
			"8 jurisdictions error.required []",
			"8 remind_after_hours error.takedown.clock []",
		}
		if !slices.Equal(got, want) {
			t.Errorf("line errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if hosts := hostsOf(t, s); len(hosts) != 0 {
			t.Errorf("a bad file was half imported: %+v", hosts)
		}
		if got := hostAudit(t, s); !slices.Equal(got, []string{"import failed   21"}) {
			t.Errorf("audit %q", got)
		}

		// Too big is refused before it is read.
		if _, err := s.ImportHosts(ctx, audit.Staff("admin1"), bytes.NewReader(make([]byte, MaxHostsBytes+1))); canopy.ErrorCode(err) != canopy.ETOOLARGE {
			t.Errorf("a file too big: %v", err)
		}
	})
}

// TestHostsFileShapes: the file's own problems, by csvfile's keys.
func TestHostsFileShapes(t *testing.T) {
	header := strings.Join(HostColumns, ",")
	row := "a,A,hosting,FR,a.example,,email,abuse@a.example,,,,,,"
	none := func(string) bool { return false }
	for _, c := range []struct {
		name, file string
		want       []string
	}{
		{"good", header + "\n" + row + "\n", nil},
		{"columns in another order and case", "ACTIVE," + strings.TrimSuffix(header, ",active") + "\nyes," + strings.TrimSuffix(row, ","), nil},
		{"empty", "", []string{"1  error.csv.empty"}},
		{"header only", header + "\r\n\r\n", []string{"1  error.csv.empty"}},
		{"missing column", strings.Replace(header, ",webhook", "", 1) + "\n" + row, []string{"1  error.csv.columns"}},
		{"unknown column", header + ",notes\n" + row + ",x", []string{"1  error.csv.column"}},
		{"not UTF-8", header + "\n" + strings.Replace(row, ",A,", ",\xc9cole,", 1), []string{"2  error.invalid_utf8"}},
		{"stray quote", header + "\n" + strings.Replace(row, ",A,", `,A "B",`, 1), []string{"2  error.csv.syntax"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parseHostsCSV([]byte(c.file), none)
			var got []string
			for _, e := range f.problems.Errors {
				got = append(got, fmt.Sprintf("%d %s %s", e.Line, e.Field, e.Key))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("problems %q, want %q", got, c.want)
			}
			if c.want == nil && (len(f.hosts) != 1 || f.hosts[0].ID != "a" || !f.hosts[0].Active) {
				t.Fatalf("parsed %+v", f.hosts)
			}
		})
	}
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := range maxHostRows + 1 {
		fmt.Fprintf(&b, "h%d,H,hosting,FR,h%d.example,,email,abuse@h.example,,,,,,\n", i, i)
	}
	if f := parseHostsCSV([]byte(b.String()), none); len(f.problems.Errors) != 1 || f.problems.Errors[0].Key != csvfile.KeyTooMany ||
		f.problems.Errors[0].Line != maxHostRows+2 {
		t.Errorf("too many lines: %+v", f.problems.Errors)
	}
	b.Reset()
	b.WriteString(header + "\n")
	for range 300 {
		b.WriteString("x,,,,,,,,,,,,,\n")
	}
	if f := parseHostsCSV([]byte(b.String()), none); len(f.problems.Errors) != maxHostErrors || !f.problems.More {
		t.Errorf("%d errors listed, more %v", len(f.problems.Errors), f.problems.More)
	}
}

// FuzzImportHosts reads arbitrary bytes as a host list. It must never
// panic; every problem must name a line of the file and have a key; and
// whatever it accepts must be valid hosts that come back the same through
// an export and a second read.
func FuzzImportHosts(f *testing.F) {
	f.Add([]byte(hostsCSV))
	f.Add([]byte(strings.ReplaceAll(strings.ReplaceAll(hostsCSV, ";", " "), ",", ";")))
	f.Add([]byte(strings.Join(HostColumns, ",") + "\nh,H,hosting,FR,h.example,,email,abuse@h.example,,,1,720,,\nh,x,,,,,,,,,,,,\n"))
	platform := func(id string) bool { return id == "social" }
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed := parseHostsCSV(data, platform)
		lines := 1 + bytes.Count(data, []byte("\n"))
		for _, e := range parsed.problems.Errors {
			if e.Line < 1 || e.Line > lines || e.Key == "" {
				t.Fatalf("problem %+v in a file of %d lines", e, lines)
			}
			if e.Field != "" && !slices.Contains(HostColumns, e.Field) {
				t.Fatalf("problem in a column the file does not have: %+v", e)
			}
		}
		if len(parsed.problems.Errors) > maxHostErrors {
			t.Fatalf("%d errors listed", len(parsed.problems.Errors))
		}
		if len(parsed.problems.Errors) > 0 {
			return
		}
		hosts := make([]canopy.Host, len(parsed.hosts))
		for i, h := range parsed.hosts {
			again := *h
			if fields := NormaliseHost(&again); len(fields) > 0 || !reflect.DeepEqual(&again, h) {
				t.Fatalf("accepted a host NormaliseHost refuses or changes: %+v %v", h, fields)
			}
			hosts[i] = *h
		}
		var out bytes.Buffer
		if err := writeHostsCSV(&out, hosts); err != nil {
			t.Fatal(err)
		}
		back := parseHostsCSV(out.Bytes(), platform)
		if len(back.problems.Errors) > 0 {
			t.Fatalf("the export of an accepted file is refused: %+v\n%s", back.problems.Errors, out.String())
		}
		if !reflect.DeepEqual(back.hosts, parsed.hosts) {
			t.Fatalf("round trip changed the hosts:\n%+v\nvs\n%+v\n%s", parsed.hosts, back.hosts, out.String())
		}
	})
}
