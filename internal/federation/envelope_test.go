package federation

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/seal"
)

// ends are the two sides of an envelope, with keys only: no database.
type ends struct {
	sender   keySigner
	receiver keySigner
	ex       *seal.ExchangeKey
	third    keySigner
}

func newEnds(t *testing.T) ends {
	ex, err := seal.NewExchangeKey(randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	return ends{sender: newKeySigner(), receiver: newKeySigner(), ex: ex, third: newKeySigner()}
}

var (
	envCreated = time.Date(2026, 3, 2, 9, 30, 0, 125000000, time.UTC)
	envSent    = time.Date(2026, 3, 2, 9, 41, 17, 604211000, time.UTC)
	envPayload = []byte(`{"referral":"06a3lkvh4q8i2hb1o8mbbr0qt4","received":"2026-03-02T08:14:09.512344Z","category":"csam","age_band":"11-13","jurisdiction":"BE","basis":"hosting"}`)
)

const envThread = "06a3lkvh4q8i2hb1o8mbbr0qt4"

// envelope seals envPayload from e.sender to e.receiver and signs it.
func (e ends) envelope(t *testing.T, id, kind, thread string, n int64) *Envelope {
	t.Helper()
	sealed, err := SealPayload(e.ex.Public(), id, e.sender.PublicKey(), e.receiver.PublicKey(), kind, thread, envPayload)
	if err != nil {
		t.Fatal(err)
	}
	return NewEnvelope(e.sender, e.receiver.PublicKey(), id, kind, thread, n, envCreated, envSent, sealed)
}

// check parses, verifies and opens an envelope as a receiver would,
// after a JSON round trip, and returns the refusal reason ("" if none).
func (e ends) check(t *testing.T, env *Envelope) (string, []byte) {
	t.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var got Envelope
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	p, err := parse(&got)
	if err != nil {
		return reasonOf(err), nil
	}
	if err := p.verify(); err != nil {
		return reasonOf(err), nil
	}
	plain, err := p.open(e.ex)
	if err != nil {
		return reasonOf(err), nil
	}
	return "", plain
}

func TestEnvelopeRoundTrip(t *testing.T) {
	e := newEnds(t)
	id := canopy.NewID()
	env := e.envelope(t, id, KindReferral, envThread, 7)
	reason, plain := e.check(t, env)
	if reason != "" || !bytes.Equal(plain, envPayload) {
		t.Fatalf("round trip: reason %q, payload %q", reason, plain)
	}
	p, _ := parse(env)
	if p.ID != id || p.Kind != KindReferral || p.Thread != envThread || p.N != 7 || !p.created.Equal(envCreated) || !p.sent.Equal(envSent) ||
		!bytes.Equal(p.from, e.sender.PublicKey()) || !bytes.Equal(p.to, e.receiver.PublicKey()) || len(p.nonce) != 16 {
		t.Errorf("parsed %+v", p)
	}
	// Every attempt has a new nonce, hence a new signature.
	again := e.envelope(t, id, KindReferral, envThread, 7)
	if again.Nonce == env.Nonce || again.Sig == env.Sig {
		t.Error("two attempts share a nonce or a signature")
	}
}

// TestEnvelopeAlterations changes one field of a genuine envelope at a
// time: each change is refused, for the reason the protocol gives.
func TestEnvelopeAlterations(t *testing.T) {
	e := newEnds(t)
	other := newKeySigner()
	otherKey := b64.EncodeToString(other.PublicKey())
	cases := []struct {
		name   string
		alter  func(env *Envelope)
		reason string
	}{
		{"v", func(env *Envelope) { env.V = 2 }, ReasonVersion},
		{"v 0", func(env *Envelope) { env.V = 0 }, ReasonVersion},
		{"id", func(env *Envelope) { env.ID = canopy.NewID() }, ReasonBadSignature},
		{"id not an id", func(env *Envelope) { env.ID = strings.ToUpper(env.ID) }, ReasonMalformed},
		{"from", func(env *Envelope) { env.From = otherKey }, ReasonBadSignature},
		{"from padded", func(env *Envelope) { env.From += "=" }, ReasonMalformed},
		{"from short", func(env *Envelope) { env.From = env.From[:42] }, ReasonMalformed},
		{"to", func(env *Envelope) { env.To = otherKey }, ReasonBadSignature},
		{"to in standard base64", func(env *Envelope) { env.To = strings.NewReplacer("-", "+", "_", "/").Replace(otherKey) + "+" }, ReasonMalformed},
		{"kind", func(env *Envelope) { env.Kind = KindStatus }, ReasonBadSignature},
		{"kind unknown", func(env *Envelope) { env.Kind = "Referral" }, ReasonMalformed},
		{"thread", func(env *Envelope) { env.Thread = canopy.NewID() }, ReasonBadSignature},
		{"thread not a thread", func(env *Envelope) { env.Thread += "\n" }, ReasonMalformed},
		{"n", func(env *Envelope) { env.N = 8 }, ReasonBadSignature},
		{"n 0", func(env *Envelope) { env.N = 0 }, ReasonMalformed},
		{"created", func(env *Envelope) { env.Created = envCreated.Add(time.Microsecond).Format(timeFormat) }, ReasonBadSignature},
		{"created without fraction", func(env *Envelope) { env.Created = "2026-03-02T09:30:00Z" }, ReasonMalformed},
		{"sent", func(env *Envelope) { env.Sent = envSent.Add(-time.Second).Format(timeFormat) }, ReasonBadSignature},
		{"sent with an offset", func(env *Envelope) { env.Sent = "2026-03-02T09:41:17.604211+00:00" }, ReasonMalformed},
		{"nonce", func(env *Envelope) { env.Nonce = b64.EncodeToString(randomBytes(16)) }, ReasonBadSignature},
		{"nonce short", func(env *Envelope) { env.Nonce = b64.EncodeToString(randomBytes(15)) }, ReasonMalformed},
		{"sealed", func(env *Envelope) {
			b, _ := b64.DecodeString(env.Sealed)
			b[len(b)/2] ^= 1
			env.Sealed = b64.EncodeToString(b)
		}, ReasonBadSignature},
		{"sealed cut", func(env *Envelope) {
			b, _ := b64.DecodeString(env.Sealed)
			env.Sealed = b64.EncodeToString(b[:len(b)-1])
		}, ReasonBadSignature},
		{"sealed too short", func(env *Envelope) { env.Sealed = b64.EncodeToString(randomBytes(47)) }, ReasonMalformed},
		{"sealed not base64", func(env *Envelope) { env.Sealed = "*" + env.Sealed[1:] }, ReasonMalformed},
		{"sig", func(env *Envelope) {
			b, _ := b64.DecodeString(env.Sig)
			b[0] ^= 0x80
			env.Sig = b64.EncodeToString(b)
		}, ReasonBadSignature},
		{"sig of another key over the same bytes", func(env *Envelope) {
			p, _ := parse(env)
			env.Sig = b64.EncodeToString(other.Sign(p.signedBytes(p.sealed)))
		}, ReasonBadSignature},
		{"sig short", func(env *Envelope) { env.Sig = env.Sig[:85] }, ReasonMalformed},
		// base64url has one spelling of each byte string only if the
		// unused low bits of the last character are zero: decoders that
		// ignore them give the same bytes for several strings.
		{"sig with a non-zero padding bit", func(env *Envelope) { env.Sig = flipPaddingBit(env.Sig) }, ReasonMalformed},
		{"sealed with a non-zero padding bit", func(env *Envelope) { env.Sealed = flipPaddingBit(env.Sealed) }, ReasonMalformed},
		{"nonce with a non-zero padding bit", func(env *Envelope) { env.Nonce = flipPaddingBit(env.Nonce) }, ReasonMalformed},
		{"from with a non-zero padding bit", func(env *Envelope) { env.From = flipPaddingBit(env.From) }, ReasonMalformed},
		// Go's decoder also skips CR and LF anywhere in its input.
		{"sig with a line break", func(env *Envelope) { env.Sig = env.Sig[:40] + "\r\n" + env.Sig[40:] }, ReasonMalformed},
		{"sealed with a line break", func(env *Envelope) { env.Sealed = env.Sealed[:76] + "\n" + env.Sealed[76:] }, ReasonMalformed},
		{"nonce with a line break", func(env *Envelope) { env.Nonce += "\n" }, ReasonMalformed},
		{"sig empty", func(env *Envelope) { env.Sig = "" }, ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := e.envelope(t, canopy.NewID(), KindReferral, envThread, 7)
			c.alter(env)
			if reason, _ := e.check(t, env); reason != c.reason {
				t.Errorf("refused as %q, want %q", reason, c.reason)
			}
		})
	}
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipPaddingBit sets the lowest bit of the last character of unpadded
// base64url whose length leaves bits unused, which no decoded byte holds.
func flipPaddingBit(s string) string {
	if len(s)%4 != 2 && len(s)%4 != 3 {
		panic("flipPaddingBit: no unused bits in " + s)
	}
	i := strings.IndexByte(b64Alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(b64Alphabet[i^1])
}

// TestEnvelopeEveryCharacter replaces each character of each field of a
// genuine envelope, one at a time, by another of the same alphabet: no
// such envelope may pass. Each field has one accepted shape, so a change
// to its text is a change to the message.
func TestEnvelopeEveryCharacter(t *testing.T) {
	e := newEnds(t)
	env := e.envelope(t, canopy.NewID(), KindReferral, envThread, 7)
	fields := reflect.ValueOf(env).Elem()
	for i := range fields.NumField() {
		f := fields.Type().Field(i)
		if f.Type.Kind() != reflect.String {
			continue
		}
		orig := fields.Field(i).String()
		passed := 0
		for pos := range len(orig) {
			// Two others: one that differs in the lowest bit (the one a
			// last character never uses when bits are left over), one in
			// a high bit. ':', '.' and the like in times become letters.
			k := max(0, strings.IndexByte(b64Alphabet, orig[pos]))
			for _, c := range []byte{b64Alphabet[k^1], b64Alphabet[(k+32)%64]} {
				if c == orig[pos] {
					continue
				}
				altered := *env
				s := []byte(orig)
				s[pos] = c
				reflect.ValueOf(&altered).Elem().Field(i).SetString(string(s))
				if reason, _ := e.check(t, &altered); reason == "" {
					passed++
					if passed <= 3 {
						t.Errorf("%s altered at %d (%q for %q) still passes", f.Name, pos, c, orig[pos])
					}
				}
			}
		}
		if passed > 3 {
			t.Errorf("%s: %d alterations in all still pass", f.Name, passed)
		}
	}
}

// TestSealBinding moves a sealed payload into an envelope with another
// id, kind, thread, sender or receiver, signed properly by whoever claims
// to send it: the signature verifies, but the payload no longer opens.
func TestSealBinding(t *testing.T) {
	e := newEnds(t)
	id := canopy.NewID()
	genuine := e.envelope(t, id, KindReferral, envThread, 1)
	sealed, _ := b64.DecodeString(genuine.Sealed)
	cases := []struct {
		name   string
		signer Signer
		to     ed25519.PublicKey
		id     string
		kind   string
		thread string
	}{
		{"genuine, signed again", e.sender, e.receiver.PublicKey(), id, KindReferral, envThread},
		{"another id", e.sender, e.receiver.PublicKey(), canopy.NewID(), KindReferral, envThread},
		{"another kind", e.sender, e.receiver.PublicKey(), id, KindStatus, envThread},
		{"another thread", e.sender, e.receiver.PublicKey(), id, KindReferral, canopy.NewID()},
		{"another sender claims it", e.third, e.receiver.PublicKey(), id, KindReferral, envThread},
		{"addressed to another node", e.sender, e.third.PublicKey(), id, KindReferral, envThread},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnvelope(c.signer, c.to, c.id, c.kind, c.thread, 1, envCreated, envSent, sealed)
			p, err := parse(env)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.verify(); err != nil {
				t.Fatalf("the new envelope's signature: %v", err)
			}
			plain, err := p.open(e.ex)
			if c.name == "genuine, signed again" {
				if err != nil || !bytes.Equal(plain, envPayload) {
					t.Fatalf("a retry of the genuine message: %q, %v", plain, err)
				}
				return
			}
			if reasonOf(err) != ReasonUndecryptable || plain != nil {
				t.Errorf("opened: %q, %v; want refused as undecryptable", plain, err)
			}
		})
	}
}

// TestParseRejects gives parse envelopes that are wrong in shape only.
func TestParseRejects(t *testing.T) {
	e := newEnds(t)
	good := func() Envelope { return *e.envelope(t, canopy.NewID(), KindStatus, "bank/ncmec", 3) }
	cases := []struct {
		name   string
		field  string
		value  any
		reason string
	}{
		{"version 2", "V", 2, ReasonVersion},
		{"version -1", "V", -1, ReasonVersion},
		{"empty id", "ID", "", ReasonMalformed},
		{"id too long", "ID", canopy.NewID() + "0", ReasonMalformed},
		{"id with w", "ID", "w" + canopy.NewID()[1:], ReasonMalformed},
		{"from of 31 bytes", "From", b64.EncodeToString(randomBytes(31)), ReasonMalformed},
		{"from of 33 bytes", "From", b64.EncodeToString(randomBytes(33)), ReasonMalformed},
		{"from in hex", "From", strings.Repeat("ab", 32), ReasonMalformed},
		{"to of 64 bytes", "To", b64.EncodeToString(randomBytes(64)), ReasonMalformed},
		{"empty kind", "Kind", "", ReasonMalformed},
		{"unknown kind", "Kind", "referral_v2", ReasonMalformed},
		{"kind in capitals", "Kind", "STATUS", ReasonMalformed},
		{"empty thread", "Thread", "", ReasonMalformed},
		{"thread with a capital", "Thread", "Bank/ncmec", ReasonMalformed},
		{"thread with a space", "Thread", "bank/nc mec", ReasonMalformed},
		{"thread starting with /", "Thread", "/bank", ReasonMalformed},
		{"thread of 129 characters", "Thread", strings.Repeat("a", 129), ReasonMalformed},
		{"thread with a final newline", "Thread", "bank/ncmec\n", ReasonMalformed},
		{"n 0", "N", int64(0), ReasonMalformed},
		{"n negative", "N", int64(-1), ReasonMalformed},
		{"n most negative", "N", int64(-1 << 63), ReasonMalformed},
		{"created without microseconds", "Created", "2026-03-02T09:30:00Z", ReasonMalformed},
		{"created in milliseconds", "Created", "2026-03-02T09:30:00.125Z", ReasonMalformed},
		{"created with an offset", "Created", "2026-03-02T10:30:00.125000+01:00", ReasonMalformed},
		{"created in lower case", "Created", "2026-03-02t09:30:00.125000z", ReasonMalformed},
		{"created with a leap second", "Created", "2026-06-30T23:59:60.000000Z", ReasonMalformed},
		{"created on 30 February", "Created", "2026-02-30T09:30:00.000000Z", ReasonMalformed},
		{"created with a space", "Created", "2026-03-02 09:30:00.125000Z", ReasonMalformed},
		{"created with nanoseconds", "Created", "2026-03-02T09:30:00.125000000Z", ReasonMalformed},
		{"empty sent", "Sent", "", ReasonMalformed},
		{"sent as a number", "Sent", "1772444477", ReasonMalformed},
		{"nonce of 15 bytes", "Nonce", b64.EncodeToString(randomBytes(15)), ReasonMalformed},
		{"nonce of 17 bytes", "Nonce", b64.EncodeToString(randomBytes(17)), ReasonMalformed},
		{"nonce padded", "Nonce", b64.EncodeToString(randomBytes(16)) + "==", ReasonMalformed},
		{"empty sealed", "Sealed", "", ReasonMalformed},
		{"sealed of 47 bytes", "Sealed", b64.EncodeToString(randomBytes(47)), ReasonMalformed},
		{"sealed over 4 MiB", "Sealed", b64.EncodeToString(make([]byte, maxSealed+1)), ReasonMalformed},
		{"sig of 63 bytes", "Sig", b64.EncodeToString(randomBytes(63)), ReasonMalformed},
		{"sig of 65 bytes", "Sig", b64.EncodeToString(randomBytes(65)), ReasonMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := good()
			f := reflect.ValueOf(&env).Elem().FieldByName(c.field)
			f.Set(reflect.ValueOf(c.value).Convert(f.Type()))
			p, err := parse(&env)
			if p != nil || reasonOf(err) != c.reason {
				t.Errorf("parse = %v, %v; want refused as %s", p, err, c.reason)
			}
		})
	}
	// At the limits, parse accepts.
	for _, c := range []struct {
		field string
		value any
	}{
		{"Thread", strings.Repeat("a", 128)},
		{"Thread", "0"},
		{"N", int64(1<<63 - 1)},
		{"Sealed", b64.EncodeToString(make([]byte, maxSealed))},
		{"Sealed", b64.EncodeToString(make([]byte, 48))},
	} {
		env := good()
		f := reflect.ValueOf(&env).Elem().FieldByName(c.field)
		f.Set(reflect.ValueOf(c.value).Convert(f.Type()))
		if _, err := parse(&env); err != nil {
			t.Errorf("%s at its limit: %v", c.field, err)
		}
	}
}
