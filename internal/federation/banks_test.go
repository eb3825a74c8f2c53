package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

const (
	pdqHash  = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	pdqNear  = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23" // one bit away
	md5Hash  = "d41d8cd98f00b204e9800998ecf8427e"
	shaHash  = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	shaLater = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
)

// mirrorEntries lists the values a node's mirror of a peer's bank holds.
func (n *node) mirrorEntries(peerID, bankName string) []string {
	n.t.Helper()
	b, err := n.db.BankByName(context.Background(), MirrorName(peerID, bankName))
	if err != nil {
		n.t.Fatal(err)
	}
	var out []string
	err = n.db.BankEntries(context.Background(), b.ID, func(e canopy.BankEntry) error {
		out = append(out, e.Algorithm+":"+e.Value)
		return nil
	})
	if err != nil {
		n.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// hits names the banks n's matcher finds a hash in.
func (n *node) hits(algorithm, value string) []string {
	var out []string
	for _, h := range n.matcher.Match(canopy.ContentHash{Algorithm: algorithm, Value: value}, 0) {
		out = append(out, h.Bank)
	}
	return out
}

// TestBankSubscription: be shares a bank with fr; fr subscribes, and the
// bank's entries, then its later changes, arrive in fr's mirror and its
// matcher. A bank be does not share is refused.
func TestBankSubscription(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := newLive(t, db, nil, func(p *canopy.Peer) { p.Banks = []string{"shared"} })
		fr, be := l.fr, l.be
		for _, name := range []string{"shared", "secret"} {
			if _, err := be.banks.Create(ctx, audit.Staff("admin1"), canopy.Bank{Name: name, SourceOrg: "hotline-be", Agreement: "MoU 2026"}); err != nil {
				t.Fatal(err)
			}
		}
		entries := []canopy.BankEntry{
			{Algorithm: "pdq", Value: pdqHash, Quality: 92, Category: "csam", Labels: []string{"series-a"}},
			{Algorithm: "md5", Value: md5Hash},
			{Algorithm: "sha256", Value: shaHash, Category: "csam"},
		}
		if res, err := be.banks.Change(ctx, audit.Staff("admin1"), "shared", canopy.BankAdd, entries); err != nil || res.Added != 3 {
			t.Fatalf("Change = %+v, %v", res, err)
		}
		if _, err := be.banks.Change(ctx, audit.Staff("admin1"), "secret", canopy.BankAdd, []canopy.BankEntry{{Algorithm: "sha256", Value: shaLater}}); err != nil {
			t.Fatal(err)
		}

		mirror, err := fr.svc.Subscribe(ctx, audit.Staff("admin1"), "be", "shared")
		if err != nil {
			t.Fatal(err)
		}
		if mirror.Name != MirrorName("be", "shared") || mirror.Name != "be_shared" {
			t.Errorf("mirror named %q", mirror.Name)
		}
		want := []string{"md5:" + md5Hash, "pdq:" + pdqHash, "sha256:" + shaHash}
		eventually(t, "fr's mirror has be's bank", func() bool { return slices.Equal(fr.mirrorEntries("be", "shared"), want) })
		eventually(t, "fr's matcher has it", func() bool { return len(fr.hits("md5", md5Hash)) == 1 })
		for _, h := range []struct{ algorithm, value string }{{"pdq", pdqHash}, {"pdq", pdqNear}, {"md5", md5Hash}, {"sha256", shaHash}} {
			if got := fr.hits(h.algorithm, h.value); !slices.Equal(got, []string{"be_shared"}) {
				t.Errorf("fr's matcher finds %s %s in %v, want be_shared", h.algorithm, h.value, got)
			}
		}
		// A report fr receives now is matched against the mirror.
		rc := fr.submit(func(s *intake.Submission) { s.Hashes = []canopy.ContentHash{{Algorithm: "md5", Value: md5Hash}} })
		if got := fr.timeline(rc.ReportID); !slices.Contains(got, canopy.EventMatched) {
			t.Errorf("a report with a mirrored hash: timeline %v, want a match", got)
		}
		if subs, err := be.db.Subscriptions(ctx, true); err != nil || len(subs) != 1 || subs[0].PeerID != "fr" || subs[0].Bank != "shared" {
			t.Errorf("be's subscribers = %+v, %v", subs, err)
		}

		// be removes one hash and adds another: fr follows.
		if _, err := be.banks.Change(ctx, audit.Staff("admin1"), "shared", canopy.BankRemove, []canopy.BankEntry{{Algorithm: "sha256", Value: shaHash}}); err != nil {
			t.Fatal(err)
		}
		if _, err := be.banks.Change(ctx, audit.Staff("admin1"), "shared", canopy.BankAdd, []canopy.BankEntry{{Algorithm: "sha256", Value: shaLater}}); err != nil {
			t.Fatal(err)
		}
		want = []string{"md5:" + md5Hash, "pdq:" + pdqHash, "sha256:" + shaLater}
		eventually(t, "fr's mirror follows be's changes", func() bool { return slices.Equal(fr.mirrorEntries("be", "shared"), want) })
		// The matcher learns a page just after its commit.
		eventually(t, "fr's matcher follows", func() bool {
			return len(fr.hits("sha256", shaHash)) == 0 && slices.Equal(fr.hits("sha256", shaLater), []string{"be_shared"})
		})
		for _, h := range []struct{ algorithm, value string }{{"pdq", pdqHash}, {"md5", md5Hash}} {
			if got := fr.hits(h.algorithm, h.value); !slices.Equal(got, []string{"be_shared"}) {
				t.Errorf("after the changes fr's matcher finds %s %s in %v", h.algorithm, h.value, got)
			}
		}

		// A bank be does not share with fr is refused, and its mirror
		// stays empty.
		if _, err := fr.svc.Subscribe(ctx, audit.Staff("admin1"), "be", "secret"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "be refuses the subscription", func() bool {
			for _, e := range be.refusals(ReasonInvalid) {
				if e.Details["kind"] == KindSubscribe {
					return true
				}
			}
			return false
		})
		if got := fr.mirrorEntries("be", "secret"); len(got) != 0 {
			t.Errorf("fr's mirror of a bank not shared holds %v", got)
		}
		if subs, _ := be.db.Subscriptions(ctx, true); len(subs) != 1 {
			t.Errorf("be recorded a subscription to a bank it does not share: %+v", subs)
		}
	})
}

// TestMirrorNames: mirrors of different peers' banks never share a bank,
// and a bank of this node's own is never taken over as a mirror.
func TestMirrorNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		n := newNode(t, db, "hotline-fr", newClock().Now)
		for _, id := range []string{"x-y", "x"} {
			pub, _, _ := ed25519.GenerateKey(rand.Reader)
			ex, err := seal.NewExchangeKey(randomBytes(32))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.svc.AddPeer(ctx, audit.System, canopy.Peer{ID: id, URL: "https://" + id + ".example", SigningKey: pub, EncryptionKey: ex.Public()}); err != nil {
				t.Fatal(err)
			}
		}
		a, err := n.svc.Subscribe(ctx, audit.System, "x-y", "z")
		if err != nil {
			t.Fatal(err)
		}
		b, err := n.svc.Subscribe(ctx, audit.System, "x", "y-z")
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == b.ID || a.Name == b.Name {
			t.Errorf("two peers' banks share the mirror %s", a.Name)
		}
		// Subscribing again reuses the mirror.
		again, err := n.svc.Subscribe(ctx, audit.System, "x", "y-z")
		if err != nil || again.ID != b.ID {
			t.Errorf("subscribing again: %+v, %v; want mirror %s", again, err, b.ID)
		}
		// A local bank that happens to have a mirror's name is not one.
		if _, err := n.banks.Create(ctx, audit.System, canopy.Bank{Name: MirrorName("x", "local")}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.Subscribe(ctx, audit.System, "x", "local"); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("subscribing into a local bank: err = %v, want conflict", err)
		}
		if strings.Contains(MirrorName("x", "y"), "-") {
			t.Errorf("MirrorName uses '-', which peer ids and bank names hold")
		}
	})
}
