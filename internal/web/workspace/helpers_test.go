package workspace

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/geo/geotest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/mail/mailtest"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/triage"
)

// fakeClock is the clock every service and the handler share. Requests
// run on the server's goroutines, so it is locked.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testRP = staff.RelyingParty{ID: "hotline.example", Name: "Hotline", Origins: []string{"https://hotline.example"}}

const password = "correct horse battery staple"

// env is a workspace on a real database, reached over real HTTP, with one
// fully enrolled account per role.
type env struct {
	t       *testing.T
	clock   *fakeClock
	db      *store.DB
	staff   *staff.Service
	triage  *triage.Service
	intake  *intake.Service
	audit   *audit.Log
	network *federation.Service
	// takedown delivers e-mail notices to smtp, a local server.
	takedown *takedown.Service
	smtp     *mailtest.Server
	srv      *server
	http     *httptest.Server
	logs     *syncBuffer
	// blobs holds the evidence files, encrypted.
	blobs *blob.Dir

	members map[canopy.Role]*account
	peers   map[string]*peerNode
	n       int // a counter for unique e-mail addresses and peer ids
}

// account is a test member of staff.
type account struct {
	*canopy.Account
	secret []byte
	codes  []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testDNS resolves the hosts of the tests' reports to documentation
// addresses, which testGeo places in countries. Other hosts, such as
// e.submit's abuse.example, resolve nowhere: such a report is routed by
// the child's country. The takedown tests' addresses are served from
// France, this node's jurisdiction (takedown_test.go).
var testDNS = geotest.DNS{"be-host.example": "192.0.2.10", "de-host.example": "198.51.100.7",
	"files.hoster-fr.example": "203.0.113.5", "nohost-fr.example": "203.0.113.200"}

var testGeo = map[string]string{"192.0.2.0/24": "BE", "198.51.100.0/24": "DE", "203.0.113.0/24": "FR"}

// newBareEnv starts a workspace on db with no staff at all. The node
// serves France; its network has no peers yet.
func newBareEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	keys, err := seal.New(bytes.Repeat([]byte{3}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	id, err := seal.LoadOrCreateIdentity(filepath.Join(dir, "node.key"), "test-node")
	if err != nil {
		t.Fatal(err)
	}
	exchange, err := seal.LoadOrCreateExchangeKey(filepath.Join(dir, "exchange.key"))
	if err != nil {
		t.Fatal(err)
	}
	geotest.Write(t, filepath.Join(dir, "countries.mmdb"), testGeo)
	countries, err := geo.Open(filepath.Join(dir, "countries.mmdb"))
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	c := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	log.Now = c.now
	e := &env{t: t, clock: c, db: db, audit: log, logs: &syncBuffer{}, members: map[canopy.Role]*account{}, peers: map[string]*peerNode{}}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	e.staff = &staff.Service{DB: db, Keys: keys, Audit: log, Now: c.now, Issuer: "Canopy test",
		IdleTimeout: 24 * time.Hour, AbsoluteTimeout: 72 * time.Hour}
	e.triage = &triage.Service{DB: db, Keys: keys, Audit: log, Now: c.now}
	e.intake = &intake.Service{DB: db, Keys: keys, Audit: log, Now: c.now}
	e.network = &federation.Service{DB: db, Keys: keys, Identity: id, Exchange: exchange, Audit: log,
		Intake: e.intake, Triage: e.triage, Banks: &bank.Service{DB: db, Audit: log, Now: c.now}, Now: c.now, Logger: logger,
		Jurisdictions: []string{"FR"}, Geo: countries, Resolver: testDNS}
	e.smtp = mailtest.NewServer(t, mailtest.Config{})
	e.takedown = &takedown.Service{DB: db, Keys: keys, Audit: log, Triage: e.triage, Identity: id,
		Mail: &mail.Sender{Addr: e.smtp.Addr, Host: "hotline.test", StartTLS: mail.StartTLSOff, Timeout: 10 * time.Second},
		From: "Hotline <notices@hotline.example>", NodeName: "test-node", BaseURL: "https://hotline.example", Jurisdictions: []string{"FR"},
		Locator: &geo.Locator{Geo: countries, Resolver: testDNS}, Loop: e.network, Now: c.now, Logger: logger}
	// Evidence files are kept encrypted in a directory of the test's own.
	blobs, err := blob.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	e.blobs = blobs
	s, err := newServer(Config{Staff: e.staff, Triage: e.triage, Audit: log, Logger: logger,
		Now: c.now, RP: testRP, NodeName: "test-node", Network: e.network, Support: &support.Service{DB: db, Keys: keys, Audit: log, Now: c.now, Logger: logger},
		Takedown: e.takedown, Evidence: &evidence.Service{DB: db, Keys: keys, Audit: log, Blobs: blobs, Now: c.now}, Signer: id})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = s
	e.http = httptest.NewServer(s)
	t.Cleanup(e.http.Close)
	return e
}

// newEnv starts a workspace on a fresh SQLite database with one enrolled
// account per role.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newBareEnv(t, storetest.Open(t, store.SQLite))
	e.enrolAll()
	return e
}

// enrolAll sets up the administrator and invites one member of every
// other role, each with TOTP, through internal/staff directly.
func (e *env) enrolAll() {
	e.t.Helper()
	ctx := context.Background()
	tok, err := e.staff.NewSetupToken(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	sess, err := e.staff.Setup(ctx, tok, staff.AccountInput{Email: "administrator@example.org", Name: "Ada Administrator"}, password)
	if err != nil {
		e.t.Fatal(err)
	}
	admin := e.enrolTOTP(sess)
	e.members[canopy.RoleAdministrator] = admin
	for _, role := range canopy.Roles[1:] {
		a, tok, err := e.staff.Invite(ctx, audit.Staff(admin.ID), staff.AccountInput{Email: string(role) + "@example.org",
			Name: "Test " + string(role), Role: role})
		if err != nil {
			e.t.Fatal(err)
		}
		sess, err := e.staff.AcceptInvite(ctx, tok, password)
		if err != nil {
			e.t.Fatal(err)
		}
		m := e.enrolTOTP(sess)
		if m.ID != a.ID {
			e.t.Fatalf("enrolled %s, invited %s", m.ID, a.ID)
		}
		e.members[role] = m
	}
	// The enrolment codes are spent; sign-ins need the next step.
	e.clock.add(30 * time.Second)
}

// enrolTOTP finishes the enrolment of a session at the password stage.
func (e *env) enrolTOTP(sess string) *account {
	e.t.Helper()
	ctx := context.Background()
	secret, ticket, err := e.staff.BeginTOTP(ctx, sess)
	if err != nil {
		e.t.Fatal(err)
	}
	codes, err := e.staff.ConfirmTOTP(ctx, sess, ticket, stafftest.Code(secret, e.clock.now()))
	if err != nil {
		e.t.Fatal(err)
	}
	a, _, err := e.staff.Authenticate(ctx, sess)
	if err != nil {
		e.t.Fatal(err)
	}
	return &account{Account: a, secret: secret, codes: codes}
}

// submit files a report as the portal would, and moves the clock on.
func (e *env) submit(category, country string, flags ...string) string {
	e.t.Helper()
	rc, err := e.intake.Submit(context.Background(), intake.Submission{Channel: canopy.ChannelPortal, Reporter: "caregiver",
		Category: category, ChildCountry: country, Flags: flags, Description: secretDescription,
		URLs: []string{"https://abuse.example/gallery/42"}, Accounts: []string{"predator_99"}, Platform: "ChatApp"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.add(time.Minute)
	return rc.ReportID
}

// submitHosted files a report about content at url, routes it as the
// node's router would, and moves the clock on.
func (e *env) submitHosted(category, country, url string) string {
	e.t.Helper()
	rc, err := e.intake.Submit(context.Background(), intake.Submission{Channel: canopy.ChannelPortal, Reporter: "caregiver",
		Category: category, ChildCountry: country, Description: secretDescription, URLs: []string{url}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.route(rc.ReportID)
	e.clock.add(time.Minute)
	return rc.ReportID
}

// route routes a report as the node's router would.
func (e *env) route(id string) {
	e.t.Helper()
	if _, err := e.network.Route(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
}

// peerNode is another node of the network, as far as the tests need one:
// its keys, to seal and sign what it sends this node.
type peerNode struct {
	id       string
	identity *seal.Identity
	exchange *seal.ExchangeKey
}

// newPeerNode makes the keys of another node.
func (e *env) newPeerNode(name string) *peerNode {
	e.t.Helper()
	dir := e.t.TempDir()
	id, err := seal.LoadOrCreateIdentity(filepath.Join(dir, "node.key"), name)
	if err != nil {
		e.t.Fatal(err)
	}
	x, err := seal.LoadOrCreateExchangeKey(filepath.Join(dir, "exchange.key"))
	if err != nil {
		e.t.Fatal(err)
	}
	return &peerNode{identity: id, exchange: x}
}

// peer returns the active peer with this id, adding it (sharing web
// addresses and the service named) the first time.
func (e *env) peer(id string, jurisdictions ...string) *peerNode {
	e.t.Helper()
	if p, ok := e.peers[id]; ok {
		return p
	}
	p := e.newPeerNode("hotline-" + id)
	p.id = id
	_, err := e.network.AddPeer(context.Background(), audit.System, canopy.Peer{ID: id, Name: "hotline-" + id,
		URL: "https://" + id + ".hotline.example", SigningKey: p.identity.PublicKey(), EncryptionKey: p.exchange.Public(),
		Jurisdictions: jurisdictions})
	if err != nil {
		e.t.Fatal(err)
	}
	e.peers[id] = p
	return p
}

// newPeer adds a peer with a fresh id, for a test that changes its state.
func (e *env) newPeer() string {
	e.t.Helper()
	e.n++
	id := fmt.Sprintf("peer%d", e.n)
	e.peer(id, "LU")
	return id
}

// referFrom has peer p refer a report to this node and returns this
// node's report.
func (e *env) referFrom(p *peerNode, category string) string {
	e.t.Helper()
	ref := canopy.NewID()
	e.send(p, federation.KindReferral, ref, 1, federation.ReferralPayload{Referral: ref, Received: wireTime(e.clock.now()),
		Category: category, Jurisdiction: "FR", Basis: canopy.BasisHosting, URLs: []string{"https://fr-host.example/" + ref}})
	var id string
	err := e.db.Update(context.Background(), func(tx *store.Tx) error {
		r, err := tx.Referral(p.id, ref, false)
		if err != nil {
			return err
		}
		id = r.ReportID
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.add(time.Minute)
	return id
}

// statusFrom has peer p tell this node what became of referral ref: the
// n-th status of its thread.
func (e *env) statusFrom(p *peerNode, ref string, n int64, status, reason string) {
	e.t.Helper()
	e.send(p, federation.KindStatus, ref, n, federation.StatusPayload{Referral: ref, Status: status, At: wireTime(e.clock.now()), Reason: reason})
	e.clock.add(time.Minute)
}

// send delivers one message from peer p to this node, sealed and signed
// as p's node would, through the Receive that /federation/v1/inbox calls.
func (e *env) send(p *peerNode, kind, thread string, n int64, payload any) {
	e.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	now, msg, me := e.clock.now(), canopy.NewID(), e.network.Identity.PublicKey()
	sealed, err := federation.SealPayload(e.network.Exchange.Public(), msg, p.identity.PublicKey(), me, kind, thread, raw)
	if err != nil {
		e.t.Fatal(err)
	}
	env := federation.NewEnvelope(p.identity, me, msg, kind, thread, n, now, now, sealed)
	results, err := e.network.Receive(context.Background(), []*federation.Envelope{env})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(results) != 1 || results[0].Status != federation.StatusAccepted {
		e.t.Fatalf("%s from %s: %+v", kind, p.id, results)
	}
}

// wireTime writes a time as messages between nodes carry it.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// secretDescription marks a report's sealed content: it must appear only
// in the answer to an opening.
const secretDescription = "zebra-lantern: the sealed words of the reporter"

// browser is one browser session: cookies, no redirects followed, and the
// last form token seen.
type browser struct {
	e     *env
	c     *http.Client
	jar   http.CookieJar
	token string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if m := tokenRE.FindStringSubmatch(string(body)); m != nil {
		b.token = m[1]
	}
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	req, err := http.NewRequest("GET", b.e.http.URL+path, nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form with the browser's form token unless the form has a
// "csrf" entry already.
func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.formToken())
	}
	req, err := http.NewRequest("POST", b.e.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

// postJSON calls a passkey endpoint as staff.js does.
func (b *browser) postJSON(path string, body any) (*http.Response, string) {
	b.e.t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", b.e.http.URL+path, bytes.NewReader(raw))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.formToken())
	return b.do(req)
}

// formToken returns a token for the browser's current session, loading a
// page that has one if need be.
func (b *browser) formToken() string {
	if b.token == "" {
		b.get("/staff/login")
	}
	return b.token
}

// session returns the session secret the browser holds.
func (b *browser) session() string {
	u, _ := url.Parse(b.e.http.URL + "/staff/")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// login signs a member in through the pages, password then TOTP, and
// returns where they landed.
func (e *env) login(role canopy.Role) *browser {
	e.t.Helper()
	return e.loginAs(e.members[role])
}

// loginAs signs an account in through the pages, as login does.
func (e *env) loginAs(m *account) *browser {
	e.t.Helper()
	b := e.browser()
	who := m.Email
	b.get("/staff/login")
	resp, body := b.post("/staff/login", url.Values{"email": {m.Email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/login/factor" {
		e.t.Fatalf("%s: login answered %d %s\n%s", who, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	b.token = ""
	resp, body = b.get("/staff/login/factor")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s: factor page %d\n%s", who, resp.StatusCode, body)
	}
	resp, body = b.post("/staff/login/factor", url.Values{"code": {stafftest.Code(m.secret, e.clock.now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != home(m.Account) {
		e.t.Fatalf("%s: factor answered %d %s\n%s", who, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	b.token = ""
	b.get("/staff/account")
	if b.token == "" {
		e.t.Fatalf("%s: no form token after signing in", who)
	}
	return b
}

// softKey is a software authenticator with one Ed25519 credential, enough
// to drive the passkey endpoints.
type softKey struct {
	id   []byte
	priv ed25519.PrivateKey
}

func newSoftKey() *softKey {
	k := &softKey{id: make([]byte, 16)}
	rand.Read(k.id)
	_, k.priv, _ = ed25519.GenerateKey(rand.Reader)
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// cbor encodes the few CBOR values WebAuthn needs: integers, byte and
// text strings, and maps (as ordered pairs).
func cbor(v any) []byte {
	head := func(major byte, n uint64) []byte {
		switch {
		case n < 24:
			return []byte{major<<5 | byte(n)}
		case n < 1<<8:
			return []byte{major<<5 | 24, byte(n)}
		case n < 1<<16:
			return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
		}
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
	switch x := v.(type) {
	case int:
		if x >= 0 {
			return head(0, uint64(x))
		}
		return head(1, uint64(-1-x))
	case []byte:
		return append(head(2, uint64(len(x))), x...)
	case string:
		return append(head(3, uint64(len(x))), x...)
	case [][2]any:
		out := head(5, uint64(len(x)))
		for _, p := range x {
			out = append(out, cbor(p[0])...)
			out = append(out, cbor(p[1])...)
		}
		return out
	}
	panic(fmt.Sprintf("cbor: %T", v))
}

func (k *softKey) clientData(kind string, challenge []byte) []byte {
	cd, _ := json.Marshal(map[string]any{"type": kind, "challenge": b64(challenge), "origin": testRP.Origins[0], "crossOrigin": false})
	return cd
}

func (k *softKey) authData(attested bool) []byte {
	h := sha256.Sum256([]byte(testRP.ID))
	flags := byte(0x01 | 0x04) // user present, verified
	if attested {
		flags |= 0x40
	}
	ad := append(h[:], flags, 0, 0, 0, 0) // no signature counter
	if attested {
		ad = append(ad, make([]byte, 16)...)
		ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.id)))
		ad = append(ad, k.id...)
		ad = append(ad, cbor([][2]any{{1, 1}, {3, -8}, {-1, 6}, {-2, []byte(k.priv.Public().(ed25519.PublicKey))}})...)
	}
	return ad
}

// challengeOf reads the challenge out of a Begin's options.
func challengeOf(t *testing.T, options []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	c, err := base64.RawURLEncoding.DecodeString(o.PublicKey.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// create answers navigator.credentials.create.
func (k *softKey) create(challenge []byte) json.RawMessage {
	att := cbor([][2]any{{"fmt", "none"}, {"attStmt", [][2]any{}}, {"authData", k.authData(true)}})
	out, _ := json.Marshal(map[string]any{"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(k.clientData("webauthn.create", challenge)), "attestationObject": b64(att)}})
	return out
}

// get answers navigator.credentials.get.
func (k *softKey) get(challenge []byte) json.RawMessage {
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(false)
	h := sha256.Sum256(cd)
	sig := ed25519.Sign(k.priv, append(append([]byte{}, ad...), h[:]...))
	out, _ := json.Marshal(map[string]any{"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64(cd), "authenticatorData": b64(ad), "signature": b64(sig), "userHandle": nil}})
	return out
}

// addPasskey registers a passkey for the browser's session through
// internal/staff, and returns its id as the account page names it.
func (e *env) addPasskey(b *browser) (*softKey, string) {
	e.t.Helper()
	ctx := context.Background()
	k := newSoftKey()
	opts, ticket, err := e.staff.BeginPasskey(ctx, testRP, b.session())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.staff.FinishPasskey(ctx, testRP, b.session(), ticket, k.create(challengeOf(e.t, opts)), "Test key"); err != nil {
		e.t.Fatal(err)
	}
	return k, b64(k.id)
}
