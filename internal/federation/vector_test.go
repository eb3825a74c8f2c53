package federation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/canopy-org/canopy/internal/seal"
)

// vector is testdata/vector.json, the test vector docs/federation.md
// offers implementers of other languages.
type vector struct {
	Comment               string   `json:"comment"`
	SenderSeed            string   `json:"sender_ed25519_seed"`
	SenderSigningKey      string   `json:"sender_signing_key"`
	ReceiverSeed          string   `json:"receiver_ed25519_seed"`
	ReceiverSigningKey    string   `json:"receiver_signing_key"`
	ReceiverExchange      string   `json:"receiver_x25519_private"`
	ReceiverEncryptionKey string   `json:"receiver_encryption_key"`
	Payload               string   `json:"payload"`
	SealInfo              string   `json:"seal_info"`
	SealedSHA256          string   `json:"sealed_sha256"`
	SignedBytes           string   `json:"signed_bytes"`
	Signature             string   `json:"signature"`
	Envelope              Envelope `json:"envelope"`
}

// The vector's expected values, spelled out here too, so that the file
// cannot be regenerated to match a change in the code unnoticed: a change
// to either string is a new protocol version.
const (
	wantSealInfo = "canopy-federation/1 seal\n" +
		"id 06a3ll2v1ekq0c5f8tq8rbd7ng\n" +
		"from 0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc\n" +
		"to oJql9HpnWYAv-VX43C0qFKXJnSO-l_hkEn_5ODRVpPA\n" +
		"kind referral\n" +
		"thread 06a3lkvh4q8i2hb1o8mbbr0qt4\n"
	wantSignedBytes = "canopy-federation/1 sign\n" +
		"v 1\n" +
		"id 06a3ll2v1ekq0c5f8tq8rbd7ng\n" +
		"from 0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc\n" +
		"to oJql9HpnWYAv-VX43C0qFKXJnSO-l_hkEn_5ODRVpPA\n" +
		"kind referral\n" +
		"thread 06a3lkvh4q8i2hb1o8mbbr0qt4\n" +
		"n 1\n" +
		"created 2026-03-02T09:30:00.125000Z\n" +
		"sent 2026-03-02T09:41:17.604211Z\n" +
		"nonce 2XAeyMFE8_UWzEoyg_90Aw\n" +
		"sealed 01868d3f12851f054f429239aec33df400825d774f5517ee39750a2904100540\n"
	wantSignature = "9vtJrU5lLYisl1gdKUQTyD8HA-W_bPmyw40SfcJt-tCTb3jRlnILahRmqkjlmWMirE5Jn_Huz-IyfrCXjZpuDA"
)

func readVector(t testing.TB) *vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vector.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("testdata/vector.json: %v", err)
	}
	return &v
}

func hexKey(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("key %q: %v", s, err)
	}
	return b
}

func TestVector(t *testing.T) {
	v := readVector(t)
	sender := ed25519.NewKeyFromSeed(hexKey(t, v.SenderSeed))
	receiver := ed25519.NewKeyFromSeed(hexKey(t, v.ReceiverSeed))
	ex, err := seal.NewExchangeKey(hexKey(t, v.ReceiverExchange))
	if err != nil {
		t.Fatal(err)
	}
	// The keys are the documented ones: seeds 0x11 and 0x22, scalar 0x33.
	for _, c := range []struct{ name, seed, want string }{
		{"sender seed", v.SenderSeed, "11"}, {"receiver seed", v.ReceiverSeed, "22"}, {"receiver X25519 scalar", v.ReceiverExchange, "33"},
	} {
		if c.seed != string(bytes.Repeat([]byte(c.want), 32)) {
			t.Errorf("%s = %s, want 32 bytes 0x%s", c.name, c.seed, c.want)
		}
	}
	keys := []struct{ name, got, want string }{
		{"sender signing key", b64.EncodeToString(sender.Public().(ed25519.PublicKey)), v.SenderSigningKey},
		{"receiver signing key", b64.EncodeToString(receiver.Public().(ed25519.PublicKey)), v.ReceiverSigningKey},
		{"receiver encryption key", b64.EncodeToString(ex.Public()), v.ReceiverEncryptionKey},
		{"envelope from", v.Envelope.From, v.SenderSigningKey},
		{"envelope to", v.Envelope.To, v.ReceiverSigningKey},
	}
	for _, k := range keys {
		if k.got != k.want {
			t.Errorf("%s = %s, want %s", k.name, k.got, k.want)
		}
	}

	e := &v.Envelope
	p, err := parse(e)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	info := string(sealInfo(e.ID, e.From, e.To, e.Kind, e.Thread))
	if info != wantSealInfo || v.SealInfo != wantSealInfo {
		t.Errorf("seal info:\n%q\nfile:\n%q\nwant:\n%q", info, v.SealInfo, wantSealInfo)
	}
	sum := sha256.Sum256(p.sealed)
	if hex.EncodeToString(sum[:]) != v.SealedSHA256 {
		t.Errorf("SHA-256 of the sealed bytes = %x, file says %s", sum, v.SealedSHA256)
	}
	signed := string(p.signedBytes(p.sealed))
	if signed != wantSignedBytes || v.SignedBytes != wantSignedBytes {
		t.Errorf("signed bytes:\n%q\nfile:\n%q\nwant:\n%q", signed, v.SignedBytes, wantSignedBytes)
	}
	sig := b64.EncodeToString(ed25519.Sign(sender, []byte(wantSignedBytes)))
	if sig != wantSignature || v.Signature != wantSignature || e.Sig != wantSignature {
		t.Errorf("signature = %s, file %s, envelope %s; want %s", sig, v.Signature, e.Sig, wantSignature)
	}
	if err := p.verify(); err != nil {
		t.Errorf("verify: %v", err)
	}
	plain, err := p.open(ex)
	if err != nil || string(plain) != v.Payload {
		t.Errorf("open = %q, %v; want %q", plain, err, v.Payload)
	}
	var payload ReferralPayload
	if err := decode(plain, &payload); err != nil || payload.check(e.Thread) != nil {
		t.Errorf("the vector's payload is not a valid referral: %+v, %v", payload, err)
	}
}
