package geotest_test

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/geo/geotest"
)

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	geotest.Write(t, path, map[string]string{
		"192.0.2.0/24":    "BE",
		"192.0.2.128/25":  "NL", // more specific, wins inside the /24
		"198.51.100.7/32": "FR",
		"2001:db8::/32":   "DE",
		"2001:db8:1::/48": "LU",
	})
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ ip, want string }{
		{"192.0.2.1", "BE"},
		{"192.0.2.127", "BE"},
		{"192.0.2.128", "NL"},
		{"192.0.2.255", "NL"},
		{"::ffff:192.0.2.1", "BE"},
		{"198.51.100.7", "FR"},
		{"198.51.100.8", ""},
		{"203.0.113.1", ""},
		{"2001:db8::1", "DE"},
		{"2001:db8:1::1", "LU"},
		{"2001:db9::1", ""},
	}
	for _, tt := range tests {
		got, err := db.Country(netip.MustParseAddr(tt.ip))
		if err != nil || got != tt.want {
			t.Errorf("Country(%s) = %q, %v; want %q", tt.ip, got, err, tt.want)
		}
	}
	if m := db.Metadata(); m.IPVersion != 6 || m.DatabaseType != "Canopy-Test-Country" {
		t.Errorf("Metadata() = %+v", m)
	}
}
