package federation

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// live is two nodes serving each other's deliveries over HTTP, each
// running its deliverers, router and publisher on the real clock.
type live struct {
	t      *testing.T
	fr, be *node

	mu      sync.Mutex
	servers []*httptest.Server
}

func newLive(t *testing.T, db *store.DB, frPeer, bePeer func(*canopy.Peer)) *live {
	t.Helper()
	l := &live{t: t}
	l.fr = newNode(t, db, "hotline-fr", time.Now)
	l.be = newNode(t, storetest.Open(t, db.Dialect()), "hotline-be", time.Now)
	for _, n := range []*node{l.fr, l.be} {
		n.svc.MinBackoff, n.svc.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
		n.intake.Notify = n.svc.WakeRouter
	}
	frURL, beURL := l.serve(l.fr), l.serve(l.be)
	l.fr.addPeer("be", l.be, func(p *canopy.Peer) {
		p.URL = beURL
		if frPeer != nil {
			frPeer(p)
		}
	})
	l.be.addPeer("fr", l.fr, func(p *canopy.Peer) {
		p.URL = frURL
		if bePeer != nil {
			bePeer(p)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range []*node{l.fr, l.be} {
		wg.Add(1)
		go func() { defer wg.Done(); n.svc.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, s := range l.servers {
			s.Close()
		}
	})
	return l
}

// serve starts an HTTP server for n's federation endpoints and returns
// its URL.
func (l *live) serve(n *node) string {
	s := httptest.NewServer(n.svc.Handler())
	l.mu.Lock()
	defer l.mu.Unlock()
	l.servers = append(l.servers, s)
	return s.URL
}

func (l *live) refer(n int) (reports, refs []string) {
	l.t.Helper()
	for range n {
		rc := l.fr.submit(nil)
		ref, err := l.fr.svc.Refer(context.Background(), analyst, rc.ReportID, "be")
		if err != nil {
			l.t.Fatal(err)
		}
		reports, refs = append(reports, rc.ReportID), append(refs, ref.ID)
	}
	return reports, refs
}

func (n *node) stats(peerID string) store.OutboxStats {
	n.t.Helper()
	stats, err := n.db.OutboxStats(context.Background())
	if err != nil {
		n.t.Fatal(err)
	}
	if s := stats[peerID]; s != nil {
		return *s
	}
	return store.OutboxStats{}
}

func (n *node) referrals(outbound bool) int {
	n.t.Helper()
	c, err := n.db.CountReferrals(context.Background(), outbound)
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// TestDelivery refers reports from fr to be over HTTP while be is up, then
// while it is down and after it comes back at another address: every
// referral arrives once, and what be says of one arrives in order.
func TestDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newLive(t, db, nil, nil)
		fr, be := l.fr, l.be
		const before, during = 8, 8
		reports, refs := l.refer(before)
		eventually(t, "be has every referral and fr hears it was received", func() bool {
			for _, id := range refs {
				if r := fr.referral("be", id, true); r == nil || r.Status != canopy.ReferralReceived {
					return false
				}
			}
			return be.referrals(false) == before && fr.stats("be").Pending == 0
		})
		for _, id := range reports {
			want := []string{canopy.EventReceived, canopy.EventReferred, "referral_status:in:received"}
			if got := fr.timeline(id); !slices.Equal(got, want) {
				t.Errorf("fr's timeline of %s = %v, want %v", id, got, want)
			}
		}

		// be goes away: what fr refers waits, with the error in sight.
		l.mu.Lock()
		l.servers[1].Close()
		l.mu.Unlock()
		_, more := l.refer(during)
		refs = append(refs, more...)
		eventually(t, "fr's outbox shows the wait", func() bool {
			s := fr.stats("be")
			return s.Pending == during && s.LastError != "" && !s.OldestPending.IsZero()
		})
		if n := be.referrals(false); n != before {
			t.Fatalf("be has %d referrals while down", n)
		}
		// be comes back at another address.
		url := l.serve(be)
		if _, err := fr.svc.UpdatePeer(ctx, audit.Staff("admin1"), "be", func(p *canopy.Peer) { p.URL = url }); err != nil {
			t.Fatal(err)
		}
		eventually(t, "every referral reaches be and fr's outbox drains", func() bool {
			return be.referrals(false) == before+during && fr.stats("be").Pending == 0
		})
		if n := be.count(); n != before+during {
			t.Errorf("be holds %d reports, want %d: a referral was lost or duplicated", n, before+during)
		}
		for _, id := range refs {
			if be.referral("fr", id, false) == nil {
				t.Errorf("referral %s was lost", id)
			}
		}

		// be's analyst follows the first one through: the statuses arrive
		// at fr in the order they were sent, and the reporter sees it.
		in := be.referral("fr", refs[0], false)
		for _, st := range []string{canopy.ReferralAccepted, canopy.ReferralActioned, canopy.ReferralContentRemoved} {
			if err := be.svc.SendStatus(ctx, analyst, in.ReportID, st, "host notified"); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "fr hears the content is removed", func() bool {
			return fr.referral("be", refs[0], true).Status == canopy.ReferralContentRemoved
		})
		want := []string{canopy.EventReceived, canopy.EventReferred, "referral_status:in:received", "referral_status:in:accepted",
			"referral_status:in:actioned", "referral_status:in:content_removed"}
		if got := fr.timeline(reports[0]); !slices.Equal(got, want) {
			t.Errorf("fr's timeline = %v, want %v", got, want)
		}
		want = []string{canopy.EventReceived, canopy.EventReferralReceived, "referral_status:out:received", "referral_status:out:accepted",
			"referral_status:out:actioned", "referral_status:out:content_removed"}
		if got := be.timeline(in.ReportID); !slices.Equal(got, want) {
			t.Errorf("be's timeline = %v, want %v", got, want)
		}
	})
}

// TestDeliveryToSuspendedPeer: a peer that suspends this node refuses its
// messages, which wait, with the refusal in sight, until it resumes.
func TestDeliveryToSuspendedPeer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newLive(t, db, nil, nil)
		fr, be := l.fr, l.be
		if _, err := be.svc.SetPeerState(ctx, audit.System, "fr", canopy.PeerSuspended); err != nil {
			t.Fatal(err)
		}
		_, refs := l.refer(3)
		eventually(t, "fr sees the refusal", func() bool {
			s := fr.stats("be")
			return s.Pending == 3 && s.LastError == StatusRefused+": "+ReasonSuspended
		})
		if len(be.refusals(ReasonSuspended)) == 0 || be.referrals(false) != 0 {
			t.Fatal("be took messages from a suspended peer, or did not audit their refusal")
		}
		if _, err := be.svc.SetPeerState(ctx, audit.System, "fr", canopy.PeerActive); err != nil {
			t.Fatal(err)
		}
		eventually(t, "be takes them once fr is resumed", func() bool {
			return be.referrals(false) == 3 && fr.stats("be").Pending == 0
		})
		for _, id := range refs {
			if be.referral("fr", id, false) == nil {
				t.Errorf("referral %s was lost", id)
			}
		}
	})
}

// TestRefusalHoldsTheLink: a message the peer refuses for good holds back
// what follows to that peer, as docs/federation.md says, and shows as the
// last error; nothing after it is lost once the cause is removed.
func TestRefusalHoldsTheLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newLive(t, db, nil, nil)
		fr, be := l.fr, l.be
		if _, err := be.banks.Create(ctx, audit.System, canopy.Bank{Name: "secret"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fr.svc.Subscribe(ctx, audit.System, "be", "secret"); err != nil {
			t.Fatal(err)
		}
		_, refs := l.refer(2)
		eventually(t, "fr sees the refusal", func() bool {
			return strings.HasPrefix(fr.stats("be").LastError, StatusRefused+": "+ReasonInvalid)
		})
		if got := be.refusals(ReasonInvalid); got[0].Details["kind"] != KindSubscribe {
			t.Errorf("be refused %v, want the subscription", got[0].Details)
		}
		// be's administrator shares the bank: the subscription and what
		// waited behind it go through.
		if _, err := be.svc.UpdatePeer(ctx, audit.System, "fr", func(p *canopy.Peer) { p.Banks = []string{"secret"} }); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the link flows again", func() bool {
			return fr.stats("be").Pending == 0 && be.referrals(false) == len(refs)
		})
		subs, err := be.db.Subscriptions(ctx, true)
		if err != nil || len(subs) != 1 || subs[0].PeerID != "fr" || subs[0].Bank != "secret" {
			t.Errorf("be's subscribers = %+v, %v", subs, err)
		}
		if n := be.count(); n != len(refs) {
			t.Errorf("be holds %d reports, want %d", n, len(refs))
		}
	})
}
