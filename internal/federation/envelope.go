package federation

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy/internal/seal"
)

// Version is the protocol version this node speaks. Envelopes carry it in
// "v"; a receiver refuses versions it does not know.
const Version = 1

// Message kinds.
const (
	KindReferral    = "referral"     // a report referred to the peer
	KindStatus      = "status"       // what became of a referral
	KindSubscribe   = "subscribe"    // a request to receive a bank's changes
	KindBankChanges = "bank_changes" // a page of a bank's changes
	KindWithdrawal  = "withdrawal"   // the child's consent to share a referral abroad no longer stands
	KindIndicators  = "indicators"   // the sender's published indicators, for comparison side by side
)

var kinds = map[string]bool{KindReferral: true, KindStatus: true, KindSubscribe: true, KindBankChanges: true, KindWithdrawal: true,
	KindIndicators: true}

// timeFormat is the one form times take on the wire: UTC, microseconds.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// Envelope is one message between nodes as it travels: a header in the
// clear, the payload sealed to the receiver (HPKE), and the sender's
// Ed25519 signature over both. docs/federation.md specifies it.
type Envelope struct {
	V       int    `json:"v"`
	ID      string `json:"id"`      // message id: 26 characters [0-9a-v]
	From    string `json:"from"`    // sender's Ed25519 public key, base64url
	To      string `json:"to"`      // receiver's Ed25519 public key, base64url
	Kind    string `json:"kind"`    // referral, status, subscribe, bank_changes, withdrawal
	Thread  string `json:"thread"`  // what the message is about; ordered within
	N       int64  `json:"n"`       // its place in the thread, from 1, per direction
	Created string `json:"created"` // when the message was made
	Sent    string `json:"sent"`    // when this delivery attempt was signed
	Nonce   string `json:"nonce"`   // 16 random bytes, base64url, new for every attempt
	Sealed  string `json:"sealed"`  // the payload sealed to the receiver, base64url
	Sig     string `json:"sig"`     // Ed25519 signature, base64url
}

var (
	b64 = base64.RawURLEncoding

	idPattern       = regexp.MustCompile(`^[0-9a-v]{26}$`)
	threadPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9_./:-]{0,127}$`)
	bankNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// sealInfo is the HPKE info string: it binds the sealed payload to the
// message's id, its two ends, its kind and its thread, so a payload cannot
// be lifted into another message, or re-signed by a third node as its own.
func sealInfo(id, from, to, kind, thread string) []byte {
	var b strings.Builder
	b.WriteString("canopy-federation/1 seal\n")
	for _, kv := range [][2]string{{"id", id}, {"from", from}, {"to", to}, {"kind", kind}, {"thread", thread}} {
		b.WriteString(kv[0] + " " + kv[1] + "\n")
	}
	return []byte(b.String())
}

// signedBytes is what the signature covers: every header field, one per
// line, and the SHA-256 of the sealed payload.
func (e *Envelope) signedBytes(sealed []byte) []byte {
	sum := sha256.Sum256(sealed)
	var b strings.Builder
	b.WriteString("canopy-federation/1 sign\n")
	for _, kv := range [][2]string{
		{"v", strconv.Itoa(e.V)}, {"id", e.ID}, {"from", e.From}, {"to", e.To}, {"kind", e.Kind}, {"thread", e.Thread},
		{"n", strconv.FormatInt(e.N, 10)}, {"created", e.Created}, {"sent", e.Sent}, {"nonce", e.Nonce},
		{"sealed", hex.EncodeToString(sum[:])},
	} {
		b.WriteString(kv[0] + " " + kv[1] + "\n")
	}
	return []byte(b.String())
}

// SealPayload encrypts a message's payload to the receiver's X25519 key,
// bound to the message's header. The outbox keeps the result: the sender
// cannot read it back.
func SealPayload(receiverEnc []byte, id string, from, to ed25519.PublicKey, kind, thread string, payload []byte) ([]byte, error) {
	return seal.SealTo(receiverEnc, sealInfo(id, b64.EncodeToString(from), b64.EncodeToString(to), kind, thread), payload)
}

// Signer signs envelopes as this node.
type Signer interface {
	PublicKey() ed25519.PublicKey
	Sign(msg []byte) []byte
}

// NewEnvelope makes a delivery attempt of a sealed message: it stamps the
// time of sending and a fresh nonce, and signs. Every attempt is signed
// anew, so a receiver can tell a retry (new nonce, same id: acknowledged,
// not applied twice) from a replay of captured bytes (a nonce seen before,
// or a stale time: refused).
func NewEnvelope(s Signer, to ed25519.PublicKey, id, kind, thread string, n int64, created, sent time.Time, sealed []byte) *Envelope {
	var nonce [16]byte
	rand.Read(nonce[:])
	e := &Envelope{
		V: Version, ID: id, From: b64.EncodeToString(s.PublicKey()), To: b64.EncodeToString(to),
		Kind: kind, Thread: thread, N: n,
		Created: created.UTC().Format(timeFormat), Sent: sent.UTC().Format(timeFormat),
		Nonce: b64.EncodeToString(nonce[:]), Sealed: b64.EncodeToString(sealed),
	}
	e.Sig = b64.EncodeToString(s.Sign(e.signedBytes(sealed)))
	return e
}

// Refusal reasons, as the receiver answers them and audits them.
const (
	ReasonMalformed     = "malformed"     // not a well-formed envelope
	ReasonVersion       = "version"       // a protocol version this node does not speak
	ReasonWrongNode     = "wrong_node"    // addressed to another node
	ReasonUnknownKey    = "unknown_key"   // signed by a key no peer has
	ReasonSuspended     = "suspended"     // the peer is suspended or removed
	ReasonBadSignature  = "bad_signature" // the signature does not verify: forged or altered
	ReasonStale         = "stale"         // sent too long ago, or in the future
	ReasonReplay        = "replay"        // these exact bytes were delivered before
	ReasonUndecryptable = "undecryptable" // the payload does not open with this node's key
	ReasonInvalid       = "invalid"       // the payload opened but is not acceptable
)

// refusal is a message refused for a reason.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string {
	if r.err != nil {
		return r.reason + ": " + r.err.Error()
	}
	return r.reason
}

func refuse(reason string, format string, args ...any) error {
	return &refusal{reason: reason, err: fmt.Errorf(format, args...)}
}

// reasonOf returns the refusal reason of err, or "" if err is not one.
func reasonOf(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}

// parsed is an envelope whose form has been checked and whose binary
// fields are decoded; its signature is not yet verified.
type parsed struct {
	*Envelope
	from, to      ed25519.PublicKey
	created, sent time.Time
	nonce, sealed []byte
	sig           []byte
}

// parse checks an envelope's form: every field present, in its one
// allowed shape, so the signed bytes are unambiguous.
func parse(e *Envelope) (*parsed, error) {
	if e.V != Version {
		return nil, refuse(ReasonVersion, "protocol version %d, want %d", e.V, Version)
	}
	p := &parsed{Envelope: e}
	var err error
	bad := func(field string) error { return refuse(ReasonMalformed, "field %q", field) }
	if !idPattern.MatchString(e.ID) {
		return nil, bad("id")
	}
	if p.from, err = decodeB64(e.From); err != nil || len(p.from) != ed25519.PublicKeySize {
		return nil, bad("from")
	}
	if p.to, err = decodeB64(e.To); err != nil || len(p.to) != ed25519.PublicKeySize {
		return nil, bad("to")
	}
	if !kinds[e.Kind] {
		return nil, bad("kind")
	}
	if !threadPattern.MatchString(e.Thread) {
		return nil, bad("thread")
	}
	if e.N < 1 {
		return nil, bad("n")
	}
	if p.created, err = time.Parse(timeFormat, e.Created); err != nil || p.created.Format(timeFormat) != e.Created {
		return nil, bad("created")
	}
	if p.sent, err = time.Parse(timeFormat, e.Sent); err != nil || p.sent.Format(timeFormat) != e.Sent {
		return nil, bad("sent")
	}
	if p.nonce, err = decodeB64(e.Nonce); err != nil || len(p.nonce) != 16 {
		return nil, bad("nonce")
	}
	if p.sealed, err = decodeB64(e.Sealed); err != nil || len(p.sealed) < 32+16 || len(p.sealed) > maxSealed {
		return nil, bad("sealed")
	}
	if p.sig, err = decodeB64(e.Sig); err != nil || len(p.sig) != ed25519.SignatureSize {
		return nil, bad("sig")
	}
	return p, nil
}

// decodeB64 decodes unpadded base64url, refusing every spelling of the
// bytes but the one EncodeToString gives: the decoder alone ignores CR
// and LF anywhere and the unused bits of the last character, and a field
// the signature covers as bytes must have one form only.
func decodeB64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(b) != s {
		return nil, errors.New("not canonical base64url")
	}
	return b, nil
}

// verify checks the signature with the sender's key.
func (p *parsed) verify() error {
	if !ed25519.Verify(p.from, p.signedBytes(p.sealed), p.sig) {
		return refuse(ReasonBadSignature, "signature does not verify")
	}
	return nil
}

// open decrypts the payload with this node's exchange key.
func (p *parsed) open(k *seal.ExchangeKey) ([]byte, error) {
	plain, err := k.Open(sealInfo(p.ID, p.Envelope.From, p.Envelope.To, p.Kind, p.Thread), p.sealed)
	if err != nil {
		return nil, refuse(ReasonUndecryptable, "%v", err)
	}
	return plain, nil
}
