package federation

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the generated seeds in testdata/fuzz")

var reasons = []string{ReasonMalformed, ReasonVersion, ReasonWrongNode, ReasonUnknownKey, ReasonSuspended, ReasonBadSignature,
	ReasonStale, ReasonReplay, ReasonUndecryptable, ReasonInvalid}

// FuzzParseBatch feeds arbitrary bodies to the inbox's parser, then
// parses and verifies each envelope it finds, as Receive does before it
// touches the database: nothing may panic, every failure is a refusal
// with a reason, and an envelope that parses has exactly one spelling,
// whose signed bytes are the documented twelve lines.
func FuzzParseBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseBatch(body)
		if err != nil {
			if b != nil {
				t.Fatal("ParseBatch returned a batch and an error")
			}
			return
		}
		if n := len(b.Messages); n < 1 || n > MaxBatch {
			t.Fatalf("ParseBatch accepted %d messages", n)
		}
		for _, e := range b.Messages {
			if e == nil {
				continue
			}
			p, err := parse(e)
			if err != nil {
				if r := reasonOf(err); r != ReasonMalformed && r != ReasonVersion {
					t.Fatalf("parse refused for %q: %v", r, err)
				}
				continue
			}
			checkShape(t, p)
			if err := p.verify(); err != nil && reasonOf(err) != ReasonBadSignature {
				t.Fatalf("verify refused for %q: %v", reasonOf(err), err)
			}
		}
	})
}

// checkShape checks what parse promises of an envelope it accepts.
func checkShape(t *testing.T, p *parsed) {
	t.Helper()
	for _, f := range []struct {
		name, text string
		bytes      []byte
	}{{"from", p.Envelope.From, p.from}, {"to", p.Envelope.To, p.to}, {"nonce", p.Nonce, p.nonce}, {"sealed", p.Sealed, p.sealed}, {"sig", p.Sig, p.sig}} {
		if b64.EncodeToString(f.bytes) != f.text {
			t.Fatalf("%s %q accepted, but its bytes are spelled %q", f.name, f.text, b64.EncodeToString(f.bytes))
		}
	}
	signed := p.signedBytes(p.sealed)
	if !bytes.HasPrefix(signed, []byte("canopy-federation/1 sign\n")) || bytes.Count(signed, []byte("\n")) != 12 || !bytes.HasSuffix(signed, []byte("\n")) {
		t.Fatalf("signed bytes are not twelve lines:\n%s", signed)
	}
	if info := sealInfo(p.ID, p.Envelope.From, p.Envelope.To, p.Kind, p.Thread); bytes.Count(info, []byte("\n")) != 6 {
		t.Fatalf("seal info is not six lines:\n%s", info)
	}
	// The envelope survives a trip through JSON unchanged.
	j, err := json.Marshal(p.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	var again Envelope
	if err := json.Unmarshal(j, &again); err != nil {
		t.Fatal(err)
	}
	p2, err := parse(&again)
	if err != nil || !bytes.Equal(p2.signedBytes(p2.sealed), signed) {
		t.Fatalf("after a JSON round trip: %v", err)
	}
}

// fuzzReceiver is the node FuzzReceive delivers to: be of the test
// vector (Ed25519 seed 0x22, X25519 scalar 0x33) on SQLite, with fr (seed
// 0x11) as its peer, a bank shared with fr, a referral be made to fr, and
// a subscription to fr's bank; its clock stands at the vector's sending
// time.
type fuzzReceiver struct {
	be    *node
	fr    keySigner
	clock *testClock
}

const (
	fuzzReferral = "06a3lm0k9c2s4e6g8i0k2m4o6q" // be's referral to fr: statuses on it apply
	fuzzTemplate = "06a3lm2a4c6e8g0i2k4m6o8q0s" // the seed referral's id, and its message's
	fuzzInbound  = "06a3lm1m3o5q7s9u1b3d5f7h9j" // fr's referral to be: a withdrawal of it applies
)

func fuzzSeed(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newFuzzReceiver(tb testing.TB) *fuzzReceiver {
	tb.Helper()
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 2, 9, 41, 17, 604211000, time.UTC)}
	be := newNodeWithKeys(tb, storetest.Open(tb, store.SQLite), "hotline-be", clock.Now, fuzzSeed(0x22), fuzzSeed(0x33))
	fr := keySigner(ed25519.NewKeyFromSeed(fuzzSeed(0x11)))
	frEx, err := seal.NewExchangeKey(fuzzSeed(0x44))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := be.svc.AddPeer(ctx, audit.System, canopy.Peer{ID: "fr", URL: "https://fr.example", SigningKey: fr.PublicKey(),
		EncryptionKey: frEx.Public(), Banks: []string{"ncmec"}}); err != nil {
		tb.Fatal(err)
	}
	if _, err := be.banks.Create(ctx, audit.System, canopy.Bank{Name: "ncmec"}); err != nil {
		tb.Fatal(err)
	}
	if _, err := be.banks.Change(ctx, audit.System, "ncmec", canopy.BankAdd, []canopy.BankEntry{{Algorithm: "md5", Value: md5Hash}}); err != nil {
		tb.Fatal(err)
	}
	rc := be.submit(nil)
	if err := be.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutReferral(&store.Referral{PeerID: "fr", ID: fuzzReferral, Outbound: true, ReportID: rc.ReportID, Created: clock.Now()})
	}); err != nil {
		tb.Fatal(err)
	}
	referred := be.submit(nil)
	if err := be.db.Update(ctx, func(tx *store.Tx) error {
		return tx.PutReferral(&store.Referral{PeerID: "fr", ID: fuzzInbound, ReportID: referred.ReportID, Created: clock.Now(),
			Status: canopy.ReferralReceived, StatusAt: clock.Now()})
	}); err != nil {
		tb.Fatal(err)
	}
	if _, err := be.svc.Subscribe(ctx, audit.System, "fr", "hashes"); err != nil {
		tb.Fatal(err)
	}
	return &fuzzReceiver{be: be, fr: fr, clock: clock}
}

// reseal makes e a genuine message from fr to be carrying payload, keeping
// its id, kind, thread, n and creation time.
func (r *fuzzReceiver) reseal(p *parsed, payload []byte) *Envelope {
	sealed, err := SealPayload(r.be.ex.Public(), p.ID, r.fr.PublicKey(), r.be.id.PublicKey(), p.Kind, p.Thread, payload)
	if err != nil {
		panic(err)
	}
	return NewEnvelope(r.fr, r.be.id.PublicKey(), p.ID, p.Kind, p.Thread, p.N, p.created, r.clock.Now(), sealed)
}

// FuzzReceive delivers arbitrary batches to a node on a real SQLite
// database. With reseal, each envelope that parses is first made genuine
// (sealed to the node, signed by its peer) around the fuzzed payload, so
// that payloads reach validation and the database. Receive must never
// panic, and, the database being sound, never fail the delivery: every
// message gets a result of its own, and only genuine ones are taken.
func FuzzReceive(f *testing.F) {
	r := newFuzzReceiver(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body, payload []byte, reseal bool) {
		b, err := ParseBatch(body)
		if err != nil {
			return
		}
		if reseal {
			for i, e := range b.Messages {
				if e == nil {
					continue
				}
				if p, err := parse(e); err == nil {
					b.Messages[i] = r.reseal(p, payload)
				}
			}
		}
		results, err := r.be.svc.Receive(ctx, b.Messages)
		if err != nil {
			t.Fatalf("Receive failed the delivery: %v", err)
		}
		if len(results) != len(b.Messages) {
			t.Fatalf("%d results for %d messages", len(results), len(b.Messages))
		}
		for i, res := range results {
			e := b.Messages[i]
			if e != nil && res.ID != e.ID {
				t.Fatalf("result %d is for %q, the message is %q", i, res.ID, e.ID)
			}
			switch res.Status {
			case StatusAccepted, StatusDuplicate:
				p, err := parse(e)
				if err != nil || p.verify() != nil || !bytes.Equal(p.from, r.fr.PublicKey()) || res.Reason != "" {
					t.Fatalf("took a message that is not fr's: %+v (%v)", res, err)
				}
			case StatusRetry:
				if res.Reason != ReasonOutOfOrder || res.Next < 1 {
					t.Fatalf("retry %+v", res)
				}
			case StatusRefused:
				if !slices.Contains(reasons, res.Reason) {
					t.Fatalf("refused for %q", res.Reason)
				}
			default:
				t.Fatalf("status %q", res.Status)
			}
		}
	})
}

// TestGenuineSeeds checks that the seeds meant to be taken still are, so
// the fuzzers keep starting from messages that reach the deep code.
func TestGenuineSeeds(t *testing.T) {
	v := readVector(t)
	body, err := json.Marshal(Batch{Messages: []*Envelope{&v.Envelope}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"FuzzParseBatch", "FuzzReceive"} {
		got := readSeed(t, name, "seed-genuine")
		if !bytes.Equal(got[0], body) {
			t.Errorf("%s/seed-genuine is not the test vector's envelope in a batch", name)
		}
	}
	r := newFuzzReceiver(t)
	ctx := context.Background()
	for _, c := range []struct{ seed, want string }{
		{"seed-genuine", StatusAccepted},
		{"seed-referral", StatusAccepted},
		{"seed-status", StatusAccepted},
		{"seed-subscribe", StatusAccepted},
		{"seed-bank-changes", StatusAccepted},
		{"seed-withdrawal", StatusAccepted},
	} {
		t.Run(c.seed, func(t *testing.T) {
			args := readSeed(t, "FuzzReceive", c.seed)
			b, err := ParseBatch(args[0])
			if err != nil {
				t.Fatal(err)
			}
			if string(args[2]) == "true" {
				p, err := parse(b.Messages[0])
				if err != nil {
					t.Fatal(err)
				}
				b.Messages[0] = r.reseal(p, args[1])
			}
			rs, err := r.be.svc.Receive(ctx, b.Messages)
			if err != nil || rs[0].Status != c.want {
				t.Errorf("Receive = %+v, %v; want %s", rs, err, c.want)
			}
		})
	}
}

// readSeed reads a corpus file: its values, the bool as "true"/"false".
func readSeed(t *testing.T, fuzzer, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", fuzzer, name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "go test fuzz v1" {
		t.Fatalf("%s/%s: not a corpus file", fuzzer, name)
	}
	var out [][]byte
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "[]byte(") && strings.HasSuffix(l, ")"):
			s, err := strconv.Unquote(l[len("[]byte(") : len(l)-1])
			if err != nil {
				t.Fatalf("%s/%s: %v", fuzzer, name, err)
			}
			out = append(out, []byte(s))
		case strings.HasPrefix(l, "bool("):
			out = append(out, []byte(strings.TrimSuffix(strings.TrimPrefix(l, "bool("), ")")))
		default:
			t.Fatalf("%s/%s: line %q", fuzzer, name, l)
		}
	}
	return out
}

// TestFuzzSeeds writes the seed corpora of FuzzParseBatch and FuzzReceive
// when run with -update-seeds: the test vector's genuine batch, message
// templates of each kind with valid payloads (for FuzzReceive to reseal),
// and bodies broken in the ways a peer or an attacker might break them.
// Files whose names do not start with "seed-" are crashers the fuzzer
// found, kept as regressions.
func TestFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the seed corpora")
	}
	v := readVector(t)
	genuine, _ := json.Marshal(Batch{Messages: []*Envelope{&v.Envelope}})
	at := time.Date(2026, 3, 2, 9, 41, 17, 604211000, time.UTC)
	// A template: well-formed, signed by a stranger; FuzzReceive reseals it.
	ids := map[string]string{KindReferral: fuzzTemplate, KindStatus: "06a3lm3b5d7f9h1j3l5n7p9r1t",
		KindSubscribe: "06a3lm4c6e8g0i2k4m6o8q0s2u", KindBankChanges: "06a3lm5d7f9h1j3l5n7p9r1t3v", KindWithdrawal: "06a3lm6e8g0i2k4m6o8q0s2u4v"}
	template := func(kind, thread string, n int64) []byte {
		s := keySigner(ed25519.NewKeyFromSeed(fuzzSeed(0x55)))
		e := NewEnvelope(s, ed25519.NewKeyFromSeed(fuzzSeed(0x22)).Public().(ed25519.PublicKey), ids[kind], kind, thread, n, at, at, make([]byte, 64))
		b, _ := json.Marshal(Batch{Messages: []*Envelope{e}})
		return b
	}
	env := string(genuine[len(`{"messages":[`) : len(genuine)-2])
	withField := func(field, value string) []byte {
		return []byte(`{"messages":[` + strings.Replace(env, `"`+field+`":`, `"`+field+`":`+value+`,"x`+field+`":`, 1) + `]}`)
	}
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	many := `{"messages":[` + strings.TrimSuffix(strings.Repeat(`{},`, MaxBatch+1), ",") + `]}`
	broken := map[string][]byte{
		"seed-genuine":         genuine,
		"seed-two":             []byte(`{"messages":[` + env + `,` + env + `]}`),
		"seed-truncated":       genuine[:len(genuine)/2],
		"seed-truncated-end":   genuine[:len(genuine)-1],
		"seed-empty":           []byte(`{"messages":[]}`),
		"seed-null":            []byte(`{"messages":[null]}`),
		"seed-not-objects":     []byte(`{"messages":[1,"x",[],true]}`),
		"seed-no-messages":     []byte(`{}`),
		"seed-trailing":        append(slices.Clone(genuine), `{}`...),
		"seed-huge-n":          withField("n", "9223372036854775807"),
		"seed-n-overflow":      withField("n", "18446744073709551616"),
		"seed-n-float":         withField("n", "1e3"),
		"seed-n-negative-zero": withField("n", "-0"),
		"seed-v-string":        withField("v", `"1"`),
		"seed-id-number":       withField("id", "12345"),
		"seed-sig-null":        withField("sig", "null"),
		"seed-deep-nesting":    []byte(`{"messages":[` + deep + `]}`),
		"seed-deep-field":      withField("sealed", deep),
		"seed-duplicate-keys":  []byte(`{"messages":[` + strings.Replace(env, `"id":`, `"id":"06a3ll2v1ekq0c5f8tq8rbd7nh","id":`, 1) + `]}`),
		"seed-case-keys":       []byte(`{"messages":[` + strings.NewReplacer(`"sig":`, `"SIG":`, `"from":`, `"From":`).Replace(env) + `]}`),
		"seed-invalid-utf8":    []byte(`{"messages":[` + strings.Replace(env, `"kind":"referral"`, "\"kind\":\"refer\xffral\"", 1) + `]}`),
		"seed-too-many":        []byte(many),
		// The genuine envelope respelled: the same bytes, another text.
		// Both must be refused as malformed (each field has one spelling).
		"seed-sig-line-break":  []byte(`{"messages":[` + strings.Replace(env, `"sig":"`, `"sig":"\r\n`, 1) + `]}`),
		"seed-sig-padding-bit": []byte(`{"messages":[` + strings.Replace(env, v.Envelope.Sig, flipPaddingBit(v.Envelope.Sig), 1) + `]}`),
	}
	write := func(fuzzer, name string, values ...any) {
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range values {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range broken {
		write("FuzzParseBatch", name, body)
		write("FuzzReceive", name, body, []byte{}, false)
	}
	referral, _ := json.Marshal(ReferralPayload{Referral: fuzzTemplate, Received: "2026-03-02T08:14:09.512344Z", Category: "csam",
		Flags: []string{"urgent"}, Imagery: "baseline", AgeBand: "7-10", Jurisdiction: "BE", Basis: canopy.BasisHosting,
		Hashes:      []canopy.ContentHash{{Algorithm: "pdq", Value: pdqHash}, {Algorithm: "photodna", Value: "AAEC/wID"}},
		Description: "what the reporter said", URLs: []string{"https://be-host.example/gallery/1"}, Platform: "ExampleShare",
		Accounts: []string{"@uploader"}, ChildCountry: "FR", Reporter: "caregiver", Language: "fr"})
	status, _ := json.Marshal(StatusPayload{Referral: fuzzReferral, Status: canopy.ReferralRejected, At: "2026-03-03T14:02:51.000412Z",
		Reason: "Host is in NL, not BE; please refer there."})
	changes, _ := json.Marshal(BankChangesPayload{Bank: "hashes", Changes: []BankChange{
		{Seq: 41, Op: "add", Algorithm: "pdq", Value: pdqHash, Quality: 92, Category: "csam", Labels: []string{"series-a"}},
		{Seq: 42, Op: "add", Algorithm: "md5", Value: md5Hash, Quality: -1},
		{Seq: 43, Op: "remove", Algorithm: "md5", Value: md5Hash, Quality: -1},
		{Seq: 44, Op: "add", Algorithm: "photodna", Value: "AAEC/wID", Quality: -1}}})
	withdrawal, _ := json.Marshal(WithdrawalPayload{Referral: fuzzInbound, Reason: canopy.WithdrawalConsent, At: "2026-03-02T09:40:00.000000Z",
		Fields: PersonalFields})
	write("FuzzReceive", "seed-referral", template(KindReferral, fuzzTemplate, 1), referral, true)
	write("FuzzReceive", "seed-withdrawal", template(KindWithdrawal, fuzzInbound, 1), withdrawal, true)
	write("FuzzReceive", "seed-status", template(KindStatus, fuzzReferral, 1), status, true)
	write("FuzzReceive", "seed-subscribe", template(KindSubscribe, "bank/ncmec", 1), []byte(`{"bank":"ncmec"}`), true)
	write("FuzzReceive", "seed-bank-changes", template(KindBankChanges, "bank/hashes", 1), changes, true)
	write("FuzzReceive", "seed-payload-trailing", template(KindSubscribe, "bank/ncmec", 1), []byte(`{"bank":"ncmec"} {}`), true)
	write("FuzzReceive", "seed-payload-duplicate-keys", template(KindSubscribe, "bank/ncmec", 1), []byte(`{"bank":"secret","bank":"ncmec"}`), true)
	write("FuzzReceive", "seed-payload-invalid-utf8", template(KindReferral, fuzzTemplate, 1), []byte("{\"referral\":\"06a3lm2a4c6e8g0i2k4m6o8q0s\",\"category\":\"\xff\"}"), true)
	write("FuzzReceive", "seed-payload-deep", template(KindStatus, fuzzReferral, 1), []byte(`{"reason":`+deep+`}`), true)
	write("FuzzReceive", "seed-payload-wrong-types", template(KindBankChanges, "bank/hashes", 1), []byte(`{"bank":"hashes","changes":[{"seq":"1","op":1,"quality":1e400}]}`), true)
	write("FuzzReceive", "seed-payload-huge-n", template(KindStatus, fuzzReferral, 9223372036854775807), status, true)
	write("FuzzReceive", "seed-payload-nul-label", template(KindBankChanges, "bank/hashes", 1),
		[]byte(`{"bank":"hashes","changes":[{"seq":1,"op":"add","algorithm":"md5","value":"`+md5Hash+`","labels":["a\u0000b"]}]}`), true)
}
