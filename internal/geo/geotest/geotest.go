// Package geotest writes small country databases for tests, so that the
// tests of packages that route by country can run against a real .mmdb
// file instead of faking the lookup.
package geotest

import (
	"cmp"
	"context"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Write writes to path a database that maps each network, given in CIDR
// notation ("192.0.2.0/24", "2001:db8::/32"), to a country code, stored
// as country.iso_code the way GeoLite2-Country stores it. The tree is
// IPv6 with the usual IPv4 aliases, so both kinds of address can be
// looked up. Reserved ranges are allowed, since tests use documentation
// addresses. Where networks overlap, the more specific one wins.
func Write(t testing.TB, path string, networks map[string]string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Canopy-Test-Country",
		Description:             map[string]string{"en": "Canopy test database"},
		Languages:               []string{"en"},
		IPVersion:               6,
		RecordSize:              28,
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatalf("geotest: new tree: %v", err)
	}
	// Insert wider networks first: a later insert replaces what it
	// covers, so narrower ones must come after to take precedence.
	type entry struct {
		net  *net.IPNet
		code string
	}
	var entries []entry
	for cidr, code := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatalf("geotest: network %q: %v", cidr, err)
		}
		entries = append(entries, entry{n, code})
	}
	depth := func(n *net.IPNet) int {
		ones, bits := n.Mask.Size()
		if bits == 32 {
			ones += 96 // IPv4 networks sit under ::/96 in the tree
		}
		return ones
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(depth(a.net), depth(b.net)), strings.Compare(a.net.String(), b.net.String()))
	})
	for _, e := range entries {
		rec := mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String(e.code),
				"names":    mmdbtype.Map{"en": mmdbtype.String(e.code)},
			},
		}
		if err := tree.Insert(e.net, rec); err != nil {
			t.Fatalf("geotest: insert %s: %v", e.net, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("geotest: %v", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		t.Fatalf("geotest: write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("geotest: write %s: %v", path, err)
	}
}

// DNS resolves the hosts it maps to the addresses given and no other, so
// tests route reports by hosting country without a network. It satisfies
// federation.Resolver.
type DNS map[string]string

// LookupNetIP returns the host's address, or a not-found error.
func (d DNS) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	ip, ok := d[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: host}
	}
	return []netip.Addr{a}, nil
}
