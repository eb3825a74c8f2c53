package bank

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func newService(t *testing.T, db *store.DB) *Service {
	log := audittest.Open(t, db)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	return &Service{DB: db, Audit: log, Now: func() time.Time { return now }}
}

const (
	pdqA = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
	pdqB = "30a10efdf1c83f429013d48d0ffffc52e34e0e35ada952a9d29605215aa9e5af"
	md5A = "0123456789abcdef0123456789abcdef"
)

func TestImportExportAndChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		by := audit.Staff("analyst1")
		if _, err := s.Create(ctx, by, canopy.Bank{Name: "Bad Name!"}); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("bad name: %v", err)
		}
		b, err := s.Create(ctx, by, canopy.Bank{Name: "hotline-fr", SourceOrg: "Hotline FR", Agreement: "MoU 2026"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, by, canopy.Bank{Name: "hotline-fr"}); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("duplicate name: %v", err)
		}

		// ThreatExchange-style PDQ layout, with a comment, a bad line and
		// a duplicate.
		te := "# from the reference tool\n" + pdqA + ",100,bridge.jpg\n" + strings.ToUpper(pdqB) + ",87\nnot-a-hash,50\n" + pdqA + ",100\n"
		res, err := s.Import(ctx, by, b.Name, FormatThreatExchange, strings.NewReader(te))
		if err != nil {
			t.Fatal(err)
		}
		if res.Added != 2 || res.Unchanged != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 4 || res.Errors[0].Key != "error.hash.value" {
			t.Fatalf("te import %+v", res)
		}

		// CSV and JSON lines, with categories and labels.
		csvIn := "algorithm,value,quality,category,labels\nmd5," + md5A + ",,csam,series-x verified\nsha1,zz,,,\n"
		res, err = s.Import(ctx, by, b.Name, FormatCSV, strings.NewReader(csvIn))
		if err != nil || res.Added != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 3 {
			t.Fatalf("csv import %+v %v", res, err)
		}
		jl := `{"algorithm":"photodna","value":"opaque/licensed+value==","category":"csam"}` + "\n" + `{"algorithm":"crc32","value":"00"}` + "\n{not json\n"
		res, err = s.Import(ctx, by, b.Name, FormatJSONL, strings.NewReader(jl))
		if err != nil || res.Added != 1 || len(res.Errors) != 2 {
			t.Fatalf("jsonl import %+v %v", res, err)
		}

		// VICS media records.
		vics := `{"odata.metadata":"x","value":[{"Media":[{"MediaID":1,"Category":1,"MD5":"` + strings.ToUpper(md5A) + `","SHA1":"0123456789abcdef0123456789abcdef01234567"},{"MediaID":2}]}]}`
		res, err = s.Import(ctx, by, b.Name, FormatVICS, strings.NewReader(vics))
		if err != nil || res.Added != 1 || res.Unchanged != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 2 {
			t.Fatalf("vics import %+v %v", res, err)
		}
		if n, _ := db.BankSize(ctx, b.ID); n != 5 {
			t.Fatalf("bank holds %d, want 5", n)
		}

		// Remove one; the change history has every step, in order, and a
		// consumer paging from a cursor sees each exactly once.
		res, err = s.Change(ctx, by, b.Name, canopy.BankRemove, []canopy.BankEntry{{Algorithm: "pdq", Value: pdqB}})
		if err != nil || res.Removed != 1 {
			t.Fatalf("remove %+v %v", res, err)
		}
		var all []canopy.BankChange
		cursor := ""
		for {
			page, next, err := s.Changes(ctx, b.Name, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				if next != cursor && cursor != "" {
					t.Fatalf("empty page moved the cursor %q -> %q", cursor, next)
				}
				break
			}
			all = append(all, page...)
			cursor = next
		}
		if len(all) != 6 || all[5].Op != canopy.BankRemove || all[5].Value != pdqB || all[0].Quality != 100 {
			t.Fatalf("changes %+v", all)
		}
		if _, _, err := s.Changes(ctx, b.Name, "!!", 10); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("bad cursor: %v", err)
		}

		// Export and import into another bank: the same contents.
		var out bytes.Buffer
		if err := s.Export(ctx, b.Name, FormatCSV, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "md5,"+md5A+",,csam,series-x verified,staff:analyst1,2026-11-27T09:00:00Z") {
			t.Fatalf("csv export:\n%s", out.String())
		}
		b2, _ := s.Create(ctx, by, canopy.Bank{Name: "copy"})
		res, err = s.Import(ctx, by, b2.Name, FormatCSV, &out)
		if err != nil || res.Added != 4 || len(res.Errors) != 0 {
			t.Fatalf("round trip %+v %v", res, err)
		}
		out.Reset()
		s.Export(ctx, b.Name, FormatThreatExchange, &out)
		if out.String() != pdqA+",100,bridge.jpg\n" {
			t.Fatalf("te export %q", out.String())
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("te", pdqA+",100,x\n")
	f.Add("csv", "algorithm,value\nmd5,"+md5A+"\n")
	f.Add("jsonl", `{"algorithm":"md5","value":"`+md5A+`"}`)
	f.Add("vics", `{"value":[{"Media":[{"MD5":"`+md5A+`"}]}]}`)
	f.Add("csv", "\"unterminated\n")
	f.Fuzz(func(t *testing.T, format, in string) {
		p, err := Parse(format, strings.NewReader(in))
		if err != nil {
			return
		}
		if len(p.Entries) != len(p.Lines) {
			t.Fatal("entries and lines out of step")
		}
		for i := range p.Entries {
			e := p.Entries[i]
			if NormaliseEntry(&e) == "" && e.Algorithm != "pdq" && e.Quality != -1 {
				t.Fatalf("quality kept on %s", e.Algorithm)
			}
		}
	})
}
