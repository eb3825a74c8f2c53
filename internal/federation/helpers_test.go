package federation

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/geo/geotest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/triage"
)

// testClock is a clock the tests move by hand, shared by the nodes of a
// test so their messages are never stale to each other.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// node is one Canopy node as the federation sees it: its own database,
// keys, audit log and services, wired as cmd/canopy wires them.
type node struct {
	t       testing.TB
	db      *store.DB
	keys    *seal.Keyring
	id      *seal.Identity
	ex      *seal.ExchangeKey
	log     *audit.Log
	matcher *bank.Matcher
	banks   *bank.Service
	intake  *intake.Service
	triage  *triage.Service
	svc     *Service
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// writeKey writes a key file as the node keeps one (raw, mode 0600).
func writeKey(t testing.TB, key []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// newNode makes a node on db with new random keys.
func newNode(t testing.TB, db *store.DB, name string, now func() time.Time) *node {
	return newNodeWithKeys(t, db, name, now, randomBytes(ed25519.SeedSize), randomBytes(32))
}

// newNodeWithKeys makes a node whose Ed25519 seed and X25519 scalar are
// given, for tests whose messages must be reproducible.
func newNodeWithKeys(t testing.TB, db *store.DB, name string, now func() time.Time, seed, exchange []byte) *node {
	t.Helper()
	keys, err := seal.New(randomBytes(seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	id, err := seal.LoadOrCreateIdentity(writeKey(t, seed), name)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := seal.NewExchangeKey(exchange)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, db: db, keys: keys, id: id, ex: ex, log: audittest.Open(t, db), matcher: bank.NewMatcher()}
	n.banks = &bank.Service{DB: db, Audit: n.log, Now: now, Matcher: n.matcher}
	n.intake = &intake.Service{DB: db, Keys: keys, Audit: n.log, Now: now, Matcher: n.matcher}
	n.triage = &triage.Service{DB: db, Keys: keys, Audit: n.log, Now: now}
	n.svc = &Service{DB: db, Keys: keys, Identity: id, Exchange: ex, Audit: n.log, Intake: n.intake, Triage: n.triage,
		Banks: n.banks, Now: now, Logger: slog.New(slog.DiscardHandler)}
	return n
}

// addPeer makes other a peer of n under id, reached at https://<id>.example
// unless change says otherwise.
func (n *node) addPeer(id string, other *node, change func(*canopy.Peer)) *canopy.Peer {
	n.t.Helper()
	p := canopy.Peer{ID: id, Name: other.id.Name(), URL: "https://" + id + ".example",
		SigningKey: other.id.PublicKey(), EncryptionKey: other.ex.Public()}
	if change != nil {
		change(&p)
	}
	added, err := n.svc.AddPeer(context.Background(), audit.System, p)
	if err != nil {
		n.t.Fatal(err)
	}
	return added
}

var (
	analyst  = &canopy.Account{ID: "analyst1", Role: canopy.RoleAnalyst}
	contact  = canopy.Contact{Name: "Marie Curie-Dupont", Email: "marie.parent@example.org", Phone: "+33 6 12 34 56 78"}
	sha256ab = canopy.ContentHash{Algorithm: "sha256", Value: strings.Repeat("ab", 32)}
)

// submit files a report at n through intake, with every field filled in
// unless change clears it.
func (n *node) submit(change func(*intake.Submission)) intake.Receipt {
	n.t.Helper()
	c := contact
	sub := intake.Submission{Reporter: canopy.ReporterCaregiver, Category: "csam", Flags: []string{canopy.FlagUrgent},
		Description: "Pictures of my daughter on this page", URLs: []string{"https://be-host.example/gallery/1"},
		Platform: "ExampleShare", Accounts: []string{"@uploader"}, ChildCountry: "FR", Language: "fr",
		Contact: &c, Hashes: []canopy.ContentHash{sha256ab}}
	if change != nil {
		change(&sub)
	}
	rc, err := n.intake.Submit(context.Background(), sub)
	if err != nil {
		n.t.Fatal(err)
	}
	return rc
}

func (n *node) outbox(peerID string) []store.OutboxMessage {
	n.t.Helper()
	ms, err := n.db.Pending(context.Background(), peerID, 1000)
	if err != nil {
		n.t.Fatal(err)
	}
	return ms
}

// envelope signs a delivery attempt of an outbox message, as the
// deliverer does.
func (n *node) envelope(m store.OutboxMessage) *Envelope {
	p, err := n.db.Peer(context.Background(), m.PeerID)
	if err != nil {
		n.t.Fatal(err)
	}
	return NewEnvelope(n.id, p.SigningKey, m.ID, m.Kind, m.Thread, m.N, m.Created, n.svc.now(), m.Sealed)
}

// pump delivers what from has for peerID to to, in process, until nothing
// is left or to takes nothing more, and returns every result.
func pump(t testing.TB, from *node, peerID string, to *node) []Result {
	t.Helper()
	ctx := context.Background()
	var all []Result
	for range 10 {
		pending := from.outbox(peerID)
		if len(pending) == 0 {
			return all
		}
		envs := make([]*Envelope, len(pending))
		for i, m := range pending {
			envs[i] = from.envelope(m)
		}
		results, err := to.svc.Receive(ctx, envs)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, results...)
		var delivered []string
		for _, r := range results {
			if r.Status == StatusAccepted || r.Status == StatusDuplicate {
				delivered = append(delivered, r.ID)
			}
		}
		if len(delivered) == 0 {
			return all
		}
		if err := from.db.MarkDelivered(ctx, delivered, from.svc.now()); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

// receive hands to one envelope and returns its result.
func (n *node) receive(e *Envelope) Result {
	n.t.Helper()
	rs, err := n.svc.Receive(context.Background(), []*Envelope{e})
	if err != nil {
		n.t.Fatal(err)
	}
	if len(rs) != 1 {
		n.t.Fatalf("Receive returned %d results for one message", len(rs))
	}
	return rs[0]
}

// open decrypts a message from's outbox holds for to, as to would.
func open(t testing.TB, from, to *node, m store.OutboxMessage) []byte {
	t.Helper()
	plain, err := to.ex.Open(sealInfo(m.ID, b64.EncodeToString(from.id.PublicKey()), b64.EncodeToString(to.id.PublicKey()), m.Kind, m.Thread), m.Sealed)
	if err != nil {
		t.Fatalf("open %s message %s: %v", m.Kind, m.ID, err)
	}
	return plain
}

// craft makes a message by hand from signer to n: payload is sealed to
// n's exchange key (a []byte is sent as it is, anything else as JSON).
func craft(t testing.TB, signer Signer, to *node, kind, thread string, num int64, payload any, sent time.Time) *Envelope {
	t.Helper()
	raw, ok := payload.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	id := canopy.NewID()
	sealed, err := SealPayload(to.ex.Public(), id, signer.PublicKey(), to.id.PublicKey(), kind, thread, raw)
	if err != nil {
		t.Fatal(err)
	}
	return NewEnvelope(signer, to.id.PublicKey(), id, kind, thread, num, sent, sent, sealed)
}

// keySigner signs with a bare Ed25519 key: a node the receiver may not
// know.
type keySigner ed25519.PrivateKey

func newKeySigner() keySigner {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	return keySigner(priv)
}

func (k keySigner) PublicKey() ed25519.PublicKey {
	return ed25519.PrivateKey(k).Public().(ed25519.PublicKey)
}
func (k keySigner) Sign(msg []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(k), msg) }

// refusals returns n's federation.refused audit entries with reason
// ("" for any).
func (n *node) refusals(reason string) []audit.Entry {
	n.t.Helper()
	entries, err := n.log.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		n.t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range entries {
		if e.Action == audit.ActionMessageRefused && (reason == "" || e.Details["reason"] == reason) {
			out = append(out, e)
		}
	}
	return out
}

// audited counts n's audit entries with action.
func (n *node) audited(action audit.Action) int {
	n.t.Helper()
	entries, err := n.log.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		n.t.Fatal(err)
	}
	c := 0
	for _, e := range entries {
		if e.Action == action {
			c++
		}
	}
	return c
}

// timeline lists a report's events as kind, or kind:direction:status for
// referral statuses; routing, which runs whenever the router gets to it,
// is left out.
func (n *node) timeline(id string) []string {
	n.t.Helper()
	evs, err := n.db.Events(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		switch e.Kind {
		case canopy.EventRouted:
			continue
		case canopy.EventReferralStatus:
			out = append(out, e.Kind+":"+e.Data["direction"]+":"+e.Data["status"])
		default:
			out = append(out, e.Kind)
		}
	}
	return out
}

// referral returns n's record of a referral, or nil.
func (n *node) referral(peerID, id string, outbound bool) *store.Referral {
	n.t.Helper()
	var ref *store.Referral
	err := n.db.Update(context.Background(), func(tx *store.Tx) error {
		r, err := tx.Referral(peerID, id, outbound)
		if canopy.ErrorCode(err) == canopy.ENOTFOUND {
			return nil
		}
		ref = r
		return err
	})
	if err != nil {
		n.t.Fatal(err)
	}
	return ref
}

func (n *node) count() int {
	n.t.Helper()
	c, err := n.db.CountReports(context.Background())
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testDNS resolves the tests' hosts to documentation addresses, which
// testNetworks places in countries.
var testDNS = geotest.DNS{"be-host.example": "192.0.2.10", "nl-host.example": "198.51.100.7", "fr-host.example": "203.0.113.5",
	"v6-host.example": "2001:db8::5"}

var testNetworks = map[string]string{"192.0.2.0/24": "BE", "198.51.100.0/24": "NL", "203.0.113.0/24": "FR", "2001:db8::/32": "LU"}
