package geo

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Countries places an address in a country; *DB is one.
type Countries interface {
	Country(ip netip.Addr) (string, error)
}

// Locator finds where a host name is served from: its addresses by DNS,
// and their country by a country database. Routing uses it to find the
// jurisdiction where content is hosted, and takedown to find the host.
type Locator struct {
	Geo      Countries // nil: no address is placed
	Resolver Resolver  // nil: net.DefaultResolver
	// Timeout bounds one look-up; zero for 3 seconds.
	Timeout time.Duration
}

// Addrs returns a host name's addresses: the address itself when it is
// one, else what DNS says. A name that does not resolve has none: it says
// nothing about where the content is.
func (l *Locator) Addrs(ctx context.Context, host string) []netip.Addr {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}
	}
	r := l.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	timeout := l.Timeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := r.LookupNetIP(lctx, "ip", host)
	if err != nil {
		return nil
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs
}

// Country returns the country of the first of the addresses that the
// database places, or "".
func (l *Locator) Country(addrs []netip.Addr) string {
	if l.Geo == nil {
		return ""
	}
	for _, a := range addrs {
		if c, err := l.Geo.Country(a); err == nil && c != "" {
			return c
		}
	}
	return ""
}
