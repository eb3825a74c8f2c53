package staff

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var testRP = RelyingParty{ID: "hotline.example", Name: "Hotline", Origins: []string{"https://hotline.example", "http://localhost:8080"}}

// softKey is a software authenticator holding one credential.
type softKey struct {
	alg    int64
	id     []byte
	signer crypto.Signer
	count  uint32 // the signature counter; stays zero for a key without one
	counts bool
}

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func newSoftKey(t *testing.T, alg int64, counts bool) *softKey {
	t.Helper()
	k := &softKey{alg: alg, id: make([]byte, 32), counts: counts}
	rand.Read(k.id)
	switch alg {
	case algES256:
		k.signer, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case algEdDSA:
		_, k.signer, _ = ed25519.GenerateKey(rand.Reader)
	case algRS256:
		rsaOnce.Do(func() { rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048) })
		k.signer = rsaKey
	default:
		t.Fatalf("no software key for %d", alg)
	}
	return k
}

func (k *softKey) cose() []byte {
	switch pub := k.signer.Public().(type) {
	case *ecdsa.PublicKey:
		b, _ := pub.Bytes()
		return cborEncode(cborMap{{coseKty, ktyEC2}, {coseAlg, algES256}, {coseCrv, crvP256}, {coseX, b[1:33]}, {coseY, b[33:]}})
	case ed25519.PublicKey:
		return cborEncode(cborMap{{coseKty, ktyOKP}, {coseAlg, algEdDSA}, {coseCrv, crvEd25519}, {coseX, []byte(pub)}})
	case *rsa.PublicKey:
		return cborEncode(cborMap{{coseKty, ktyRSA}, {coseAlg, algRS256}, {coseCrv, pub.N.Bytes()}, {coseX, big.NewInt(int64(pub.E)).Bytes()}})
	}
	panic("unreachable")
}

func (k *softKey) sign(data []byte) []byte {
	var sig []byte
	switch k.alg {
	case algEdDSA:
		sig, _ = k.signer.Sign(rand.Reader, data, crypto.Hash(0))
	default:
		h := sha256.Sum256(data)
		sig, _ = k.signer.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	return sig
}

// ceremony is what a browser and the authenticator would put in a
// response; tests change one thing at a time to make it wrong.
type ceremony struct {
	Type        string
	Challenge   []byte
	Origin      string
	CrossOrigin bool
	RPID        string
	Flags       byte
	Format      string // registration: "none", "packed", "packed-x5c", "fido-u2f"
	Statement   cborMap
	COSE        []byte // registration: the key to report, if not the real one
	RawID       []byte // if not the credential's id
	UserHandle  []byte
	Tamper      bool // flip a bit of the signature
	Extra       []byte
}

func (k *softKey) clientData(c *ceremony) []byte {
	cd, _ := json.Marshal(map[string]any{"type": c.Type, "challenge": b64url(c.Challenge), "origin": c.Origin, "crossOrigin": c.CrossOrigin})
	return cd
}

func (k *softKey) authData(c *ceremony, attested bool) []byte {
	h := sha256.Sum256([]byte(c.RPID))
	if k.counts {
		k.count++
	}
	ad := append(h[:], c.Flags)
	ad = binary.BigEndian.AppendUint32(ad, k.count)
	if attested {
		ad = append(ad, make([]byte, 16)...) // AAGUID: none
		ad = binary.BigEndian.AppendUint16(ad, uint16(len(k.id)))
		ad = append(ad, k.id...)
		if c.COSE != nil {
			ad = append(ad, c.COSE...)
		} else {
			ad = append(ad, k.cose()...)
		}
	}
	return append(ad, c.Extra...)
}

func (k *softKey) response(c *ceremony, resp map[string]any) []byte {
	raw := k.id
	if c.RawID != nil {
		raw = c.RawID
	}
	out, _ := json.Marshal(map[string]any{"id": b64url(raw), "rawId": b64url(raw), "type": "public-key", "response": resp,
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{}})
	return out
}

// create answers navigator.credentials.create.
func (k *softKey) create(c *ceremony) []byte {
	cd := k.clientData(c)
	ad := k.authData(c, c.Flags&flagAT != 0)
	ch := sha256.Sum256(cd)
	format, stmt := c.Format, c.Statement
	if stmt == nil {
		stmt = cborMap{}
		switch format {
		case "packed":
			sig := k.sign(slices.Concat(ad, ch[:]))
			if c.Tamper {
				sig[len(sig)/2] ^= 1
			}
			stmt = cborMap{{"alg", k.alg}, {"sig", sig}}
		case "packed-x5c":
			format = "packed"
			stmt = cborMap{{"alg", algES256}, {"sig", []byte{1}}, {"x5c", []any{[]byte{0x30}}}}
		case "fido-u2f":
			stmt = cborMap{{"sig", []byte{1}}, {"x5c", []any{[]byte{0x30}}}}
		}
	}
	att := cborEncode(cborMap{{"fmt", format}, {"attStmt", stmt}, {"authData", ad}})
	return k.response(c, map[string]any{"clientDataJSON": b64url(cd), "attestationObject": b64url(att), "transports": []string{"internal"}})
}

// get answers navigator.credentials.get.
func (k *softKey) get(c *ceremony) []byte {
	cd := k.clientData(c)
	ad := k.authData(c, c.Flags&flagAT != 0)
	ch := sha256.Sum256(cd)
	sig := k.sign(slices.Concat(ad, ch[:]))
	if c.Tamper {
		sig[len(sig)/2] ^= 1
	}
	resp := map[string]any{"clientDataJSON": b64url(cd), "authenticatorData": b64url(ad), "signature": b64url(sig), "userHandle": nil}
	if c.UserHandle != nil {
		resp["userHandle"] = b64url(c.UserHandle)
	}
	return k.response(c, resp)
}

// options reads what a page would pass to the browser.
type testOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct{ ID, Name string }
		RPID      string `json:"rpId"`
		User      struct {
			ID, Name, DisplayName string
		}
		PubKeyCredParams       []credentialParam
		ExcludeCredentials     []credentialDescriptor
		AllowCredentials       []credentialDescriptor
		AuthenticatorSelection map[string]any
		Attestation            string
		UserVerification       string
		Timeout                int
	} `json:"publicKey"`
}

func readOptions(t *testing.T, raw []byte) *testOptions {
	t.Helper()
	var o testOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("options %s: %v", raw, err)
	}
	return &o
}

func (o *testOptions) challenge(t *testing.T) []byte {
	t.Helper()
	c, err := unb64(o.PublicKey.Challenge)
	if err != nil || len(c) != challengeSize {
		t.Fatalf("challenge %q", o.PublicKey.Challenge)
	}
	return c
}

func createCeremony(challenge []byte, format string) *ceremony {
	return &ceremony{Type: "webauthn.create", Challenge: challenge, Origin: "https://hotline.example", RPID: testRP.ID,
		Flags: flagUP | flagUV | flagAT, Format: format}
}

func getCeremony(challenge []byte) *ceremony {
	return &ceremony{Type: "webauthn.get", Challenge: challenge, Origin: "http://localhost:8080", RPID: testRP.ID, Flags: flagUP}
}

// addPasskey registers k for the account of session sess.
func addPasskey(t *testing.T, s *Service, sess string, k *softKey, format, name string) {
	t.Helper()
	ctx := context.Background()
	opts, ticket, err := s.BeginPasskey(ctx, testRP, sess)
	if err != nil {
		t.Fatal(err)
	}
	o := readOptions(t, opts)
	if err := s.FinishPasskey(ctx, testRP, sess, ticket, k.create(createCeremony(o.challenge(t), format)), name); err != nil {
		t.Fatalf("FinishPasskey: %v", err)
	}
}

// passkeyLogin signs in with the password and k, returning the session
// and the error of FinishPasskeyLogin.
func passkeyLogin(t *testing.T, s *Service, email string, k *softKey, change func(*ceremony)) (string, error) {
	t.Helper()
	ctx := context.Background()
	sess, err := s.Login(ctx, email, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	opts, ticket, err := s.BeginPasskeyLogin(ctx, testRP, sess)
	if err != nil {
		t.Fatal(err)
	}
	c := getCeremony(readOptions(t, opts).challenge(t))
	if change != nil {
		change(c)
	}
	return sess, s.FinishPasskeyLogin(ctx, testRP, sess, ticket, k.get(c))
}

func auditCount(t *testing.T, s *Service, action audit.Action, key, value string) int {
	t.Helper()
	entries, err := s.Audit.Entries(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action && e.Details[key] == value {
			n++
		}
	}
	return n
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, c)
		_, _, full := enrol(t, s, c)
		admin, _ := db.AccountByEmail(ctx, "admin@example.org")

		// The creation options, as the browser will read them.
		opts, _, err := s.BeginPasskey(ctx, testRP, full)
		if err != nil {
			t.Fatal(err)
		}
		o := readOptions(t, opts)
		p := o.PublicKey
		if p.RP.ID != "hotline.example" || p.RP.Name != "Hotline" || p.User.Name != "admin@example.org" || p.User.DisplayName != "Ada" ||
			p.User.ID != b64url(s.userHandle(admin.ID)) || bytes.Contains(opts, []byte(admin.ID)) ||
			p.Attestation != "none" || p.AuthenticatorSelection["residentKey"] != "preferred" ||
			p.AuthenticatorSelection["userVerification"] != "preferred" || p.Timeout != 300000 ||
			p.ExcludeCredentials == nil || len(p.ExcludeCredentials) != 0 || !bytes.Contains(opts, []byte(`"excludeCredentials":[]`)) {
			t.Fatalf("creation options %s", opts)
		}
		if algs := []int64{p.PubKeyCredParams[0].Alg, p.PubKeyCredParams[1].Alg, p.PubKeyCredParams[2].Alg}; !slices.Equal(algs, []int64{-7, -8, -257}) {
			t.Fatalf("algorithms %v", algs)
		}

		for i, tc := range []struct {
			alg    int64
			format string
			counts bool
		}{
			{algES256, "none", true},
			{algEdDSA, "packed", false},
			{algES256, "packed", false},
			{algEdDSA, "none", true},
			{algRS256, "packed", true},
			{algES256, "packed-x5c", true},
			{algEdDSA, "fido-u2f", false},
		} {
			t.Run(fmt.Sprintf("%d/%s", tc.alg, tc.format), func(t *testing.T) {
				k := newSoftKey(t, tc.alg, tc.counts)
				addPasskey(t, s, full, k, tc.format, fmt.Sprintf("key %d", i))
				for range 2 {
					c.add(time.Minute)
					sess, err := passkeyLogin(t, s, "admin@example.org", k, nil)
					if err != nil {
						t.Fatalf("sign-in: %v", err)
					}
					if a, _, err := s.Authenticate(ctx, sess); err != nil || a.ID != admin.ID {
						t.Fatalf("Authenticate = %v, %v", a, err)
					}
				}
			})
		}

		// Listed with their names and use; offered to the browser.
		infos, err := s.Passkeys(ctx, admin.ID)
		if err != nil || len(infos) != 7 || infos[0].Name != "key 0" || infos[0].LastUsed.IsZero() || infos[0].Created.IsZero() {
			t.Fatalf("Passkeys = %+v, %v", infos, err)
		}
		opts, _, _ = s.BeginPasskey(ctx, testRP, full)
		if o := readOptions(t, opts); len(o.PublicKey.ExcludeCredentials) != 7 || o.PublicKey.ExcludeCredentials[0].ID != infos[0].ID {
			t.Fatalf("excludeCredentials %s", opts)
		}
		sess, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		opts, _, err = s.BeginPasskeyLogin(ctx, testRP, sess)
		if o := readOptions(t, opts); err != nil || o.PublicKey.RPID != "hotline.example" || len(o.PublicKey.AllowCredentials) != 7 ||
			o.PublicKey.UserVerification != "preferred" || o.PublicKey.AllowCredentials[0].Type != "public-key" {
			t.Fatalf("request options %s, %v", opts, err)
		}
		if has, err := s.HasPasskeys(ctx, admin.ID); !has || err != nil {
			t.Fatalf("HasPasskeys = %v, %v", has, err)
		}

		if n := auditCount(t, s, audit.ActionAccountUpdate, "change", "passkey_added"); n != 7 {
			t.Fatalf("%d passkey_added entries", n)
		}
		if n := auditCount(t, s, audit.ActionLogin, "method", "passkey"); n != 14 {
			t.Fatalf("%d passkey sign-ins logged", n)
		}
	})
}

// A new account can enrol with a passkey alone, which completes its first
// sign-in, and then sign in with it.
func TestPasskeyEnrolment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, c)
		enrol(t, s, c)
		admin, _ := db.AccountByEmail(ctx, "admin@example.org")
		acct, invite, err := s.Invite(ctx, audit.Staff(admin.ID), AccountInput{Email: "analyst@example.org", Name: "Bo", Role: canopy.RoleAnalyst})
		if err != nil {
			t.Fatal(err)
		}
		sess, err := s.AcceptInvite(ctx, invite, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if has, _ := s.HasPasskeys(ctx, acct.ID); has {
			t.Fatal("passkeys before any was added")
		}
		// No passkey yet: nothing to sign in with.
		if _, _, err := s.BeginPasskeyLogin(ctx, testRP, sess); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("BeginPasskeyLogin without passkeys: %v", err)
		}
		k := newSoftKey(t, algES256, true)
		addPasskey(t, s, sess, k, "none", "  phone  ")
		if _, _, err := s.Authenticate(ctx, sess); err != nil {
			t.Fatalf("enrolment did not complete the sign-in: %v", err)
		}
		if infos, _ := s.Passkeys(ctx, acct.ID); len(infos) != 1 || infos[0].Name != "phone" {
			t.Fatalf("Passkeys = %+v", infos)
		}

		// The next password-only session may not enrol another passkey:
		// it must prove the one it has.
		c.add(time.Minute)
		sess2, _ := s.Login(ctx, "analyst@example.org", "correct horse battery staple")
		if _, _, err := s.BeginPasskey(ctx, testRP, sess2); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("second enrolment began: %v", err)
		}
		if _, err := passkeyLogin(t, s, "analyst@example.org", k, nil); err != nil {
			t.Fatal(err)
		}
		// Nor may a password-only session of an account with TOTP.
		sess3, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		if _, _, err := s.BeginPasskey(ctx, testRP, sess3); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("enrolment beside TOTP began: %v", err)
		}

		// The last second factor cannot be removed; a second one can.
		id := b64url(k.id)
		if err := s.RemovePasskey(ctx, audit.Staff(admin.ID), acct.ID, id); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("removed the last factor: %v", err)
		}
		full, _ := passkeyLogin(t, s, "analyst@example.org", k, nil)
		k2 := newSoftKey(t, algEdDSA, false)
		addPasskey(t, s, full, k2, "packed", "key")
		if err := s.RemovePasskey(ctx, audit.Staff(admin.ID), admin.ID, id); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("removed through another account: %v", err)
		}
		if err := s.RemovePasskey(ctx, audit.Staff(admin.ID), acct.ID, "not base64!"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("bad id: %v", err)
		}
		if err := s.RemovePasskey(ctx, audit.Staff(admin.ID), acct.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, err := passkeyLogin(t, s, "analyst@example.org", k, nil); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("removed passkey signed in: %v", err)
		}
		if n := auditCount(t, s, audit.ActionAccountUpdate, "change", "passkey_removed"); n != 1 {
			t.Fatalf("%d passkey_removed entries", n)
		}
	})
}

func TestPasskeyRegistrationRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, c)
		_, _, full := enrol(t, s, c)
		admin, _ := db.AccountByEmail(ctx, "admin@example.org")
		// A second full session of the same account, for tickets that are
		// not this session's.
		c.add(time.Minute) // a fresh TOTP step
		other, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		if err := s.SecondFactor(ctx, other, c.code(mustSecret(t, s, admin))); err != nil {
			t.Fatal(err)
		}
		taken := newSoftKey(t, algES256, true)
		addPasskey(t, s, full, taken, "none", "taken")

		es384 := cborEncode(cborMap{{coseKty, ktyEC2}, {coseAlg, int64(-35)}, {coseCrv, int64(2)}, {coseX, make([]byte, 48)}, {coseY, make([]byte, 48)}})
		offCurve := cborEncode(cborMap{{coseKty, ktyEC2}, {coseAlg, algES256}, {coseCrv, crvP256}, {coseX, make([]byte, 32)}, {coseY, make([]byte, 32)}})
		for _, tc := range []struct {
			name   string
			key    *softKey
			change func(*ceremony)
			ticket func(string) string
			code   string
		}{
			{name: "wrong origin", change: func(c *ceremony) { c.Origin = "https://hotline.example.evil" }},
			{name: "origin with a path", change: func(c *ceremony) { c.Origin = "https://hotline.example/" }},
			{name: "wrong RP ID hash", change: func(c *ceremony) { c.RPID = "example" }},
			{name: "wrong challenge", change: func(c *ceremony) { c.Challenge = bytes.Repeat([]byte{7}, challengeSize) }},
			{name: "type mismatch", change: func(c *ceremony) { c.Type = "webauthn.get" }},
			{name: "cross-origin", change: func(c *ceremony) { c.CrossOrigin = true }},
			{name: "user not present", change: func(c *ceremony) { c.Flags &^= flagUP }},
			{name: "no attested credential", change: func(c *ceremony) { c.Flags &^= flagAT }},
			{name: "backed up not eligible", change: func(c *ceremony) { c.Flags |= flagBS }},
			{name: "trailing authenticator data", change: func(c *ceremony) { c.Extra = []byte{0} }},
			{name: "extension flag without extensions", change: func(c *ceremony) { c.Flags |= flagED }},
			{name: "rawId differs", change: func(c *ceremony) { c.RawID = []byte{1, 2, 3} }},
			{name: "algorithm not offered", change: func(c *ceremony) { c.COSE = es384 }},
			{name: "point off the curve", change: func(c *ceremony) { c.COSE = offCurve }},
			{name: "packed tampered signature", change: func(c *ceremony) { c.Format = "packed"; c.Tamper = true }},
			{name: "packed alg mismatch", change: func(c *ceremony) {
				c.Format = "packed"
				c.Statement = cborMap{{"alg", algEdDSA}, {"sig", []byte{1}}}
			}},
			{name: "none with a statement", change: func(c *ceremony) { c.Statement = cborMap{{"sig", []byte{1}}} }},
			{name: "bad format name", change: func(c *ceremony) { c.Format = "" }},
			{name: "expired ticket", change: func(*ceremony) { c.add(passkeyTicketLife + time.Second) }},
			{name: "ticket of another session", ticket: func(string) string { _, tk, _ := s.BeginPasskey(ctx, testRP, other); return tk }},
			{name: "garbled ticket", ticket: func(tk string) string { return tk[:len(tk)-2] + "AA" }},
			{name: "already registered", key: taken, code: canopy.ECONFLICT},
		} {
			t.Run(tc.name, func(t *testing.T) {
				opts, ticket, err := s.BeginPasskey(ctx, testRP, full)
				if err != nil {
					t.Fatal(err)
				}
				k := tc.key
				if k == nil {
					k = newSoftKey(t, algES256, true)
				}
				cer := createCeremony(readOptions(t, opts).challenge(t), "none")
				if tc.change != nil {
					tc.change(cer)
				}
				if tc.ticket != nil {
					ticket = tc.ticket(ticket)
				}
				err = s.FinishPasskey(ctx, testRP, full, ticket, k.create(cer), "x")
				want := tc.code
				if want == "" {
					want = canopy.EINVALID
				}
				if canopy.ErrorCode(err) != want {
					t.Fatalf("got %v, want %s", err, want)
				}
			})
		}
		if infos, _ := s.Passkeys(ctx, admin.ID); len(infos) != 1 {
			t.Fatalf("%d passkeys stored", len(infos))
		}
		// A key registered to one account cannot be registered to another.
		_, invite, _ := s.Invite(ctx, audit.Staff(admin.ID), AccountInput{Email: "b@example.org", Role: canopy.RoleAnalyst})
		sess, _ := s.AcceptInvite(ctx, invite, "correct horse battery staple")
		opts, ticket, _ := s.BeginPasskey(ctx, testRP, sess)
		err := s.FinishPasskey(ctx, testRP, sess, ticket, taken.create(createCeremony(readOptions(t, opts).challenge(t), "none")), "")
		if canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("credential of another account registered: %v", err)
		}
		// Names are checked.
		for _, name := range []string{string(bytes.Repeat([]byte("é"), maxPasskeyName+1)), "a\x00b", "\xff"} {
			opts, ticket, _ := s.BeginPasskey(ctx, testRP, full)
			err := s.FinishPasskey(ctx, testRP, full, ticket, newSoftKey(t, algEdDSA, false).create(createCeremony(readOptions(t, opts).challenge(t), "none")), name)
			if canopy.ErrorCode(err) != canopy.EINVALID {
				t.Fatalf("name %q: %v", name, err)
			}
		}
		// A misconfigured node refuses rather than guesses.
		if _, _, err := s.BeginPasskey(ctx, RelyingParty{ID: "hotline.example"}, full); err == nil {
			t.Fatal("no origins accepted")
		}
	})
}

func mustSecret(t *testing.T, s *Service, a *store.StoredAccount) []byte {
	t.Helper()
	secret, err := s.Keys.System().Open(a.TOTPSecret, totpContext(a.ID))
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestPasskeySignInRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, c)
		_, _, full := enrol(t, s, c)
		admin, _ := db.AccountByEmail(ctx, "admin@example.org")
		k := newSoftKey(t, algES256, true)
		addPasskey(t, s, full, k, "none", "")
		ed := newSoftKey(t, algEdDSA, false)
		addPasskey(t, s, full, ed, "packed", "")

		// Another account's passkey.
		_, invite, _ := s.Invite(ctx, audit.Staff(admin.ID), AccountInput{Email: "b@example.org", Role: canopy.RoleAnalyst})
		bsess, _ := s.AcceptInvite(ctx, invite, "correct horse battery staple")
		theirs := newSoftKey(t, algES256, true)
		addPasskey(t, s, bsess, theirs, "none", "")
		unknown := newSoftKey(t, algES256, true)

		reset := func() {
			zero, never := 0, time.Time{}
			db.UpdateAccount(ctx, admin.ID, store.AccountUpdate{FailedLogins: &zero, LockedUntil: &never})
		}
		for _, tc := range []struct {
			name   string
			key    *softKey
			change func(*ceremony)
			reason string // the audited reason; "" for a refusal that is not a failed sign-in
			code   string
		}{
			{name: "wrong origin", change: func(c *ceremony) { c.Origin = "https://evil.example" }},
			{name: "wrong RP ID hash", change: func(c *ceremony) { c.RPID = "evil.example" }},
			{name: "wrong challenge", change: func(c *ceremony) { c.Challenge = make([]byte, challengeSize) }},
			{name: "type mismatch", change: func(c *ceremony) { c.Type = "webauthn.create" }},
			{name: "cross-origin", change: func(c *ceremony) { c.CrossOrigin = true }},
			{name: "user not present", change: func(c *ceremony) { c.Flags &^= flagUP }},
			{name: "attested data in an assertion", change: func(c *ceremony) { c.Flags |= flagAT }},
			{name: "trailing authenticator data", change: func(c *ceremony) { c.Extra = []byte{0xa0, 0} }},
			{name: "tampered signature", change: func(c *ceremony) { c.Tamper = true }},
			{name: "tampered Ed25519 signature", key: ed, change: func(c *ceremony) { c.Tamper = true }},
			{name: "credential of another account", key: theirs},
			{name: "unknown credential", key: unknown},
			{name: "user handle of another account", change: func(c *ceremony) { c.UserHandle = s.userHandle("someone-else") }},
			{name: "half sign-in expired", change: func(*ceremony) { c.add(passkeyTicketLife + time.Second) }, code: canopy.EUNAUTHORIZED},
		} {
			t.Run(tc.name, func(t *testing.T) {
				reset()
				key := tc.key
				if key == nil {
					key = k
				}
				_, err := passkeyLogin(t, s, "admin@example.org", key, tc.change)
				if canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
					t.Fatalf("got %v, want refusal", err)
				}
				a, _ := db.Account(ctx, admin.ID)
				if tc.code == "" && a.FailedLogins != 1 {
					t.Fatalf("failures counted: %d", a.FailedLogins)
				}
			})
		}
		reset()

		// A matching user handle, an extension map and backup flags are
		// fine, and the extension-carrying data still verifies.
		if _, err := passkeyLogin(t, s, "admin@example.org", k, func(c *ceremony) {
			c.UserHandle = s.userHandle(admin.ID)
			c.Flags |= flagED | flagBE | flagBS | flagUV
			c.Extra = cborEncode(cborMap{{"credProtect", int64(2)}})
		}); err != nil {
			t.Fatalf("good assertion refused: %v", err)
		}

		// Tickets: another session's, and a registration ticket, do not
		// open; neither counts as a failed sign-in.
		sess1, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		sess2, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		opts, ticket, _ := s.BeginPasskeyLogin(ctx, testRP, sess1)
		resp := k.get(getCeremony(readOptions(t, opts).challenge(t)))
		if err := s.FinishPasskeyLogin(ctx, testRP, sess2, ticket, resp); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("ticket of another session: %v", err)
		}
		_, regTicket, _ := s.BeginPasskey(ctx, testRP, full)
		if err := s.FinishPasskeyLogin(ctx, testRP, sess1, regTicket, resp); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("registration ticket: %v", err)
		}
		// The right one still works, once: the session is then complete.
		if err := s.FinishPasskeyLogin(ctx, testRP, sess1, ticket, resp); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishPasskeyLogin(ctx, testRP, sess1, ticket, resp); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("replay into a complete session: %v", err)
		}

		// Sign-count regression: a counter that does not move forward is
		// refused and audited as such; a key without a counter is fine.
		before := auditCount(t, s, audit.ActionLoginFailed, "reason", "passkey_sign_count")
		k.count -= 2
		if _, err := passkeyLogin(t, s, "admin@example.org", k, nil); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("cloned key (same count) signed in: %v", err)
		}
		k.count, k.counts = 0, false
		if _, err := passkeyLogin(t, s, "admin@example.org", k, nil); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("cloned key (zero count) signed in: %v", err)
		}
		if n := auditCount(t, s, audit.ActionLoginFailed, "reason", "passkey_sign_count") - before; n != 2 {
			t.Fatalf("%d sign-count refusals audited", n)
		}
		k.count, k.counts = 1000, true
		if _, err := passkeyLogin(t, s, "admin@example.org", k, nil); err != nil {
			t.Fatalf("counter moved forward, refused: %v", err)
		}
		for range 2 {
			if _, err := passkeyLogin(t, s, "admin@example.org", ed, nil); err != nil {
				t.Fatalf("key without a counter: %v", err)
			}
		}

		// Failures throttle like wrong codes.
		for range freeFailures {
			passkeyLogin(t, s, "admin@example.org", k, func(c *ceremony) { c.Tamper = true })
		}
		if _, err := s.Login(ctx, "admin@example.org", "correct horse battery staple"); canopy.ErrorCode(err) != canopy.ETOOMANY {
			t.Fatalf("not locked after %d failures: %v", freeFailures, err)
		}
	})
}

// Every prefix of a good response, and every single-byte change to its
// binary parts, is refused without a panic.
func TestPasskeyMalformed(t *testing.T) {
	k := newSoftKey(t, algES256, true)
	challenge := make([]byte, challengeSize)
	resp := k.create(createCeremony(challenge, "packed"))
	good, err := verifyRegistration(testRP, challenge, resp)
	if err != nil {
		t.Fatal(err)
	}
	var cred credentialJSON
	json.Unmarshal(resp, &cred)
	att, _ := unb64(cred.Response.AttestationObject)
	rebuild := func(att []byte) []byte {
		c := cred
		c.Response.AttestationObject = b64url(att)
		b, _ := json.Marshal(c)
		return b
	}
	for i := range att {
		if _, err := verifyRegistration(testRP, challenge, rebuild(att[:i])); err == nil {
			t.Fatalf("prefix of %d bytes accepted", i)
		}
		mut := bytes.Clone(att)
		mut[i] ^= 0x80
		if c, err := verifyRegistration(testRP, challenge, rebuild(mut)); err == nil && !bytes.Equal(c.publicKey, good.publicKey) {
			t.Fatalf("byte %d changed, a different key accepted", i)
		}
	}
	// Huge declared lengths inside authenticator data.
	ad := slices.Concat(make([]byte, 37), make([]byte, 16), []byte{0xff, 0xff})
	ad[32] = flagUP | flagAT
	if _, err := parseAuthData(ad); err == nil {
		t.Fatal("credential id longer than the data accepted")
	}
	ad = slices.Concat(make([]byte, 37), make([]byte, 16), []byte{0, 1, 9}, unhex("bb ffffffffffffffff"))
	ad[32] = flagUP | flagAT
	if _, err := parseAuthData(ad); err == nil {
		t.Fatal("huge map accepted")
	}
	for _, junk := range []string{"", "null", "[]", `{"type":"public-key"}`, `{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"!!"}}`} {
		if _, err := verifyRegistration(testRP, challenge, []byte(junk)); err == nil {
			t.Fatalf("%q accepted", junk)
		}
	}
	if _, err := parseCredential(make([]byte, maxCredentialJSON+1)); err == nil {
		t.Fatal("oversized credential accepted")
	}
}
