package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"
)

// formats are the record sizes and IP versions a database can have.
var formats = []struct{ recordSize, ipVersion int }{
	{24, 4}, {28, 4}, {32, 4}, {24, 6}, {28, 6}, {32, 6},
}

// sample is a small database that covers the shapes of record routing
// meets. IPv6 networks are only in the IPv6 databases.
func sample(tb testing.TB, recordSize, ipVersion int) []byte {
	nets := []network{
		{"81.0.0.0/8", record("BE", "BE")},
		{"81.2.69.0/24", record("GB", "US")}, // inside the /8
		{"2.0.0.0/16", record("", "FR")},     // registered_country only
		{"5.5.5.5/32", record("nl", "")},     // one host, lower case
		{"100.0.0.0/8", record("", "")},      // neither field
		{"200.0.0.0/8", mmdbtype.Map{"country": mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("?")}}, "registered_country": place("BR")}},
		{"0.0.0.0/8", mmdbtype.Map{"country": place("AQ")}}, // first address of the tree
		{"255.255.255.255/32", mmdbtype.Map{"registered_country": place("ZZ")}},
	}
	if ipVersion == 6 {
		nets = append(nets,
			network{"2001:db8::/32", record("JP", "JP")},
			network{"2a02::/16", record("SE", "DK")},
			network{"ffff::/16", record("KR", "")},
		)
	}
	return build(tb, recordSize, ipVersion, nets)
}

func TestCountry(t *testing.T) {
	tests := []struct {
		ip string
		v4 string // in an IPv4 database
		v6 string // in an IPv6 database
	}{
		{"81.0.0.0", "BE", "BE"},
		{"81.0.0.1", "BE", "BE"},
		{"81.255.255.255", "BE", "BE"},
		{"80.255.255.255", "", ""},
		{"82.0.0.0", "", ""},
		{"81.2.68.255", "BE", "BE"},
		{"81.2.69.0", "GB", "GB"},
		{"81.2.69.255", "GB", "GB"},
		{"81.2.70.0", "BE", "BE"},
		{"2.0.0.0", "FR", "FR"},
		{"2.0.255.255", "FR", "FR"},
		{"2.1.0.0", "", ""},
		{"5.5.5.4", "", ""},
		{"5.5.5.5", "NL", "NL"},
		{"5.5.5.6", "", ""},
		{"100.1.2.3", "", ""},
		{"200.1.2.3", "BR", "BR"},
		{"0.0.0.0", "AQ", "AQ"},
		{"255.255.255.255", "ZZ", "ZZ"},
		{"255.255.255.254", "", ""},
		{"192.0.2.1", "", ""},
		{"::ffff:81.0.0.1", "BE", "BE"}, // IPv4-mapped: looked up as IPv4
		{"::5100:1", "", "BE"},          // ::81.0.0.1, the IPv4 subtree
		{"2002:5100:1::", "", "BE"},     // 6to4 alias of 81.0.0.1
		{"2001:db8::", "", "JP"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "", "JP"},
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "", ""},
		{"2001:db9::", "", ""},
		{"2a02:1234::1", "", "SE"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "", "KR"},
		{"::", "", "AQ"}, // ::0.0.0.0, in the IPv4 subtree
		{"fe80::1%eth0", "", ""},
	}
	for _, f := range formats {
		t.Run(fmt.Sprintf("%d-bit/IPv%d", f.recordSize, f.ipVersion), func(t *testing.T) {
			t.Parallel()
			db, err := Load(sample(t, f.recordSize, f.ipVersion))
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range tests {
				want := tt.v4
				if f.ipVersion == 6 {
					want = tt.v6
				}
				got, err := db.Country(netip.MustParseAddr(tt.ip))
				if err != nil || got != want {
					t.Errorf("Country(%s) = %q, %v; want %q", tt.ip, got, err, want)
				}
			}
		})
	}
}

func TestCountryInvalidAddr(t *testing.T) {
	db, err := Load(sample(t, 28, 6))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Country(netip.Addr{}); err == nil {
		t.Errorf("Country(zero Addr) = %q, nil; want error", got)
	}
}

func TestMetadata(t *testing.T) {
	for _, f := range formats {
		t.Run(fmt.Sprintf("%d-bit/IPv%d", f.recordSize, f.ipVersion), func(t *testing.T) {
			db, err := Load(sample(t, f.recordSize, f.ipVersion))
			if err != nil {
				t.Fatal(err)
			}
			m := db.Metadata()
			want := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			if m.DatabaseType != "Canopy-Test-Country" || !m.BuildTime.Equal(want) ||
				m.IPVersion != f.ipVersion || m.RecordSize != f.recordSize || m.NodeCount == 0 {
				t.Errorf("Metadata() = %+v", m)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "country.mmdb")
	if err := os.WriteFile(path, sample(t, 24, 6), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Country(netip.MustParseAddr("81.2.69.1")); got != "GB" || err != nil {
		t.Errorf("Country = %q, %v; want GB", got, err)
	}

	_, err = Open(filepath.Join(dir, "missing.mmdb"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "geo: ") {
		t.Errorf("Open(missing) = %v; want a geo: error matching fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(bad)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Open(bad) = %v; want an error naming the file and matching ErrInvalid", err)
	}
}

// randomDB builds a database of n random networks, a fifth of them with
// only registered_country, and returns it with the networks.
func randomDB(tb testing.TB, r *rand.Rand, recordSize, ipVersion, n int) ([]byte, []netip.Prefix) {
	codes := []string{"BE", "NL", "FR", "DE", "GB", "US", "BR", "JP", "KE", "ZA", "IN", "AU"}
	var nets []network
	var prefixes []netip.Prefix
	for range n {
		var p netip.Prefix
		if ipVersion == 4 || r.IntN(2) == 0 {
			a := netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			p = netip.PrefixFrom(a, 8+r.IntN(25)).Masked()
		} else {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			// Global unicast, away from the IPv4 aliases in 2001::/32
			// and 2002::/16, where mmdbwriter refuses to insert.
			b[0] = 0x21 + b[0]%0x1f
			p = netip.PrefixFrom(netip.AddrFrom16(b), 16+r.IntN(49)).Masked()
		}
		code := codes[r.IntN(len(codes))]
		rec := record(code, codes[r.IntN(len(codes))])
		if r.IntN(5) == 0 {
			rec = record("", code)
		}
		nets = append(nets, network{p.String(), rec})
		prefixes = append(prefixes, p)
	}
	return build(tb, recordSize, ipVersion, nets), prefixes
}

// addrIn returns a random address inside p.
func addrIn(r *rand.Rand, p netip.Prefix) netip.Addr {
	a := p.Addr().AsSlice()
	for i := p.Bits(); i < len(a)*8; i++ {
		if r.IntN(2) == 1 {
			a[i/8] |= 0x80 >> (i % 8)
		}
	}
	addr, _ := netip.AddrFromSlice(a)
	return addr
}

// TestCrossCheck compares lookups with those of maxminddb-golang, a reader
// in wide use, over random networks and addresses.
func TestCrossCheck(t *testing.T) {
	for i, f := range formats {
		t.Run(fmt.Sprintf("%d-bit/IPv%d", f.recordSize, f.ipVersion), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			b, prefixes := randomDB(t, r, f.recordSize, f.ipVersion, 300)
			db, err := Load(b)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := maxminddb.OpenBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for n := range 4000 {
				var ip netip.Addr
				switch {
				case n%2 == 0:
					ip = addrIn(r, prefixes[r.IntN(len(prefixes))])
				case f.ipVersion == 4 || n%4 == 1:
					ip = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
				default:
					var a [16]byte
					for i := range a {
						a[i] = byte(r.Uint32())
					}
					ip = netip.AddrFrom16(a)
				}
				var rec struct {
					Country struct {
						ISOCode string `maxminddb:"iso_code"`
					} `maxminddb:"country"`
					Registered struct {
						ISOCode string `maxminddb:"iso_code"`
					} `maxminddb:"registered_country"`
				}
				if err := ref.Lookup(ip).Decode(&rec); err != nil {
					t.Fatalf("maxminddb: %s: %v", ip, err)
				}
				want := rec.Country.ISOCode
				if want == "" {
					want = rec.Registered.ISOCode
				}
				got, err := db.Country(ip)
				if err != nil || got != want {
					t.Fatalf("Country(%s) = %q, %v; maxminddb says %q", ip, got, err, want)
				}
				if got != "" {
					found++
				}
			}
			if found < 2000 {
				t.Errorf("only %d of 4000 lookups found a country; the test is not exercising much", found)
			}
		})
	}
}

// BenchmarkCountry looks up addresses inside the networks of a database
// of a few hundred GeoLite2-like records, about the worst case for the
// decoder since every record carries fields to skip.
func BenchmarkCountry(b *testing.B) {
	for _, f := range []struct{ recordSize, ipVersion int }{{24, 6}, {28, 6}, {32, 6}, {24, 4}} {
		r := rand.New(rand.NewPCG(1, 2))
		data, prefixes := randomDB(b, r, f.recordSize, f.ipVersion, 500)
		db, err := Load(data)
		if err != nil {
			b.Fatal(err)
		}
		var v4, v6 []netip.Addr
		for len(v4) < 1024 || (f.ipVersion == 6 && len(v6) < 1024) {
			p := prefixes[r.IntN(len(prefixes))]
			if p.Addr().Is4() {
				v4 = append(v4, addrIn(r, p))
			} else {
				v6 = append(v6, addrIn(r, p))
			}
		}
		for _, c := range []struct {
			name  string
			addrs []netip.Addr
		}{{"IPv4", v4}, {"IPv6", v6}} {
			if len(c.addrs) == 0 {
				continue
			}
			b.Run(fmt.Sprintf("%d-bit/IPv%d-db/%s", f.recordSize, f.ipVersion, c.name), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := db.Country(c.addrs[i&1023]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
