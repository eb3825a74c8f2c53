package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/geo/geotest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var testDNS = geotest.DNS{"be-host.example": "192.0.2.10", "nl-host.example": "198.51.100.7", "fr-host.example": "203.0.113.5"}

// netNode is one node of a test network, with what restarting it needs.
type netNode struct {
	*Main
	t       testing.TB
	addr    string
	dataDir string
	dsn     string
	geo     string
	juris   []string
}

func newNetNode(t testing.TB, dialect, name, jurisdiction, geoPath string) *netNode {
	n := &netNode{t: t, addr: "127.0.0.1:0", dataDir: t.TempDir(), geo: geoPath, juris: []string{jurisdiction}}
	if dialect == store.Postgres {
		n.dsn = storetest.NewDSN(t, store.Postgres)
	}
	n.start(name)
	t.Cleanup(func() {
		if n.Main != nil {
			n.Main.Close()
		}
	})
	return n
}

func (n *netNode) start(name string) {
	n.t.Helper()
	m := NewMain(io.Discard)
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Addr, m.DataDir, m.DatabaseURL, m.Name = n.addr, n.dataDir, n.dsn, name
	m.SubmitRate, m.LeaveURL = 0, "http://127.0.0.1:1/"
	m.Jurisdictions, m.GeoIP, m.Resolver = n.juris, n.geo, testDNS
	m.MinBackoff, m.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		n.t.Fatal(err)
	}
	n.Main = m
	n.addr = m.ln.Addr().String() // a restart comes back on the same port
}

func (n *netNode) stop() {
	n.t.Helper()
	if err := n.Main.Close(); err != nil {
		n.t.Fatal(err)
	}
	n.Main = nil
}

// peerOf adds other as a peer of n, reached at url.
func (n *netNode) peerOf(other *netNode, id, url string, share []string) {
	n.t.Helper()
	_, err := n.Network.AddPeer(context.Background(), audit.System, canopy.Peer{
		ID: id, Name: other.Name, URL: url, SigningKey: other.Identity.PublicKey(), EncryptionKey: other.Exchange.Public(),
		Jurisdictions: other.juris, Share: share,
	})
	if err != nil {
		n.t.Fatal(err)
	}
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	analyst = &canopy.Account{ID: "analyst1", Role: canopy.RoleAnalyst}
)

func submit(t testing.TB, m *Main, url string, extra func(*intake.Submission)) intake.Receipt {
	t.Helper()
	sub := intake.Submission{Reporter: "caregiver", Category: "csam", Description: "Pictures of a child on this page",
		URLs: []string{url}, ChildCountry: "FR", Language: "fr",
		Contact: &canopy.Contact{Email: "parent@example.org"},
		Hashes:  []canopy.ContentHash{{Algorithm: "sha256", Value: strings.Repeat("ab", 32)}}}
	if extra != nil {
		extra(&sub)
	}
	rc, err := m.Intake.Submit(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func stateOf(t testing.TB, m *Main, id string) *canopy.TriageState {
	t.Helper()
	st, err := m.DB.TriageState(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func referralOf(t testing.TB, m *Main, reportID string, outbound bool) *store.Referral {
	t.Helper()
	refs, err := m.DB.ReferralsOf(context.Background(), reportID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range refs {
		if refs[i].Outbound == outbound {
			return &refs[i]
		}
	}
	return nil
}

// reportOfReferral finds the report a received referral became, or "".
func reportOfReferral(t testing.TB, m *Main, peer, referral string) string {
	t.Helper()
	r, err := m.DB.Referral(context.Background(), peer, referral, false)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return r.ReportID
}

func kinds(t testing.TB, m *Main, id string) []string {
	t.Helper()
	evs, err := m.DB.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		k := e.Kind
		if e.Kind == canopy.EventReferralStatus {
			k += ":" + e.Data["direction"] + ":" + e.Data["status"]
		}
		out = append(out, k)
	}
	return out
}

// chaos sits between node A and node B and misbehaves on purpose: it
// loses answers (so A sends again), corrupts a signature, and replays
// whole deliveries. Nothing it does may lose or duplicate a referral.
type chaos struct {
	target  atomic.Value // string: where the node behind listens now
	on      atomic.Bool
	n       atomic.Int64 // deliveries that reached the node, while on
	lost    atomic.Int64
	forged  atomic.Int64
	replays atomic.Int64
}

func (c *chaos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	forward := func(b []byte) (*http.Response, []byte, error) {
		resp, err := http.Post(c.target.Load().(string)+r.URL.Path, "application/json", bytes.NewReader(b))
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out, nil
	}
	mode := int64(0)
	if c.on.Load() {
		mode = c.n.Load() % 4
	}
	if mode == 2 { // a signature altered in flight
		var b federation.Batch
		if json.Unmarshal(body, &b) == nil && len(b.Messages) > 0 {
			sig := []byte(b.Messages[0].Sig)
			sig[5] = map[bool]byte{true: 'B', false: 'A'}[sig[5] == 'A']
			b.Messages[0].Sig = string(sig)
			body, _ = json.Marshal(b)
		}
	}
	resp, out, err := forward(body)
	if err != nil { // the node is down: nothing reached it
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if c.on.Load() {
		c.n.Add(1)
	}
	switch mode {
	case 1: // delivered, but the answer is lost
		c.lost.Add(1)
		http.Error(w, "gateway lost the answer", http.StatusBadGateway)
		return
	case 2:
		c.forged.Add(1)
	case 3: // delivered, then replayed byte for byte
		if _, _, err := forward(body); err == nil {
			c.replays.Add(1)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// auditCount counts a node's audit entries with an action and, if given,
// a refusal reason.
func auditCount(t testing.TB, m *Main, action audit.Action, reason string) int {
	t.Helper()
	entries, err := m.Audit.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action && (reason == "" || e.Details["reason"] == reason) {
			n++
		}
	}
	return n
}

// TestThreeNodes runs a network of three nodes for France, Belgium and
// the Netherlands on loopback, each with its own database (France's on
// PostgreSQL, the others on SQLite). A report in France about content
// hosted in Belgium is routed and referred to Belgium, which accepts it
// and reports the content removed; the French analyst and the reporter
// see it. Then Belgium goes down while more referrals are made, comes back,
// and all the while the link between them loses answers, alters
// signatures and replays deliveries: every referral arrives exactly once.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three nodes")
	}
	ctx := context.Background()
	geoPath := filepath.Join(t.TempDir(), "countries.mmdb")
	geotest.Write(t, geoPath, map[string]string{"192.0.2.0/24": "BE", "198.51.100.0/24": "NL", "203.0.113.0/24": "FR"})

	fr := newNetNode(t, store.Postgres, "hotline-fr", "FR", geoPath)
	be := newNetNode(t, store.SQLite, "hotline-be", "BE", geoPath)
	nl := newNetNode(t, store.SQLite, "hotline-nl", "NL", geoPath)

	proxy := &chaos{}
	proxy.target.Store(be.URL())
	link := httptest.NewServer(proxy)
	defer link.Close()

	fr.peerOf(be, "be", link.URL, []string{canopy.ShareURLs, canopy.ShareDescription, canopy.ShareChildCountry})
	fr.peerOf(nl, "nl", nl.URL(), []string{}) // classification and hashes only
	be.peerOf(fr, "fr", fr.URL(), nil)
	nl.peerOf(fr, "fr", fr.URL(), nil)
	if err := fr.Network.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "BE", PeerID: "be"}); err != nil {
		t.Fatal(err)
	}
	if err := fr.Network.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "NL", PeerID: "nl", Auto: true}); err != nil {
		t.Fatal(err)
	}

	// A report hosted in Belgium: routed there by the hosting country,
	// over the child's French residence.
	rc := submit(t, fr.Main, "https://be-host.example/gallery/1", nil)
	eventually(t, "France routes the report", func() (bool, error) {
		return stateOf(t, fr.Main, rc.ReportID).Route != "", nil
	})
	st := stateOf(t, fr.Main, rc.ReportID)
	if st.Route != canopy.RoutePeer || st.RoutePeer != "be" || st.Responsible != "BE" || st.Basis != canopy.BasisHosting {
		t.Fatalf("route = %+v, want peer be for BE by hosting", st)
	}
	ref, err := fr.Network.Refer(ctx, analyst, rc.ReportID, "be")
	if err != nil {
		t.Fatal(err)
	}
	var beReport string
	eventually(t, "Belgium has the referral", func() (bool, error) {
		beReport = reportOfReferral(t, be.Main, "fr", ref.ID)
		return beReport != "", nil
	})
	// Belgium's analysts have it in their queue, with what the profile
	// allows and never the reporter's contact.
	items, _, err := be.Triage.Queue(ctx, &canopy.Account{ID: "be-analyst", Role: canopy.RoleAnalyst}, 50, 0)
	if err != nil || len(items) != 1 || items[0].ReportID != beReport {
		t.Fatalf("Belgian queue = %+v, %v", items, err)
	}
	opened, err := be.Triage.Open(ctx, &canopy.Account{ID: "be-analyst", Role: canopy.RoleAnalyst}, beReport)
	if err != nil {
		t.Fatal(err)
	}
	if opened.Content.Contact != nil || len(opened.Content.URLs) != 1 || opened.Content.Description == "" {
		t.Fatalf("Belgium received %+v", opened.Content)
	}
	beAnalyst := &canopy.Account{ID: "be-analyst", Role: canopy.RoleAnalyst}
	if err := be.Network.SendStatus(ctx, beAnalyst, beReport, canopy.ReferralAccepted, ""); err != nil {
		t.Fatal(err)
	}
	if err := be.Network.SendStatus(ctx, beAnalyst, beReport, canopy.ReferralContentRemoved, "Host removed it"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "France hears the content is removed", func() (bool, error) {
		r := referralOf(t, fr.Main, rc.ReportID, true)
		return r != nil && r.Status == canopy.ReferralContentRemoved, nil
	})
	f, err := fr.Intake.Followup(ctx, rc.Code)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != canopy.StatusContentRemoved {
		t.Errorf("the reporter sees %q, want content_removed", f.Status)
	}
	wantFR := []string{"received", "routed", "referred", "referral_status:in:received", "referral_status:in:accepted", "referral_status:in:content_removed"}
	if got := kinds(t, fr.Main, rc.ReportID); strings.Join(got, " ") != strings.Join(wantFR, " ") {
		t.Errorf("France's timeline = %v, want %v", got, wantFR)
	}
	// Belgium's router also routes what it receives, whenever it gets
	// to it; the rest is in this order.
	wantBE := []string{"received", "referral_received", "referral_status:out:received", "first_look", "referral_status:out:accepted", "referral_status:out:content_removed"}
	if got := slices.DeleteFunc(kinds(t, be.Main, beReport), func(k string) bool { return k == "routed" }); !slices.Equal(got, wantBE) {
		t.Errorf("Belgium's timeline = %v, want %v", got, wantBE)
	}

	// Hosted in the Netherlands: the rule refers it at once, and the
	// Dutch profile shares no content.
	rc2 := submit(t, fr.Main, "https://nl-host.example/x", nil)
	eventually(t, "the Netherlands has the automatic referral", func() (bool, error) {
		n, err := nl.DB.CountReferrals(ctx, false)
		return n == 1, err
	})
	r2 := referralOf(t, fr.Main, rc2.ReportID, true)
	nlReport := reportOfReferral(t, nl.Main, "fr", r2.ID)
	nlOpened, err := nl.Triage.Open(ctx, &canopy.Account{ID: "nl-analyst", Role: canopy.RoleAnalyst}, nlReport)
	if err != nil {
		t.Fatal(err)
	}
	if c := nlOpened.Content; c.Description != "" || len(c.URLs) != 0 || c.Contact != nil {
		t.Errorf("the Netherlands received content its profile does not allow: %+v", c)
	}
	if sr, _ := nl.DB.Report(ctx, nlReport); len(sr.Report.Hashes) != 1 || sr.Report.Category != "csam" {
		t.Errorf("the Netherlands lacks the classification or hashes: %+v", sr.Report)
	}

	// A report about nowhere with a rule waits in the unrouted queue.
	rc3 := submit(t, fr.Main, "https://unknown.example/", func(s *intake.Submission) { s.ChildCountry = "DE" })
	eventually(t, "the German report waits unrouted", func() (bool, error) {
		return stateOf(t, fr.Main, rc3.ReportID).Route == canopy.RouteUnrouted, nil
	})

	// Belgium goes down while France refers 30 more; when it is back, the
	// link between them loses the first answer, alters a signature in
	// the next delivery, and replays the one after.
	be.stop()
	const more = 30
	var refs []string
	for i := range more {
		rc := submit(t, fr.Main, fmt.Sprintf("https://be-host.example/gallery/%d", i+2), nil)
		eventually(t, "routed", func() (bool, error) { return stateOf(t, fr.Main, rc.ReportID).Route != "", nil })
		r, err := fr.Network.Refer(ctx, analyst, rc.ReportID, "be")
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r.ID)
	}
	time.Sleep(300 * time.Millisecond) // a few failed attempts
	stats, _ := fr.DB.OutboxStats(ctx)
	if stats["be"] == nil || stats["be"].Pending < more || stats["be"].LastError == "" {
		t.Fatalf("while Belgium is down, France's outbox = %+v", stats["be"])
	}
	proxy.n.Store(1)
	proxy.on.Store(true)
	be.start("hotline-be")
	proxy.target.Store(be.URL())
	eventually(t, "every referral reaches Belgium", func() (bool, error) {
		n, err := be.DB.CountReferrals(ctx, false)
		return n == 1+more, err
	})
	eventually(t, "France's outbox to Belgium drains", func() (bool, error) {
		stats, err := fr.DB.OutboxStats(ctx)
		return err == nil && stats["be"].Pending == 0, err
	})
	for _, id := range refs {
		if reportOfReferral(t, be.Main, "fr", id) == "" {
			t.Errorf("referral %s was lost", id)
		}
	}
	if n, _ := be.DB.CountReports(ctx); n != 1+more {
		t.Errorf("Belgium holds %d reports, want %d: a referral was duplicated", n, 1+more)
	}
	eventually(t, "France hears every referral received", func() (bool, error) {
		for _, id := range refs {
			r, err := fr.DB.Referral(ctx, "be", id, true)
			if err != nil || r.Status != canopy.ReferralReceived {
				return false, err
			}
		}
		return true, nil
	})
	if proxy.lost.Load() == 0 || proxy.forged.Load() == 0 || proxy.replays.Load() == 0 {
		t.Errorf("the link did not misbehave enough: lost %d, forged %d, replayed %d", proxy.lost.Load(), proxy.forged.Load(), proxy.replays.Load())
	}
	if auditCount(t, be.Main, audit.ActionMessageRefused, federation.ReasonBadSignature) == 0 {
		t.Error("Belgium did not audit the altered signatures")
	}
	if auditCount(t, be.Main, audit.ActionMessageRefused, federation.ReasonReplay) == 0 {
		t.Error("Belgium did not audit the replays")
	}
	t.Logf("link: %d deliveries, %d answers lost, %d signatures altered, %d replays", proxy.n.Load(), proxy.lost.Load(), proxy.forged.Load(), proxy.replays.Load())

	t.Run("forgeries", func(t *testing.T) { testForgeries(t, fr, be, nl) })
}

// testForgeries sends Belgium messages made by hand: well-formed ones
// from France, and others altered, replayed, stale, misaddressed, or
// signed by a key nobody knows.
func testForgeries(t *testing.T, fr, be, nl *netNode) {
	ctx := context.Background()
	send := func(e *federation.Envelope) federation.Result {
		t.Helper()
		b, _ := json.Marshal(federation.Batch{Messages: []*federation.Envelope{e}})
		resp, err := http.Post(be.URL()+"/federation/v1/inbox", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a federation.Answer
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || len(a.Results) != 1 {
			t.Fatalf("answer: %v %+v", err, a)
		}
		return a.Results[0]
	}
	referral := func(signer federation.Signer, sent time.Time) (*federation.Envelope, func(time.Time) *federation.Envelope) {
		ref := canopy.NewID()
		id := canopy.NewID()
		payload, _ := json.Marshal(federation.ReferralPayload{Referral: ref, Received: time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
			Category: "csam", Jurisdiction: "BE", Basis: canopy.BasisHosting, URLs: []string{"https://be-host.example/forged"}})
		sealed, err := federation.SealPayload(be.Exchange.Public(), id, signer.PublicKey(), be.Identity.PublicKey(), federation.KindReferral, ref, payload)
		if err != nil {
			t.Fatal(err)
		}
		again := func(sent time.Time) *federation.Envelope {
			return federation.NewEnvelope(signer, be.Identity.PublicKey(), id, federation.KindReferral, ref, 1, time.Now(), sent, sealed)
		}
		return again(sent), again
	}
	before, _ := be.DB.CountReports(ctx)

	// Genuine, then the same bytes again, then a fresh retry of it.
	e, retry := referral(fr.Identity, time.Now())
	if r := send(e); r.Status != federation.StatusAccepted {
		t.Fatalf("genuine message: %+v", r)
	}
	if r := send(e); r.Status != federation.StatusRefused || r.Reason != federation.ReasonReplay {
		t.Errorf("replayed bytes: %+v, want refused as replay", r)
	}
	if r := send(retry(time.Now())); r.Status != federation.StatusDuplicate {
		t.Errorf("a retry of a delivered message: %+v, want duplicate", r)
	}

	cases := []struct {
		name   string
		make   func() *federation.Envelope
		reason string
	}{
		{"altered kind", func() *federation.Envelope {
			e, _ := referral(fr.Identity, time.Now())
			e.Kind = federation.KindStatus
			return e
		}, federation.ReasonBadSignature},
		{"altered payload", func() *federation.Envelope {
			e, _ := referral(fr.Identity, time.Now())
			b := []byte(e.Sealed)
			b[40] = map[bool]byte{true: 'B', false: 'A'}[b[40] == 'A']
			e.Sealed = string(b)
			return e
		}, federation.ReasonBadSignature},
		{"unknown key", func() *federation.Envelope {
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			e, _ := referral(keySigner(priv), time.Now())
			return e
		}, federation.ReasonUnknownKey},
		{"impostor: France's key in the header, another's signature", func() *federation.Envelope {
			_, priv, _ := ed25519.GenerateKey(rand.Reader)
			e, _ := referral(impostor{keySigner(priv), fr.Identity.PublicKey()}, time.Now())
			return e
		}, federation.ReasonBadSignature},
		{"stale", func() *federation.Envelope {
			e, _ := referral(fr.Identity, time.Now().Add(-time.Hour))
			return e
		}, federation.ReasonStale},
		{"addressed to the Netherlands", func() *federation.Envelope {
			ref, id := canopy.NewID(), canopy.NewID()
			sealed, _ := federation.SealPayload(be.Exchange.Public(), id, fr.Identity.PublicKey(), nl.Identity.PublicKey(), federation.KindReferral, ref, []byte(`{}`))
			return federation.NewEnvelope(fr.Identity, nl.Identity.PublicKey(), id, federation.KindReferral, ref, 1, time.Now(), time.Now(), sealed)
		}, federation.ReasonWrongNode},
		{"from a peer the Belgians know, sealed to someone else", func() *federation.Envelope {
			ref, id := canopy.NewID(), canopy.NewID()
			sealed, _ := federation.SealPayload(nl.Exchange.Public(), id, fr.Identity.PublicKey(), be.Identity.PublicKey(), federation.KindReferral, ref, []byte(`{}`))
			return federation.NewEnvelope(fr.Identity, be.Identity.PublicKey(), id, federation.KindReferral, ref, 1, time.Now(), time.Now(), sealed)
		}, federation.ReasonUndecryptable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := auditCount(t, be.Main, audit.ActionMessageRefused, c.reason)
			if r := send(c.make()); r.Status != federation.StatusRefused || r.Reason != c.reason {
				t.Errorf("result %+v, want refused for %s", r, c.reason)
			}
			if auditCount(t, be.Main, audit.ActionMessageRefused, c.reason) != before+1 {
				t.Errorf("the refusal was not audited")
			}
		})
	}

	// A suspended peer is refused until resumed.
	if _, err := be.Network.SetPeerState(ctx, audit.System, "fr", canopy.PeerSuspended); err != nil {
		t.Fatal(err)
	}
	e, retry = referral(fr.Identity, time.Now())
	if r := send(e); r.Status != federation.StatusRefused || r.Reason != federation.ReasonSuspended {
		t.Errorf("suspended peer: %+v", r)
	}
	if _, err := be.Network.SetPeerState(ctx, audit.System, "fr", canopy.PeerActive); err != nil {
		t.Fatal(err)
	}
	if r := send(retry(time.Now())); r.Status != federation.StatusAccepted {
		t.Errorf("resumed peer: %+v", r)
	}
	if after, _ := be.DB.CountReports(ctx); after != before+2 {
		t.Errorf("Belgium holds %d reports after the forgeries, want %d", after, before+2)
	}
}

type keySigner ed25519.PrivateKey

func (k keySigner) PublicKey() ed25519.PublicKey {
	return ed25519.PrivateKey(k).Public().(ed25519.PublicKey)
}
func (k keySigner) Sign(msg []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(k), msg) }

// impostor claims another node's public key but signs with its own.
type impostor struct {
	keySigner
	claim ed25519.PublicKey
}

func (i impostor) PublicKey() ed25519.PublicKey { return i.claim }
