package staff

// Passkeys (WebAuthn credentials) as a second factor, written from W3C Web
// Authentication Level 2 (§6.1 authenticator data, §6.5 attestation, §7.1
// registration, §7.2 authentication) with the Level 3 checks that apply
// (credential id length, backup flags).
//
// The ceremonies are stateless on the server between the two calls of
// each: Begin seals the challenge, an expiry and the ceremony's kind under
// the system key, bound to the session, into a ticket that the browser
// hands back to Finish.
//
// Attestation: the node asks for "none". It has no list of trusted
// authenticator makers and would gain nothing from one: the person adding
// a passkey is already signed in. So it verifies "none" (an empty
// statement) and "packed" self attestation (a signature by the new key
// itself, which costs nothing to check), and accepts any other format or
// a "packed" statement with a certificate chain without verifying the
// statement. Browsers normally replace such statements with "none" when
// "none" was asked for. Either way the public key that is stored is the
// one the authenticator reported, and every later sign-in is checked
// against it.

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
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// RelyingParty is how the node presents itself to authenticators.
type RelyingParty struct {
	// ID is the RP ID: the node's domain, such as "hotline.example" or
	// "localhost". Passkeys are bound to it: changing it orphans every
	// passkey.
	ID string
	// Name is shown by some authenticators when a passkey is made.
	Name string
	// Origins are the exact origins the browser may report, such as
	// "https://hotline.example" or "http://localhost:8080".
	Origins []string
}

func (rp *RelyingParty) check() error {
	if rp.ID == "" || len(rp.Origins) == 0 {
		return fmt.Errorf("staff: passkeys need a relying party ID and at least one origin")
	}
	return nil
}

// Limits of passkeys.
const (
	passkeyTicketLife = 5 * time.Minute
	maxPasskeys       = 20       // per account; bounds the lists sent to browsers
	maxCredentialJSON = 64 << 10 // a browser's credential JSON, all fields together
	maxCredentialID   = 1023     // WebAuthn Level 3 §7.1
	maxPasskeyName    = 100      // characters
	challengeSize     = 32
)

// COSE algorithm identifiers (IANA "COSE Algorithms").
const (
	algES256 int64 = -7   // ECDSA P-256 with SHA-256
	algEdDSA int64 = -8   // Ed25519
	algRS256 int64 = -257 // RSASSA-PKCS1-v1_5 with SHA-256
)

// passkeyAlgs are the algorithms offered, in order of preference.
var passkeyAlgs = []int64{algES256, algEdDSA, algRS256}

// COSE key parameters (RFC 9052 §7, RFC 9053 §7).
const (
	coseKty int64 = 1
	coseAlg int64 = 3
	coseCrv int64 = -1 // EC2 and OKP; the modulus n for RSA
	coseX   int64 = -2 // EC2 and OKP; the exponent e for RSA
	coseY   int64 = -3

	ktyOKP int64 = 1
	ktyEC2 int64 = 2
	ktyRSA int64 = 3

	crvP256    int64 = 1
	crvEd25519 int64 = 6
)

// Authenticator data flags (WebAuthn §6.1; BE and BS from Level 3).
const (
	flagUP byte = 1 << 0 // user present
	flagUV byte = 1 << 2 // user verified
	flagBE byte = 1 << 3 // backup eligible
	flagBS byte = 1 << 4 // backed up
	flagAT byte = 1 << 6 // attested credential data included
	flagED byte = 1 << 7 // extension data included
)

// Ceremony kinds, which are also the clientDataJSON types.
const (
	ceremonyCreate = "webauthn.create"
	ceremonyGet    = "webauthn.get"
)

// PasskeyInfo describes a passkey for its owner, without its key.
type PasskeyInfo struct {
	ID       string // the credential id, base64url without padding
	Name     string
	Created  time.Time
	LastUsed time.Time // zero when never used
}

var (
	errPasskeyTicket = invalid("ticket", "error.passkey.expired")
	errStage         = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.session.complete"}
)

// errPasskey is the answer to a credential that fails registration. The
// cause goes to the operator's log: a wrong origin, for one, is usually a
// misconfigured RelyingParty.
func errPasskey(cause error) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid",
		Fields: []canopy.FieldError{{Field: "credential", Key: "error.passkey.invalid"}}, Err: fmt.Errorf("staff: passkey: %w", cause)}
}

// passkeyFailed records a failed passkey sign-in like any failed second
// factor, and keeps the cause for the operator's log.
func (s *Service) passkeyFailed(ctx context.Context, a *store.StoredAccount, reason string, cause error) error {
	err := s.failed(ctx, a, reason)
	if err == errLogin {
		return &canopy.Error{Code: errLogin.Code, Key: errLogin.Key, Err: fmt.Errorf("staff: passkey: %w", cause)}
	}
	return err
}

// userHandle is the WebAuthn user id of an account: a keyed hash of the
// account id, so it says nothing about the account or the person (the
// spec forbids an e-mail address there) and needs no column. It stays the
// same for as long as the master key does.
func (s *Service) userHandle(accountID string) []byte {
	return s.Keys.Hash("webauthn-user", accountID)
}

// fingerprint names a credential in the audit log: credential ids can be
// a kilobyte long, more than a detail may hold.
func fingerprint(credentialID []byte) string {
	h := sha256.Sum256(credentialID)
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unb64 decodes base64url, with or without padding, as browsers and
// libraries differ.
func unb64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// newTicket makes a challenge and the sealed ticket that carries it to the
// ceremony's second half: expiry (8 bytes, Unix seconds) and challenge,
// sealed for the kind of ceremony and the session.
func (s *Service) newTicket(kind, sessionID string) (challenge []byte, ticket string) {
	challenge = make([]byte, challengeSize)
	rand.Read(challenge)
	plain := binary.BigEndian.AppendUint64(nil, uint64(s.Now().Add(passkeyTicketLife).Unix()))
	plain = append(plain, challenge...)
	return challenge, b64url(s.Keys.System().Seal(plain, "passkey-ticket/"+kind+"/"+sessionID))
}

func (s *Service) openTicket(kind, sessionID, ticket string) ([]byte, error) {
	raw, err := unb64(ticket)
	if err != nil {
		return nil, errPasskeyTicket
	}
	plain, err := s.Keys.System().Open(raw, "passkey-ticket/"+kind+"/"+sessionID)
	if err != nil || len(plain) != 8+challengeSize || s.Now().Unix() > int64(binary.BigEndian.Uint64(plain[:8])) {
		return nil, errPasskeyTicket
	}
	return plain[8:], nil
}

// registrationState checks that the session may add a passkey: a full
// session, or one enrolling its first second factor (no TOTP, no passkey),
// and returns whether it is the latter.
func registrationState(ss *store.StoredSession, a *store.StoredAccount, keys []*store.Passkey) (enrolling bool, err error) {
	switch {
	case ss.Stage == stageFull:
	case ss.Stage == stagePassword && a.TOTPSecret == nil && len(keys) == 0:
		enrolling = true
	default:
		return false, errStage
	}
	if len(keys) >= maxPasskeys {
		return false, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.passkey.too_many"}
	}
	return enrolling, nil
}

type credentialDescriptor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func descriptors(keys []*store.Passkey) []credentialDescriptor {
	out := make([]credentialDescriptor, len(keys)) // never null: browsers want a list
	for i, k := range keys {
		out[i] = credentialDescriptor{Type: "public-key", ID: b64url(k.CredentialID)}
	}
	return out
}

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		PubKeyCredParams []credentialParam `json:"pubKeyCredParams"`
		Selection        struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey bool   `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation        string                 `json:"attestation"`
		ExcludeCredentials []credentialDescriptor `json:"excludeCredentials"`
		Timeout            int64                  `json:"timeout"`
	} `json:"publicKey"`
}

type credentialParam struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
}

// BeginPasskey starts adding a passkey to the account of a full session,
// or of a session enrolling its first second factor. It returns the
// options for navigator.credentials.create, as JSON of the form
// {"publicKey": {...}} with binary members in base64url (WebAuthn Level
// 3's PublicKeyCredentialCreationOptionsJSON, which
// PublicKeyCredential.parseCreationOptionsFromJSON takes), and the ticket
// to hand back to FinishPasskey within five minutes.
func (s *Service) BeginPasskey(ctx context.Context, rp RelyingParty, token string) (options []byte, ticket string, err error) {
	if err := rp.check(); err != nil {
		return nil, "", err
	}
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return nil, "", err
	}
	keys, err := s.DB.PasskeysOf(ctx, a.ID)
	if err != nil {
		return nil, "", err
	}
	if _, err := registrationState(ss, a, keys); err != nil {
		return nil, "", err
	}
	challenge, ticket := s.newTicket(ceremonyCreate, ss.ID)
	var o creationOptions
	p := &o.PublicKey
	p.Challenge = b64url(challenge)
	p.RP.ID, p.RP.Name = rp.ID, rp.Name
	if p.RP.Name == "" {
		p.RP.Name = rp.ID
	}
	p.User.ID = b64url(s.userHandle(a.ID))
	p.User.Name = a.Email
	p.User.DisplayName = a.Name
	if p.User.DisplayName == "" {
		p.User.DisplayName = a.Email
	}
	for _, alg := range passkeyAlgs {
		p.PubKeyCredParams = append(p.PubKeyCredParams, credentialParam{Type: "public-key", Alg: alg})
	}
	p.Selection.ResidentKey = "preferred"
	p.Selection.UserVerification = "preferred"
	p.Attestation = "none"
	p.ExcludeCredentials = descriptors(keys)
	p.Timeout = passkeyTicketLife.Milliseconds()
	options, err = json.Marshal(&o)
	if err != nil {
		return nil, "", fmt.Errorf("staff: passkey options: %w", err)
	}
	return options, ticket, nil
}

// FinishPasskey checks the credential a browser made from BeginPasskey's
// options and stores it as a passkey of the session's account, under
// name. When the session was enrolling, this completes its sign-in.
// credential is the JSON of the PublicKeyCredential (its toJSON()):
//
//	{"id": "…", "rawId": "…", "type": "public-key",
//	 "response": {"clientDataJSON": "…", "attestationObject": "…"}}
//
// with binary members in base64url; other members are ignored.
func (s *Service) FinishPasskey(ctx context.Context, rp RelyingParty, token, ticket string, credential []byte, name string) error {
	if err := rp.check(); err != nil {
		return err
	}
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return err
	}
	keys, err := s.DB.PasskeysOf(ctx, a.ID)
	if err != nil {
		return err
	}
	enrolling, err := registrationState(ss, a, keys)
	if err != nil {
		return err
	}
	name, err = passkeyName(name)
	if err != nil {
		return err
	}
	challenge, err := s.openTicket(ceremonyCreate, ss.ID, ticket)
	if err != nil {
		return err
	}
	cred, err := verifyRegistration(rp, challenge, credential)
	if err != nil {
		return errPasskey(err)
	}
	// WebAuthn §7.1: a credential already registered, to anyone, is
	// refused. The unique key catches a race; checking first keeps a
	// refused passkey out of the audit log.
	if _, err := s.DB.PasskeyByCredentialID(ctx, cred.id); err == nil {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.passkey.taken"}
	} else if canopy.ErrorCode(err) != canopy.ENOTFOUND {
		return err
	}
	details := map[string]string{"change": "passkey_added", "credential": fingerprint(cred.id), "alg": strconv.FormatInt(cred.alg, 10)}
	if err := s.log(ctx, audit.Staff(a.ID), audit.ActionAccountUpdate, audit.KindAccount, a.ID, audit.OK, details); err != nil {
		return err
	}
	err = s.DB.CreatePasskey(ctx, &store.Passkey{CredentialID: cred.id, AccountID: a.ID, Name: name,
		PublicKey: cred.publicKey, SignCount: cred.signCount, Created: s.Now().UTC()})
	if err != nil {
		return err
	}
	if enrolling {
		return s.complete(ctx, ss, a, "passkey")
	}
	return nil
}

func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) {
		return "", invalid("name", "error.invalid_utf8")
	}
	if utf8.RuneCountInString(name) > maxPasskeyName {
		return "", invalid("name", "error.too_long")
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return "", invalid("name", "error.control_chars")
	}
	return name, nil
}

type requestOptions struct {
	PublicKey struct {
		Challenge        string                 `json:"challenge"`
		RPID             string                 `json:"rpId"`
		AllowCredentials []credentialDescriptor `json:"allowCredentials"`
		UserVerification string                 `json:"userVerification"`
		Timeout          int64                  `json:"timeout"`
	} `json:"publicKey"`
}

// BeginPasskeyLogin starts proving the second factor with a passkey, for a
// session that has passed the password of an account with passkeys. It
// returns the options for navigator.credentials.get, as JSON of the form
// {"publicKey": {...}} (PublicKeyCredentialRequestOptionsJSON, for
// PublicKeyCredential.parseRequestOptionsFromJSON), and the ticket for
// FinishPasskeyLogin.
func (s *Service) BeginPasskeyLogin(ctx context.Context, rp RelyingParty, token string) (options []byte, ticket string, err error) {
	if err := rp.check(); err != nil {
		return nil, "", err
	}
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return nil, "", err
	}
	if ss.Stage != stagePassword {
		return nil, "", errStage
	}
	if s.Now().Before(a.LockedUntil) {
		return nil, "", &canopy.Error{Code: canopy.ETOOMANY, Key: "error.login.locked"}
	}
	keys, err := s.DB.PasskeysOf(ctx, a.ID)
	if err != nil {
		return nil, "", err
	}
	if len(keys) == 0 {
		return nil, "", &canopy.Error{Code: canopy.ECONFLICT, Key: "error.passkey.none"}
	}
	challenge, ticket := s.newTicket(ceremonyGet, ss.ID)
	var o requestOptions
	p := &o.PublicKey
	p.Challenge = b64url(challenge)
	p.RPID = rp.ID
	p.AllowCredentials = descriptors(keys)
	p.UserVerification = "preferred"
	p.Timeout = passkeyTicketLife.Milliseconds()
	options, err = json.Marshal(&o)
	if err != nil {
		return nil, "", fmt.Errorf("staff: passkey options: %w", err)
	}
	return options, ticket, nil
}

// FinishPasskeyLogin checks an assertion made from BeginPasskeyLogin's
// options and, when it holds, completes the session's sign-in. assertion
// is the JSON of the PublicKeyCredential (its toJSON()):
//
//	{"id": "…", "rawId": "…", "type": "public-key",
//	 "response": {"clientDataJSON": "…", "authenticatorData": "…",
//	              "signature": "…", "userHandle": "…" or null}}
//
// Every way an assertion can be wrong counts as a failed sign-in, and
// locks the account like a wrong code does; an expired ticket does not.
func (s *Service) FinishPasskeyLogin(ctx context.Context, rp RelyingParty, token, ticket string, assertion []byte) error {
	if err := rp.check(); err != nil {
		return err
	}
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return err
	}
	if ss.Stage != stagePassword {
		return errStage
	}
	if s.Now().Before(a.LockedUntil) {
		return &canopy.Error{Code: canopy.ETOOMANY, Key: "error.login.locked"}
	}
	challenge, err := s.openTicket(ceremonyGet, ss.ID, ticket)
	if err != nil {
		return err
	}
	cred, err := parseCredential(assertion)
	if err != nil {
		return s.passkeyFailed(ctx, a, "second_factor", err)
	}
	pk, err := s.DB.PasskeyByCredentialID(ctx, cred.rawID)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return s.passkeyFailed(ctx, a, "second_factor", errors.New("unknown credential"))
	}
	if err != nil {
		return err
	}
	// §7.2: the credential must be this account's, and so must the user
	// handle, when the authenticator returns one.
	if pk.AccountID != a.ID {
		return s.passkeyFailed(ctx, a, "second_factor", errors.New("credential of another account"))
	}
	if h := cred.Response.UserHandle; h != nil && *h != "" {
		if uh, err := unb64(*h); err != nil || !bytes.Equal(uh, s.userHandle(a.ID)) {
			return s.passkeyFailed(ctx, a, "second_factor", errors.New("user handle of another account"))
		}
	}
	ad, err := verifyAssertion(rp, challenge, cred, pk.PublicKey)
	if err != nil {
		return s.passkeyFailed(ctx, a, "second_factor", err)
	}
	fresh, err := s.DB.UpdatePasskeyUse(ctx, pk.CredentialID, ad.signCount, s.Now())
	if err != nil {
		return err
	}
	if !fresh {
		// The counter did not move forward: two copies of the key may
		// exist. Refused and logged under its own reason, so an auditor
		// can tell it from a mistyped code.
		return s.passkeyFailed(ctx, a, "passkey_sign_count", fmt.Errorf("signature counter %d not above the stored %d", ad.signCount, pk.SignCount))
	}
	return s.complete(ctx, ss, a, "passkey")
}

// HasPasskeys reports whether an account has any passkey, so a pending
// sign-in can offer it.
func (s *Service) HasPasskeys(ctx context.Context, accountID string) (bool, error) {
	keys, err := s.DB.PasskeysOf(ctx, accountID)
	return len(keys) > 0, err
}

// Passkeys lists an account's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, accountID string) ([]PasskeyInfo, error) {
	keys, err := s.DB.PasskeysOf(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]PasskeyInfo, len(keys))
	for i, k := range keys {
		out[i] = PasskeyInfo{ID: b64url(k.CredentialID), Name: k.Name, Created: k.Created, LastUsed: k.LastUsed}
	}
	return out, nil
}

// RemovePasskey removes one of an account's passkeys, named by its
// PasskeyInfo.ID. It refuses to remove an account's last second factor:
// without one, anyone with the password could enrol their own.
func (s *Service) RemovePasskey(ctx context.Context, by audit.Actor, accountID, credentialID string) error {
	notFound := &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.passkey.not_found"}
	id, err := unb64(credentialID)
	if err != nil || len(id) == 0 {
		return notFound
	}
	a, err := s.DB.Account(ctx, accountID)
	if err != nil {
		return err
	}
	keys, err := s.DB.PasskeysOf(ctx, accountID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(keys, func(k *store.Passkey) bool { return bytes.Equal(k.CredentialID, id) }) {
		return notFound
	}
	if len(keys) == 1 && a.TOTPSecret == nil {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.passkey.last"}
	}
	details := map[string]string{"change": "passkey_removed", "credential": fingerprint(id)}
	if err := s.log(ctx, by, audit.ActionAccountUpdate, audit.KindAccount, accountID, audit.OK, details); err != nil {
		return err
	}
	return s.DB.DeletePasskey(ctx, accountID, id)
}

// credentialJSON is a PublicKeyCredential as a browser's toJSON() gives
// it, for both ceremonies.
type credentialJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string  `json:"clientDataJSON"`
		AttestationObject string  `json:"attestationObject"` // registration
		AuthenticatorData string  `json:"authenticatorData"` // assertion
		Signature         string  `json:"signature"`         // assertion
		UserHandle        *string `json:"userHandle"`        // assertion; may be null
	} `json:"response"`

	rawID, clientData []byte
}

func parseCredential(data []byte) (*credentialJSON, error) {
	if len(data) > maxCredentialJSON {
		return nil, errors.New("credential too large")
	}
	var c credentialJSON
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("credential JSON: %w", err)
	}
	if c.Type != "public-key" {
		return nil, fmt.Errorf("credential type %q", c.Type)
	}
	var err error
	if c.rawID, err = unb64(c.RawID); err != nil || len(c.rawID) == 0 || len(c.rawID) > maxCredentialID {
		return nil, errors.New("bad rawId")
	}
	if id, err := unb64(c.ID); err != nil || !bytes.Equal(id, c.rawID) {
		return nil, errors.New("id and rawId differ")
	}
	if c.clientData, err = unb64(c.Response.ClientDataJSON); err != nil {
		return nil, errors.New("bad clientDataJSON encoding")
	}
	return &c, nil
}

// clientData is the part of CollectedClientData the node checks.
type clientData struct {
	Type         string `json:"type"`
	Challenge    string `json:"challenge"`
	Origin       string `json:"origin"`
	CrossOrigin  bool   `json:"crossOrigin"`
	TokenBinding *struct {
		Status string `json:"status"`
	} `json:"tokenBinding"`
}

// checkClientData checks clientDataJSON (§7.1 steps 5–9, §7.2 steps
// 10–14): its type, the challenge, the origin, and that it was not made in
// a frame of another site.
func checkClientData(raw []byte, kind string, challenge []byte, rp *RelyingParty) error {
	text := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // UTF-8 decode strips a BOM
	if !utf8.Valid(text) {
		return errors.New("clientDataJSON is not UTF-8")
	}
	var c clientData
	if err := json.Unmarshal(text, &c); err != nil {
		return fmt.Errorf("clientDataJSON: %w", err)
	}
	if c.Type != kind {
		return fmt.Errorf("clientDataJSON type %q, want %q", c.Type, kind)
	}
	got, err := unb64(c.Challenge)
	if err != nil || subtle.ConstantTimeCompare(got, challenge) != 1 {
		return errors.New("challenge differs")
	}
	if !slices.Contains(rp.Origins, c.Origin) {
		return fmt.Errorf("origin %q is not the node's", c.Origin)
	}
	if c.CrossOrigin {
		return errors.New("made in a cross-origin frame")
	}
	// The node never negotiates Token Binding, so it cannot have been used.
	if c.TokenBinding != nil && c.TokenBinding.Status == "present" {
		return errors.New("token binding present")
	}
	return nil
}

// authData is parsed authenticator data (§6.1).
type authData struct {
	rpIDHash  []byte
	flags     byte
	signCount uint32
	// Attested credential data, when flagAT is set.
	aaguid       []byte
	credentialID []byte
	publicKey    []byte // the COSE_Key as encoded
}

// parseAuthData parses authenticator data: 32 bytes of RP ID hash, a
// flags byte, a 4-byte big-endian signature counter, then the attested
// credential data (16-byte AAGUID, 2-byte length, credential id, COSE key)
// when AT is set, then a CBOR map of extension outputs when ED is set, and
// nothing else.
func parseAuthData(b []byte) (*authData, error) {
	if len(b) < 37 {
		return nil, errors.New("authenticator data too short")
	}
	ad := &authData{rpIDHash: b[:32], flags: b[32], signCount: binary.BigEndian.Uint32(b[33:37])}
	rest := b[37:]
	if ad.flags&flagAT != 0 {
		if len(rest) < 18 {
			return nil, errors.New("attested credential data truncated")
		}
		ad.aaguid = rest[:16]
		n := int(binary.BigEndian.Uint16(rest[16:18]))
		rest = rest[18:]
		if n == 0 || n > maxCredentialID || n > len(rest) {
			return nil, errors.New("bad credential id length")
		}
		ad.credentialID, rest = rest[:n], rest[n:]
		v, used, err := decodeCBORPrefix(rest)
		if err != nil {
			return nil, fmt.Errorf("credential public key: %w", err)
		}
		if _, ok := v.(cborMap); !ok {
			return nil, errors.New("credential public key is not a map")
		}
		ad.publicKey, rest = rest[:used], rest[used:]
	}
	if ad.flags&flagED != 0 {
		v, used, err := decodeCBORPrefix(rest)
		if err != nil {
			return nil, fmt.Errorf("extensions: %w", err)
		}
		if _, ok := v.(cborMap); !ok {
			return nil, errors.New("extensions are not a map")
		}
		rest = rest[used:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after authenticator data", len(rest))
	}
	return ad, nil
}

// checkAuthData makes the checks common to both ceremonies: the RP ID
// hash, user presence, and consistent backup flags (Level 3).
func checkAuthData(ad *authData, rp *RelyingParty) error {
	want := sha256.Sum256([]byte(rp.ID))
	if subtle.ConstantTimeCompare(ad.rpIDHash, want[:]) != 1 {
		return errors.New("RP ID hash differs")
	}
	if ad.flags&flagUP == 0 {
		return errors.New("user not present")
	}
	if ad.flags&flagBE == 0 && ad.flags&flagBS != 0 {
		return errors.New("backed up but not backup eligible")
	}
	return nil
}

// newCredential is a verified registration.
type newCredential struct {
	id        []byte
	publicKey []byte
	alg       int64
	signCount uint32
}

// verifyRegistration checks a credential made for a registration, as
// WebAuthn §7.1 says.
func verifyRegistration(rp RelyingParty, challenge, credential []byte) (*newCredential, error) {
	c, err := parseCredential(credential)
	if err != nil {
		return nil, err
	}
	if err := checkClientData(c.clientData, ceremonyCreate, challenge, &rp); err != nil {
		return nil, err
	}
	rawAtt, err := unb64(c.Response.AttestationObject)
	if err != nil {
		return nil, errors.New("bad attestationObject encoding")
	}
	v, err := decodeCBOR(rawAtt)
	if err != nil {
		return nil, fmt.Errorf("attestation object: %w", err)
	}
	att, ok := v.(cborMap)
	if !ok {
		return nil, errors.New("attestation object is not a map")
	}
	format, ok1 := att.text("fmt")
	rawAuth, ok2 := att.bytes("authData")
	stmt, ok3 := att.mapv("attStmt")
	if !ok1 || !ok2 || !ok3 {
		return nil, errors.New("attestation object lacks fmt, authData or attStmt")
	}
	ad, err := parseAuthData(rawAuth)
	if err != nil {
		return nil, err
	}
	if err := checkAuthData(ad, &rp); err != nil {
		return nil, err
	}
	if ad.flags&flagAT == 0 {
		return nil, errors.New("no attested credential data")
	}
	if !bytes.Equal(ad.credentialID, c.rawID) {
		return nil, errors.New("rawId is not the attested credential id")
	}
	key, err := parseCOSEKey(ad.publicKey)
	if err != nil {
		return nil, err
	}
	clientHash := sha256.Sum256(c.clientData)
	switch format {
	case "none":
		if len(stmt) != 0 {
			return nil, errors.New(`"none" attestation with a statement`)
		}
	case "packed":
		if _, x5c := stmt.get("x5c"); x5c {
			break // attestation by the maker, not verified: see the top of this file
		}
		if _, ecdaa := stmt.get("ecdaaKeyId"); ecdaa {
			break // withdrawn from WebAuthn Level 3; not verified either
		}
		alg, ok1 := stmt.int("alg")
		sig, ok2 := stmt.bytes("sig")
		if !ok1 || !ok2 || alg != key.alg {
			return nil, errors.New("malformed packed self attestation")
		}
		if !key.verify(slices.Concat(rawAuth, clientHash[:]), sig) {
			return nil, errors.New("packed self attestation signature does not verify")
		}
	default:
		if !validFormat(format) {
			return nil, errors.New("bad attestation format identifier")
		}
		// Not verified: see the top of this file.
	}
	return &newCredential{id: ad.credentialID, publicKey: ad.publicKey, alg: key.alg, signCount: ad.signCount}, nil
}

// validFormat: an attestation statement format identifier is at most 32
// printable US-ASCII characters other than '"' and '\' (§8.1).
func validFormat(f string) bool {
	if f == "" || len(f) > 32 {
		return false
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// verifyAssertion checks an assertion, as WebAuthn §7.2 says, against the
// stored public key; the caller has matched the credential to the account
// and checks the signature counter.
func verifyAssertion(rp RelyingParty, challenge []byte, c *credentialJSON, storedKey []byte) (*authData, error) {
	if err := checkClientData(c.clientData, ceremonyGet, challenge, &rp); err != nil {
		return nil, err
	}
	rawAuth, err := unb64(c.Response.AuthenticatorData)
	if err != nil {
		return nil, errors.New("bad authenticatorData encoding")
	}
	sig, err := unb64(c.Response.Signature)
	if err != nil {
		return nil, errors.New("bad signature encoding")
	}
	ad, err := parseAuthData(rawAuth)
	if err != nil {
		return nil, err
	}
	if ad.flags&flagAT != 0 {
		return nil, errors.New("attested credential data in an assertion")
	}
	if err := checkAuthData(ad, &rp); err != nil {
		return nil, err
	}
	key, err := parseCOSEKey(storedKey)
	if err != nil {
		return nil, fmt.Errorf("stored key: %w", err)
	}
	clientHash := sha256.Sum256(c.clientData)
	if !key.verify(slices.Concat(rawAuth, clientHash[:]), sig) {
		return nil, errors.New("signature does not verify")
	}
	return ad, nil
}

// coseKey is a credential public key of one of passkeyAlgs.
type coseKey struct {
	alg int64
	pub crypto.PublicKey
}

// parseCOSEKey parses a COSE_Key (RFC 9052 §7) of an algorithm the node
// offers: EC2 P-256 for ES256, OKP Ed25519 for EdDSA, RSA of 2048 to 8192
// bits for RS256. Other parameters, such as a key id, are ignored.
func parseCOSEKey(raw []byte) (*coseKey, error) {
	v, err := decodeCBOR(raw)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	m, ok := v.(cborMap)
	if !ok {
		return nil, errors.New("public key is not a map")
	}
	kty, ok1 := m.int(coseKty)
	alg, ok2 := m.int(coseAlg)
	if !ok1 || !ok2 {
		return nil, errors.New("public key lacks kty or alg")
	}
	switch {
	case alg == algES256 && kty == ktyEC2:
		crv, _ := m.int(coseCrv)
		x, _ := m.bytes(coseX)
		y, _ := m.bytes(coseY)
		if crv != crvP256 || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("bad ES256 key")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
		if err != nil {
			return nil, fmt.Errorf("ES256 key: %w", err)
		}
		return &coseKey{alg: alg, pub: pub}, nil
	case alg == algEdDSA && kty == ktyOKP:
		crv, _ := m.int(coseCrv)
		x, _ := m.bytes(coseX)
		if crv != crvEd25519 || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad EdDSA key")
		}
		return &coseKey{alg: alg, pub: ed25519.PublicKey(bytes.Clone(x))}, nil
	case alg == algRS256 && kty == ktyRSA:
		n, _ := m.bytes(coseCrv)
		e, _ := m.bytes(coseX)
		if len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RS256 exponent")
		}
		var exp int64
		for _, c := range e {
			exp = exp<<8 | int64(c)
		}
		nn := new(big.Int).SetBytes(n)
		if bits := nn.BitLen(); bits < 2048 || bits > 8192 || exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
			return nil, errors.New("bad RS256 key")
		}
		return &coseKey{alg: alg, pub: &rsa.PublicKey{N: nn, E: int(exp)}}, nil
	}
	return nil, fmt.Errorf("public key algorithm %d (key type %d) not offered", alg, kty)
}

// verify checks sig over data (§6.5.6 for the signature formats).
func (k *coseKey) verify(data, sig []byte) bool {
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		h := sha256.Sum256(data)
		return ecdsa.VerifyASN1(pub, h[:], sig)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, data, sig)
	case *rsa.PublicKey:
		h := sha256.Sum256(data)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
	}
	return false
}
