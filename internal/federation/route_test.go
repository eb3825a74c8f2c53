package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/geo/geotest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// router is a node serving France, with a country database and the
// tests' DNS, and peers for Belgium (a rule), the Netherlands (none yet),
// Italy (a rule that refers at once) and Luxembourg (a rule naming a peer
// since removed).
func router(t *testing.T, db *store.DB) *node {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "countries.mmdb")
	geotest.Write(t, path, testNetworks)
	g, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n := newNode(t, db, "hotline-fr", newClock().Now)
	n.svc.Jurisdictions, n.svc.Geo, n.svc.Resolver = []string{"FR"}, g, testDNS
	for _, id := range []string{"be", "nl", "it", "lu", "de"} {
		addFakePeer(t, n, id)
	}
	for _, r := range []store.Route{{Jurisdiction: "BE", PeerID: "be"}, {Jurisdiction: "IT", PeerID: "it", Auto: true}, {Jurisdiction: "LU", PeerID: "lu"}} {
		if err := n.svc.SetRoute(ctx, audit.System, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.svc.SetPeerState(ctx, audit.System, "lu", canopy.PeerRemoved); err != nil {
		t.Fatal(err)
	}
	return n
}

// addFakePeer adds a peer with new keys and nothing behind them.
func addFakePeer(t testing.TB, n *node, id string) {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	ex, err := seal.NewExchangeKey(randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.AddPeer(context.Background(), audit.System, canopy.Peer{ID: id, URL: "https://" + id + ".example",
		SigningKey: pub, EncryptionKey: ex.Public()}); err != nil {
		t.Fatal(err)
	}
}

func (n *node) state(id string) *canopy.TriageState {
	n.t.Helper()
	st, err := n.db.TriageState(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	return st
}

// report files a report at n with these addresses and child's country,
// and nothing else the router could use.
func (n *node) report(country string, urls ...string) string {
	n.t.Helper()
	return n.submit(func(s *intake.Submission) {
		s.URLs, s.ChildCountry, s.Description = urls, country, "see the hashes"
	}).ReportID
}

func (n *node) outgoing(reportID string) []string {
	n.t.Helper()
	refs, err := n.db.ReferralsOf(context.Background(), reportID)
	if err != nil {
		n.t.Fatal(err)
	}
	var out []string
	for _, r := range refs {
		if r.Outbound {
			out = append(out, r.PeerID)
		}
	}
	return out
}

func TestRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := router(t, db)
		cases := []struct {
			name    string
			country string
			urls    []string
			want    Decision
			refer   []string // the peers it is referred to at once
		}{
			{"hosted abroad, with a rule", "FR", []string{"https://be-host.example/a"},
				Decision{Jurisdiction: "BE", Basis: canopy.BasisHosting, Route: canopy.RoutePeer, Peer: "be", Hosted: []string{"BE"}}, nil},
			{"hosted abroad, without a rule", "FR", []string{"https://nl-host.example/a"},
				Decision{Jurisdiction: "NL", Basis: canopy.BasisHosting, Route: canopy.RouteUnrouted, Hosted: []string{"NL"}}, nil},
			{"an address by IP", "", []string{"http://198.51.100.7/x"},
				Decision{Jurisdiction: "NL", Basis: canopy.BasisHosting, Route: canopy.RouteUnrouted, Hosted: []string{"NL"}}, nil},
			{"an IPv6 address by name", "", []string{"https://v6-host.example/"},
				Decision{Jurisdiction: "LU", Basis: canopy.BasisHosting, Route: canopy.RouteUnrouted, Hosted: []string{"LU"}}, nil},
			{"the first address with a country decides", "BE", []string{"https://unknown.example/", "https://nl-host.example/b", "https://be-host.example/c"},
				Decision{Jurisdiction: "NL", Basis: canopy.BasisHosting, Route: canopy.RouteUnrouted, Hosted: []string{"NL", "BE"}}, nil},
			{"hosted here", "BE", []string{"https://fr-host.example/"},
				Decision{Jurisdiction: "FR", Basis: canopy.BasisHosting, Route: canopy.RouteLocal, Hosted: []string{"FR"}}, nil},
			{"no address, a child abroad with a rule", "BE", nil,
				Decision{Jurisdiction: "BE", Basis: canopy.BasisChild, Route: canopy.RoutePeer, Peer: "be"}, nil},
			{"no address, a child abroad without a rule", "DE", nil,
				Decision{Jurisdiction: "DE", Basis: canopy.BasisChild, Route: canopy.RouteUnrouted}, nil},
			{"an address nobody can place, a child abroad", "BE", []string{"https://unknown.example/"},
				Decision{Jurisdiction: "BE", Basis: canopy.BasisChild, Route: canopy.RoutePeer, Peer: "be"}, nil},
			{"a child here", "FR", nil,
				Decision{Jurisdiction: "FR", Basis: canopy.BasisChild, Route: canopy.RouteLocal}, nil},
			{"nothing to go on", "", nil,
				Decision{Route: canopy.RouteLocal}, nil},
			{"a rule naming a removed peer", "LU", nil,
				Decision{Jurisdiction: "LU", Basis: canopy.BasisChild, Route: canopy.RouteUnrouted}, nil},
			{"a rule that refers at once", "IT", nil,
				Decision{Jurisdiction: "IT", Basis: canopy.BasisChild, Route: canopy.RoutePeer, Peer: "it", Auto: true}, []string{"it"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := n.report(c.country, c.urls...)
				d, err := n.svc.Route(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if d.Jurisdiction != c.want.Jurisdiction || d.Basis != c.want.Basis || d.Route != c.want.Route || d.Peer != c.want.Peer ||
					d.Auto != c.want.Auto || !slices.Equal(d.Hosted, c.want.Hosted) {
					t.Errorf("Route = %+v, want %+v", d, c.want)
				}
				st := n.state(id)
				if st.Route != c.want.Route || st.Responsible != c.want.Jurisdiction || st.Basis != c.want.Basis || st.RoutePeer != c.want.Peer {
					t.Errorf("state %+v, want the decision", st)
				}
				if got := n.outgoing(id); !slices.Equal(got, c.refer) {
					t.Errorf("referred to %v, want %v", got, c.refer)
				}
				if backlog, err := n.db.RoutingBacklog(ctx, 100); err != nil || slices.Contains(backlog, id) {
					t.Errorf("routed, yet in the backlog: %v, %v", backlog, err)
				}
			})
		}
	})
}

// TestRouteAnalystWins: an analyst's choice of jurisdiction is never
// overridden by the router, whatever the addresses say.
func TestRouteAnalystWins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := router(t, db)
		for _, first := range []string{"analyst", "router"} {
			t.Run(first+" first", func(t *testing.T) {
				id := n.report("FR", "https://be-host.example/a")
				if first == "router" {
					if _, err := n.svc.Route(ctx, id); err != nil {
						t.Fatal(err)
					}
				}
				d, err := n.svc.ChooseJurisdiction(ctx, analyst, id, "DE")
				if err != nil || d.Route != canopy.RouteUnrouted || d.Basis != canopy.BasisAnalyst {
					t.Fatalf("ChooseJurisdiction = %+v, %v", d, err)
				}
				if d, err := n.svc.Route(ctx, id); d != nil || err != nil {
					t.Errorf("Route after the analyst chose = %+v, %v; want nothing", d, err)
				}
				// A rule for the chosen jurisdiction routes it there, still
				// on the analyst's basis.
				if err := n.svc.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "DE", PeerID: "de"}); err != nil {
					t.Fatal(err)
				}
				st := n.state(id)
				if st.Responsible != "DE" || st.Basis != canopy.BasisAnalyst || st.Route != canopy.RoutePeer || st.RoutePeer != "de" {
					t.Errorf("state %+v, want DE by the analyst", st)
				}
				if err := n.svc.DeleteRoute(ctx, audit.System, "DE"); err != nil {
					t.Fatal(err)
				}
			})
		}
		if _, err := n.svc.ChooseJurisdiction(ctx, &canopy.Account{ID: "admin1", Role: canopy.RoleAdministrator}, n.report("FR"), "DE"); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Errorf("an administrator chose a jurisdiction: %v", err)
		}
	})
}

// TestSetRouteReroutes: a new rule routes the reports waiting for one,
// and refers them at once if it says so; reports that came from a peer
// are routed but never passed on by themselves.
func TestSetRouteReroutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := router(t, db)
		nl := n.report("FR", "https://nl-host.example/a")
		de := n.report("DE")
		fromPeer := n.submit(func(s *intake.Submission) {
			s.Channel, s.Reporter, s.URLs, s.ChildCountry, s.Contact = canopy.ChannelPeer, canopy.ReporterPartner, nil, "DE", nil
		}).ReportID
		other := n.report("ES")
		for _, id := range []string{nl, de, fromPeer, other} {
			if d, err := n.svc.Route(ctx, id); err != nil || d.Route != canopy.RouteUnrouted {
				t.Fatalf("Route = %+v, %v; want unrouted", d, err)
			}
		}
		if _, total, err := n.db.Unrouted(ctx, store.QueueFilter{Limit: 10}); err != nil || total != 4 {
			t.Fatalf("%d unrouted, %v; want 4", total, err)
		}

		if err := n.svc.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "NL", PeerID: "nl"}); err != nil {
			t.Fatal(err)
		}
		if st := n.state(nl); st.Route != canopy.RoutePeer || st.RoutePeer != "nl" || st.Basis != canopy.BasisHosting {
			t.Errorf("after a rule for NL: %+v", st)
		}
		if got := n.outgoing(nl); len(got) != 0 {
			t.Errorf("a rule without auto referred it to %v", got)
		}
		if err := n.svc.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "DE", PeerID: "de", Auto: true}); err != nil {
			t.Fatal(err)
		}
		if st := n.state(de); st.Route != canopy.RoutePeer || st.RoutePeer != "de" {
			t.Errorf("after a rule for DE: %+v", st)
		}
		if got := n.outgoing(de); !slices.Equal(got, []string{"de"}) {
			t.Errorf("an auto rule referred the report to %v, want de", got)
		}
		if got := n.outbox("de"); len(got) != 1 || got[0].Kind != KindReferral {
			t.Errorf("de's outbox = %+v, want the referral", got)
		}
		if st := n.state(fromPeer); st.Route != canopy.RoutePeer || st.RoutePeer != "de" {
			t.Errorf("the report from a peer: %+v, want routed to de", st)
		}
		if got := n.outgoing(fromPeer); len(got) != 0 {
			t.Errorf("a report from a peer was passed on to %v by itself", got)
		}
		if states, total, err := n.db.Unrouted(ctx, store.QueueFilter{Limit: 10}); err != nil || total != 1 || states[0].ReportID != other {
			t.Errorf("still unrouted: %d, %v; want only the Spanish report", total, err)
		}
		// A rule set from the shell, by a service that does not know the
		// node's jurisdictions, moves only what the rule covers: the
		// Spanish report still waits.
		own := n.svc.Jurisdictions
		n.svc.Jurisdictions = nil
		err := n.svc.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "IT", PeerID: "nl"})
		n.svc.Jurisdictions = own
		if err != nil {
			t.Fatal(err)
		}
		if st := n.state(other); st.Route != canopy.RouteUnrouted {
			t.Errorf("a rule for IT set from the shell moved the Spanish report: %+v", st)
		}
		// Removing the rule routes nothing back; new reports wait.
		if err := n.svc.DeleteRoute(ctx, audit.System, "NL"); err != nil {
			t.Fatal(err)
		}
		if err := n.svc.DeleteRoute(ctx, audit.System, "NL"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("deleting a rule twice: %v", err)
		}
		if d, _ := n.svc.Route(ctx, n.report("FR", "https://nl-host.example/b")); d.Route != canopy.RouteUnrouted {
			t.Errorf("after the rule is gone: %+v", d)
		}
	})
}

// TestSetRouteReroutesAllWaiting: a rule reaches every waiting report, not
// only the oldest page of them.
func TestSetRouteReroutesAllWaiting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := router(t, db)
		// 250 older reports about Germany wait, then one about Spain.
		err := n.db.Update(ctx, func(tx *store.Tx) error {
			for i := range 250 {
				id := canopy.NewID()
				at := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
				if err := tx.CreateReport(&store.SealedReport{Report: canopy.Report{ID: id, Received: at, Channel: canopy.ChannelPortal,
					Reporter: canopy.ReporterChild, Category: "other", ChildCountry: "DE"}, Content: []byte{1}, WrappedKey: []byte{1},
					ReceiptHash: []byte(id)}); err != nil {
					return err
				}
				if _, err := tx.ApplyEvents(id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventRouted, At: at,
					Actor: "system", Data: map[string]string{"jurisdiction": "DE", "basis": canopy.BasisChild, "route": canopy.RouteUnrouted}}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		es := n.report("ES")
		if d, err := n.svc.Route(ctx, es); err != nil || d.Route != canopy.RouteUnrouted {
			t.Fatalf("Route = %+v, %v", d, err)
		}
		addFakePeer(t, n, "es")
		if err := n.svc.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "ES", PeerID: "es"}); err != nil {
			t.Fatal(err)
		}
		if st := n.state(es); st.Route != canopy.RoutePeer || st.RoutePeer != "es" {
			t.Errorf("the newest waiting report: %+v, want routed to es", st)
		}
	})
}
