package geo

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the generated seeds in testdata/fuzz/FuzzLoad")

// fuzzAddrs are looked up in every database the fuzzer loads, besides
// addresses taken from the input itself.
var fuzzAddrs = []netip.Addr{
	netip.MustParseAddr("0.0.0.0"),
	netip.MustParseAddr("1.2.3.4"),
	netip.MustParseAddr("81.2.69.160"),
	netip.MustParseAddr("255.255.255.255"),
	netip.MustParseAddr("::"),
	netip.MustParseAddr("2001:db8::1"),
	netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
}

// FuzzLoad feeds arbitrary files to Load and looks addresses up in those
// it accepts: a database comes from outside, so no file may crash or hang
// a node, and every failure must say the file is invalid.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := Load(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load error %v does not match ErrInvalid", err)
			}
			return
		}
		m := db.Metadata()
		if (m.IPVersion != 4 && m.IPVersion != 6) || m.NodeCount == 0 {
			t.Fatalf("Load accepted metadata %+v", m)
		}
		addrs := fuzzAddrs
		if len(b) >= 16 {
			addrs = append(addrs[:len(addrs):len(addrs)],
				netip.AddrFrom16([16]byte(b[len(b)-16:])), netip.AddrFrom4([4]byte(b[:4])))
		}
		for _, ip := range addrs {
			code, err := db.Country(ip)
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Country(%s) error %v does not match ErrInvalid", ip, err)
			}
			if code != "" && (len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z') {
				t.Fatalf("Country(%s) = %q", ip, code)
			}
		}
	})
}

// TestFuzzSeeds writes the seed corpus of FuzzLoad when run with
// -update-seeds: valid databases of each record size, so the fuzzer starts
// from files that get past the metadata, and broken ones that exercise
// each defence. Files under testdata/fuzz/FuzzLoad whose names do not
// start with "seed-" are crashers the fuzzer found, kept as regressions.
func TestFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seed corpus")
	}
	small := func(recordSize, ipVersion int) []byte {
		nets := []network{
			{"81.2.69.0/24", mmdbtype.Map{"a": mmdbtype.Slice{mmdbtype.Float64(1), mmdbtype.Bool(true)}, "country": place("GB")}},
			{"1.0.0.0/8", mmdbtype.Map{"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("au")}}},
		}
		if ipVersion == 6 {
			nets = append(nets, network{"2001:db8::/32", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("JP")}}})
		}
		return build(t, recordSize, ipVersion, nets)
	}
	valid := small(28, 6)
	good := raw{nodes: oneNode, data: enc{}.country("BE")}
	seeds := map[string][]byte{
		"seed-valid-24-v4":        small(24, 4),
		"seed-valid-28-v6":        valid,
		"seed-valid-32-v6":        small(32, 6),
		"seed-valid-32-v4":        small(32, 4),
		"seed-raw-28":             raw{recordSize: 28, nodes: oneNode, data: enc{}.ptr(3, 5).country("be")}.bytes(),
		"seed-truncated":          valid[:len(valid)/2],
		"seed-truncated-metadata": valid[:len(valid)-5],
		"seed-bad-metadata": func() []byte {
			r := good
			r.metaEdit = setField("record_size", enc{}.uint(kindUint16, 20))
			return r.bytes()
		}(),
		"seed-pointer-loop":    raw{nodes: oneNode, data: enc{}.ptr(0, 0)}.bytes(),
		"seed-pointer-chain":   raw{nodes: oneNode, data: enc{}.ptr(0, 2).ptr(0, 4).country("BE")}.bytes(),
		"seed-tree-loop":       raw{nodes: [][2]uint32{{1, 1}, {0, 0}}, data: enc{}.country("BE")}.bytes(),
		"seed-huge-map":        raw{nodes: oneNode, data: enc{}.head(kindMap, 16843036).str("a")}.bytes(),
		"seed-record-past-end": raw{nodes: [][2]uint32{{dataRecord(1, 500), dataRecord(1, 0)}}, data: enc{}.country("BE")}.bytes(),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestValidSeeds checks that the valid seeds still load and answer, so the
// fuzzer keeps starting from files that reach the lookup code.
func TestValidSeeds(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzLoad", "seed-valid-*"))
	if err != nil || len(names) < 3 {
		t.Fatalf("found seeds %v, %v; want at least 3", names, err)
	}
	for _, name := range names {
		t.Run(filepath.Base(name), func(t *testing.T) {
			content, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			lit, ok := strings.CutPrefix(string(content), "go test fuzz v1\n[]byte(")
			lit, ok2 := strings.CutSuffix(lit, ")\n")
			s, err := strconv.Unquote(lit)
			if !ok || !ok2 || err != nil {
				t.Fatalf("cannot parse corpus file: %v", err)
			}
			db, err := Load([]byte(s))
			if err != nil {
				t.Fatal(err)
			}
			for ip, want := range map[string]string{"81.2.69.160": "GB", "1.1.1.1": "AU", "8.8.8.8": ""} {
				if got, err := db.Country(netip.MustParseAddr(ip)); got != want || err != nil {
					t.Errorf("Country(%s) = %q, %v; want %q", ip, got, err, want)
				}
			}
		})
	}
}
