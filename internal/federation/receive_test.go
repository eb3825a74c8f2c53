package federation

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// pair is two nodes on databases of one dialect that know each other:
// fr refers reports to be, and be answers.
type pair struct {
	clock  *testClock
	fr, be *node
}

func newPair(t *testing.T, db *store.DB, frPeer, bePeer func(*canopy.Peer)) *pair {
	t.Helper()
	c := newClock()
	p := &pair{clock: c}
	p.fr = newNode(t, db, "hotline-fr", c.Now)
	p.be = newNode(t, storetest.Open(t, db.Dialect()), "hotline-be", c.Now)
	p.fr.addPeer("be", p.be, frPeer)
	p.be.addPeer("fr", p.fr, bePeer)
	return p
}

// validReferral is a referral payload be accepts from fr.
func validReferral(id string, at time.Time) ReferralPayload {
	return ReferralPayload{Referral: id, Received: at.Add(-time.Hour).Format(timeFormat), Category: "csam",
		Flags: []string{canopy.FlagUrgent}, Jurisdiction: "BE", Basis: canopy.BasisHosting,
		URLs: []string{"https://be-host.example/x"}, Hashes: []canopy.ContentHash{sha256ab}}
}

// TestReceiveReferral follows one referral from fr into be: accepted
// once, then a retry acknowledged as a duplicate, then captured bytes
// refused; and be's statuses back to fr, delivered out of order.
func TestReceiveReferral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		rc := fr.submit(nil)
		ref, err := fr.svc.Refer(ctx, analyst, rc.ReportID, "be")
		if err != nil {
			t.Fatal(err)
		}
		out := fr.outbox("be")
		if len(out) != 1 || out[0].Kind != KindReferral || out[0].Thread != ref.ID || out[0].N != 1 {
			t.Fatalf("fr's outbox = %+v, want the referral", out)
		}
		first := fr.envelope(out[0])

		// Accepted: a report of channel peer, with its events, the
		// referral recorded, and "received" on its way back.
		if r := be.receive(first); r.Status != StatusAccepted || r.ID != out[0].ID || r.Reason != "" {
			t.Fatalf("referral: %+v, want accepted", r)
		}
		in := be.referral("fr", ref.ID, false)
		if in == nil || in.Status != canopy.ReferralReceived || in.Outbound {
			t.Fatalf("be's referral = %+v", in)
		}
		sr, err := be.db.Report(ctx, in.ReportID)
		if err != nil || sr.Report.Channel != canopy.ChannelPeer || sr.Report.Category != "csam" {
			t.Fatalf("be's report = %+v, %v", sr, err)
		}
		want := []string{canopy.EventReceived, canopy.EventReferralReceived, "referral_status:out:received"}
		if got := be.timeline(in.ReportID); !slices.Equal(got, want) {
			t.Errorf("be's timeline = %v, want %v", got, want)
		}
		back := be.outbox("fr")
		if len(back) != 1 || back[0].Kind != KindStatus || back[0].Thread != ref.ID || back[0].N != 1 {
			t.Fatalf("be's outbox = %+v, want one status", back)
		}
		var st StatusPayload
		if err := json.Unmarshal(open(t, be, fr, back[0]), &st); err != nil || st.Referral != ref.ID || st.Status != canopy.ReferralReceived {
			t.Errorf("the status back = %+v, %v", st, err)
		}
		if n := be.audited(audit.ActionReferralReceive); n != 1 {
			t.Errorf("%d referral.receive entries, want 1", n)
		}

		// A retry (a new attempt, new nonce) is acknowledged and changes
		// nothing; the same bytes again are a replay.
		events := be.timeline(in.ReportID)
		if r := be.receive(fr.envelope(out[0])); r.Status != StatusDuplicate {
			t.Errorf("retry: %+v, want duplicate", r)
		}
		before := len(be.refusals(ReasonReplay))
		if r := be.receive(first); r.Status != StatusRefused || r.Reason != ReasonReplay {
			t.Errorf("replay: %+v, want refused as replay", r)
		}
		if n := len(be.refusals(ReasonReplay)); n != before+1 {
			t.Errorf("the replay was not audited")
		}
		if be.count() != 1 || len(be.outbox("fr")) != 1 || !slices.Equal(be.timeline(in.ReportID), events) || be.audited(audit.ActionReferralReceive) != 1 {
			t.Errorf("a duplicate or a replay changed something: %d reports, %d outgoing, timeline %v", be.count(), len(be.outbox("fr")), be.timeline(in.ReportID))
		}

		// be's analyst accepts it: fr gets n=2 of a thread it has not
		// started, is told to wait for 1, then takes both in order.
		if err := be.svc.SendStatus(ctx, analyst, in.ReportID, canopy.ReferralAccepted, ""); err != nil {
			t.Fatal(err)
		}
		back = be.outbox("fr")
		if len(back) != 2 || back[1].N != 2 {
			t.Fatalf("be's outbox = %+v", back)
		}
		if r := fr.receive(be.envelope(back[1])); r.Status != StatusRetry || r.Reason != ReasonOutOfOrder || r.Next != 1 {
			t.Errorf("n=2 first: %+v, want retry out_of_order next 1", r)
		}
		if got := fr.referral("be", ref.ID, true); got.Status != "" {
			t.Errorf("after n=2 alone, fr's referral status = %q", got.Status)
		}
		for _, m := range back {
			if r := fr.receive(be.envelope(m)); r.Status != StatusAccepted {
				t.Errorf("n=%d in turn: %+v", m.N, r)
			}
		}
		want = []string{canopy.EventReceived, canopy.EventReferred, "referral_status:in:received", "referral_status:in:accepted"}
		if got := fr.timeline(rc.ReportID); !slices.Equal(got, want) {
			t.Errorf("fr's timeline = %v, want %v", got, want)
		}
		if got := fr.referral("be", ref.ID, true); got.Status != canopy.ReferralAccepted {
			t.Errorf("fr's referral status = %q, want accepted", got.Status)
		}
	})
}

// TestReceiveRefusals sends be messages it must refuse, each leaving
// nothing behind but an audit entry with the reason.
func TestReceiveRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, func(peer *canopy.Peer) { peer.Banks = []string{"shared", "ghost"} })
		fr, be := p.fr, p.be
		for _, name := range []string{"shared", "secret"} {
			if _, err := be.banks.Create(ctx, audit.System, canopy.Bank{Name: name}); err != nil {
				t.Fatal(err)
			}
		}
		stranger := newKeySigner()
		now := p.clock.Now()
		referral := func(change func(*ReferralPayload)) func() *Envelope {
			return func() *Envelope {
				id := canopy.NewID()
				r := validReferral(id, now)
				if change != nil {
					change(&r)
				}
				return craft(t, fr.id, be, KindReferral, id, 1, r, now)
			}
		}
		raw := func(kind, thread string, payload []byte) func() *Envelope {
			return func() *Envelope { return craft(t, fr.id, be, kind, thread, 1, payload, now) }
		}
		cases := []struct {
			name   string
			setup  func() // before the message is made
			make   func() *Envelope
			reason string
		}{
			{name: "a status for a referral be never made", make: func() *Envelope {
				id := canopy.NewID()
				return craft(t, fr.id, be, KindStatus, id, 1, StatusPayload{Referral: id, Status: canopy.ReferralAccepted, At: now.Format(timeFormat)}, now)
			}, reason: ReasonInvalid},
			{name: "a status for fr's own referral, the wrong way", make: func() *Envelope {
				// A referral fr made to be is inbound at be: a status on
				// it is not be's to receive.
				rc := fr.submit(nil)
				ref, err := fr.svc.Refer(ctx, analyst, rc.ReportID, "be")
				if err != nil {
					t.Fatal(err)
				}
				pump(t, fr, "be", be)
				return craft(t, fr.id, be, KindStatus, ref.ID, 2, StatusPayload{Referral: ref.ID, Status: canopy.ReferralAccepted, At: now.Format(timeFormat)}, now)
			}, reason: ReasonInvalid},
			{name: "a rejection without a reason", make: func() *Envelope {
				id := canopy.NewID()
				return craft(t, fr.id, be, KindStatus, id, 1, StatusPayload{Referral: id, Status: canopy.ReferralRejected, At: now.Format(timeFormat)}, now)
			}, reason: ReasonInvalid},
			{name: "a subscription to a bank not shared with fr", make: raw(KindSubscribe, "bank/secret", []byte(`{"bank":"secret"}`)), reason: ReasonInvalid},
			{name: "a subscription to a shared bank that does not exist", make: raw(KindSubscribe, "bank/ghost", []byte(`{"bank":"ghost"}`)), reason: ReasonInvalid},
			{name: "a subscription naming another bank than its thread", make: raw(KindSubscribe, "bank/secret", []byte(`{"bank":"shared"}`)), reason: ReasonInvalid},
			{name: "bank changes be never asked for", make: raw(KindBankChanges, "bank/shared",
				[]byte(`{"bank":"shared","changes":[{"seq":1,"op":"add","algorithm":"md5","value":"d41d8cd98f00b204e9800998ecf8427e"}]}`)), reason: ReasonInvalid},
			{name: "a referral with a bad hash", make: referral(func(r *ReferralPayload) {
				r.Hashes = []canopy.ContentHash{{Algorithm: "sha256", Value: "abc"}}
			}), reason: ReasonInvalid},
			{name: "a referral with a hash of the wrong length", make: referral(func(r *ReferralPayload) {
				r.Hashes = []canopy.ContentHash{{Algorithm: "md5", Value: strings.Repeat("a", 31)}}
			}), reason: ReasonInvalid},
			{name: "a referral with a duplicate flag", make: referral(func(r *ReferralPayload) { r.Flags = []string{"urgent", "urgent"} }), reason: ReasonInvalid},
			{name: "a referral with an unparsable time", make: referral(func(r *ReferralPayload) { r.Received = "yesterday" }), reason: ReasonInvalid},
			{name: "a referral with a javascript: address", make: referral(func(r *ReferralPayload) { r.URLs = []string{"javascript:alert(1)"} }), reason: ReasonInvalid},
			{name: "a referral with a control character", make: referral(func(r *ReferralPayload) { r.Description = "a\x00b" }), reason: ReasonInvalid},
			{name: "a referral with an unknown country", make: referral(func(r *ReferralPayload) { r.ChildCountry = "XX" }), reason: ReasonInvalid},
			{name: "a referral whose id is not its thread", make: func() *Envelope {
				r := validReferral(canopy.NewID(), now)
				return craft(t, fr.id, be, KindReferral, canopy.NewID(), 1, r, now)
			}, reason: ReasonInvalid},
			{name: "a payload that is not JSON", make: raw(KindReferral, canopy.NewID(), []byte(`referral, please`)), reason: ReasonInvalid},
			{name: "a payload with data after it", make: func() *Envelope {
				id := canopy.NewID()
				b, _ := json.Marshal(validReferral(id, now))
				return craft(t, fr.id, be, KindReferral, id, 1, append(b, []byte(` {}`)...), now)
			}, reason: ReasonInvalid},
			{name: "a payload that is not UTF-8", make: raw(KindSubscribe, "bank/shared", []byte("{\"bank\":\"shared\",\"x\":\"\xff\"}")), reason: ReasonInvalid},
			{name: "sent too long ago", make: func() *Envelope {
				id := canopy.NewID()
				return craft(t, fr.id, be, KindReferral, id, 1, validReferral(id, now), now.Add(-6*time.Minute))
			}, reason: ReasonStale},
			{name: "sent in the future", make: func() *Envelope {
				id := canopy.NewID()
				return craft(t, fr.id, be, KindReferral, id, 1, validReferral(id, now), now.Add(6*time.Minute))
			}, reason: ReasonStale},
			{name: "signed by a key no peer has", make: func() *Envelope {
				id := canopy.NewID()
				return craft(t, stranger, be, KindReferral, id, 1, validReferral(id, now), now)
			}, reason: ReasonUnknownKey},
			{name: "signed by another key than fr's", make: func() *Envelope {
				id := canopy.NewID()
				e := craft(t, stranger, be, KindReferral, id, 1, validReferral(id, now), now)
				e.From = b64.EncodeToString(fr.id.PublicKey())
				return e
			}, reason: ReasonBadSignature},
			{name: "addressed to another node", make: func() *Envelope {
				e := referral(nil)()
				e.To = b64.EncodeToString(stranger.PublicKey())
				return e
			}, reason: ReasonWrongNode},
			{name: "sealed to another key", make: func() *Envelope {
				id := canopy.NewID()
				sealed, _ := SealPayload(fr.ex.Public(), id, fr.id.PublicKey(), be.id.PublicKey(), KindReferral, id, mustJSON(validReferral(id, now)))
				return NewEnvelope(fr.id, be.id.PublicKey(), id, KindReferral, id, 1, now, now, sealed)
			}, reason: ReasonUndecryptable},
			{name: "malformed", make: func() *Envelope {
				e := referral(nil)()
				e.Created = "yesterday"
				return e
			}, reason: ReasonMalformed},
			{name: "another version", make: func() *Envelope {
				e := referral(nil)()
				e.V = 2
				return e
			}, reason: ReasonVersion},
			{name: "from a suspended peer", setup: func() {
				if _, err := be.svc.SetPeerState(ctx, audit.System, "fr", canopy.PeerSuspended); err != nil {
					t.Fatal(err)
				}
			}, make: referral(nil), reason: ReasonSuspended},
			{name: "from a removed peer", setup: func() {
				if _, err := be.svc.SetPeerState(ctx, audit.System, "fr", canopy.PeerRemoved); err != nil {
					t.Fatal(err)
				}
			}, make: referral(nil), reason: ReasonSuspended},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.setup != nil {
					c.setup()
				}
				e := c.make()
				reports, outgoing, refused := be.count(), len(be.outbox("fr")), len(be.refusals(""))
				r := be.receive(e)
				if r.Status != StatusRefused || r.Reason != c.reason || r.ID != e.ID {
					t.Errorf("result %+v, want refused as %s", r, c.reason)
				}
				got := be.refusals("")
				if len(got) != refused+1 {
					t.Fatalf("%d new refusals audited, want 1", len(got)-refused)
				}
				entry := got[len(got)-1]
				wantActor := audit.Peer("fr")
				if c.reason == ReasonUnknownKey || c.reason == ReasonWrongNode || c.reason == ReasonMalformed || c.reason == ReasonVersion {
					wantActor = audit.System
				}
				if entry.Details["reason"] != c.reason || entry.Actor != wantActor || entry.Outcome != audit.Denied {
					t.Errorf("audit entry %+v, want reason %s by %s", entry, c.reason, wantActor)
				}
				if c.reason != ReasonMalformed && c.reason != ReasonVersion && (entry.Details["message"] != e.ID || entry.Details["kind"] != e.Kind) {
					t.Errorf("audit entry %+v does not name message %s", entry.Details, e.ID)
				}
				if be.count() != reports || len(be.outbox("fr")) != outgoing {
					t.Errorf("a refused message left %d reports and %d messages behind", be.count()-reports, len(be.outbox("fr"))-outgoing)
				}
			})
		}
	})
}

// TestReceiveNewerCodes sends referrals with codes a newer node might
// use: they are mapped to what this node knows, or dropped, never refused,
// so a peer's upgrade does not halt the link.
func TestReceiveNewerCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		now := p.clock.Now()
		cases := []struct {
			name   string
			change func(*ReferralPayload)
			check  func(sr *store.SealedReport, data map[string]string) bool
		}{
			{"an unknown category is other", func(r *ReferralPayload) { r.Category = "deepfake_extortion" },
				func(sr *store.SealedReport, _ map[string]string) bool { return sr.Report.Category == "other" }},
			{"an unknown flag is dropped", func(r *ReferralPayload) { r.Flags = []string{"urgent", "livestreamed"} },
				func(sr *store.SealedReport, _ map[string]string) bool {
					return slices.Equal(sr.Report.Flags, []string{canopy.FlagUrgent})
				}},
			{"a hash of an unknown scheme is dropped", func(r *ReferralPayload) {
				r.Hashes = append(r.Hashes, canopy.ContentHash{Algorithm: "tmk", Value: "abcdef01"})
			}, func(sr *store.SealedReport, _ map[string]string) bool {
				return len(sr.Report.Hashes) == 1 && sr.Report.Hashes[0] == sha256ab
			}},
			{"an unknown basis and jurisdiction are dropped", func(r *ReferralPayload) { r.Basis, r.Jurisdiction = "treaty", "EU" },
				func(_ *store.SealedReport, data map[string]string) bool {
					return data["basis"] == "" && data["jurisdiction"] == ""
				}},
			{"an unknown assessment is dropped", func(r *ReferralPayload) { r.Imagery, r.AgeBand, r.IndustryClass = "illegal", "18+", "C1" },
				func(_ *store.SealedReport, data map[string]string) bool {
					return data["imagery"] == "" && data["age_band"] == "" && data["industry_class"] == ""
				}},
			{"a known assessment is kept", func(r *ReferralPayload) { r.Imagery, r.AgeBand, r.IndustryClass = "baseline", "7-10", "A1" },
				func(_ *store.SealedReport, data map[string]string) bool {
					return data["imagery"] == "baseline" && data["age_band"] == "7-10" && data["industry_class"] == "A1"
				}},
			{"an unknown reporter is a partner, an unknown language the default", func(r *ReferralPayload) { r.Reporter, r.Language = "teacher", "nl" },
				func(sr *store.SealedReport, _ map[string]string) bool {
					return sr.Report.Reporter == canopy.ReporterPartner && sr.Report.Language == "en"
				}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := canopy.NewID()
				r := validReferral(id, now)
				c.change(&r)
				if res := be.receive(craft(t, fr.id, be, KindReferral, id, 1, r, now)); res.Status != StatusAccepted {
					t.Fatalf("result %+v, want accepted", res)
				}
				in := be.referral("fr", id, false)
				sr, err := be.db.Report(ctx, in.ReportID)
				if err != nil {
					t.Fatal(err)
				}
				evs, err := be.db.Events(ctx, in.ReportID)
				if err != nil || len(evs) < 2 || evs[1].Kind != canopy.EventReferralReceived {
					t.Fatalf("events %+v, %v", evs, err)
				}
				if !c.check(sr, evs[1].Data) {
					t.Errorf("kept %+v with %v", sr.Report, evs[1].Data)
				}
			})
		}
	})
}

// TestReceiveBatch checks that messages of one delivery are judged one by
// one: a refusal between two good messages touches neither, and a thread
// takes several of its messages in one batch.
func TestReceiveBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		var refs []string
		for range 2 {
			rc := fr.submit(nil)
			ref, err := fr.svc.Refer(ctx, analyst, rc.ReportID, "be")
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, ref.ID)
		}
		out := fr.outbox("be")
		now := p.clock.Now()
		bad := craft(t, fr.id, be, KindReferral, canopy.NewID(), 1, []byte(`{}`), now)
		batch := []*Envelope{fr.envelope(out[0]), bad, fr.envelope(out[1])}
		rs, err := be.svc.Receive(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, r := range rs {
			if r.ID != batch[i].ID {
				t.Errorf("result %d is for %s, want %s", i, r.ID, batch[i].ID)
			}
			got = append(got, r.Status)
		}
		if want := []string{StatusAccepted, StatusRefused, StatusAccepted}; !slices.Equal(got, want) {
			t.Errorf("results %v, want %v", got, want)
		}
		for _, id := range refs {
			if be.referral("fr", id, false) == nil {
				t.Errorf("referral %s was not taken", id)
			}
		}

		// be answers the first referral three times over: fr, given the
		// thread's n = 4, 3, 2, 1 in one delivery, takes only what is in
		// turn, then the rest in order.
		in := be.referral("fr", refs[0], false)
		for _, s := range []string{canopy.ReferralAccepted, canopy.ReferralActioned, canopy.ReferralContentRemoved} {
			if err := be.svc.SendStatus(ctx, analyst, in.ReportID, s, "done"); err != nil {
				t.Fatal(err)
			}
		}
		var rev []*Envelope
		for _, m := range slices.Backward(be.outbox("fr")) {
			if m.Thread == refs[0] {
				rev = append(rev, be.envelope(m))
			}
		}
		rs, err = fr.svc.Receive(ctx, rev)
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for _, r := range rs {
			got = append(got, r.Status)
		}
		if want := []string{StatusRetry, StatusRetry, StatusRetry, StatusAccepted}; !slices.Equal(got, want) {
			t.Errorf("n = 4, 3, 2, 1 in one delivery: %v, want %v", got, want)
		}
		pump(t, be, "fr", fr)
		if r := fr.referral("be", refs[0], true); r.Status != canopy.ReferralContentRemoved {
			t.Errorf("fr's referral status = %q, want content_removed", r.Status)
		}
		want := []string{canopy.EventReceived, canopy.EventReferred, "referral_status:in:received", "referral_status:in:accepted",
			"referral_status:in:actioned", "referral_status:in:content_removed"}
		if got := fr.timelineOfReferral(t, "be", refs[0]); !slices.Equal(got, want) {
			t.Errorf("fr's timeline = %v, want %v", got, want)
		}
	})
}

// timelineOfReferral is the timeline of the report a referral is about.
func (n *node) timelineOfReferral(t testing.TB, peerID, id string) []string {
	t.Helper()
	r := n.referral(peerID, id, true)
	if r == nil {
		r = n.referral(peerID, id, false)
	}
	if r == nil {
		t.Fatalf("no referral %s", id)
	}
	return n.timeline(r.ReportID)
}

// TestReceiveBankChangesWithControlCharacters sends a page of bank changes
// whose label or opaque value holds a NUL byte (valid JSON: "\u0000"),
// beside a good referral in the same delivery. Whatever becomes of the
// page, it is that message's fate alone: the delivery is answered, and
// the referral taken, on either database.
func TestReceiveBankChangesWithControlCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		now := p.clock.Now()
		cases := []struct {
			name   string
			bank   string
			change BankChange
		}{
			{"a label with a NUL", "labels", BankChange{Seq: 1, Op: canopy.BankAdd, Algorithm: "md5", Value: md5Hash, Labels: []string{"series\x00a"}}},
			{"an opaque value with a NUL", "photodna", BankChange{Seq: 1, Op: canopy.BankAdd, Algorithm: "photodna", Value: "AAAA\x00BBBB"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if _, err := be.svc.Subscribe(ctx, audit.System, "fr", c.bank); err != nil {
					t.Fatal(err)
				}
				page := craft(t, fr.id, be, KindBankChanges, "bank/"+c.bank, 1,
					BankChangesPayload{Bank: c.bank, Changes: []BankChange{c.change}}, now)
				id := canopy.NewID()
				ref := craft(t, fr.id, be, KindReferral, id, 1, validReferral(id, now), now)
				rs, err := be.svc.Receive(ctx, []*Envelope{page, ref})
				if err != nil {
					t.Fatalf("Receive failed the whole delivery: %v", err)
				}
				if rs[0].Status != StatusAccepted && (rs[0].Status != StatusRefused || rs[0].Reason != ReasonInvalid) {
					t.Errorf("the page: %+v, want accepted or refused as invalid", rs[0])
				}
				if rs[1].Status != StatusAccepted {
					t.Errorf("the referral beside it: %+v, want accepted", rs[1])
				}
			})
		}
	})
}

// TestReceiveSkew: a message is taken while its sending time is within the
// skew of the receiver's clock, either way, and refused as stale beyond;
// so captured bytes stay refused after their nonce is forgotten.
func TestReceiveSkew(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		skew := be.svc.skew()
		cases := []struct {
			offset time.Duration // sent, relative to be's clock
			want   string
		}{
			{0, StatusAccepted},
			{-skew, StatusAccepted},
			{skew, StatusAccepted},
			{-skew - time.Microsecond, StatusRefused},
			{skew + time.Microsecond, StatusRefused},
			{-24 * time.Hour, StatusRefused},
		}
		for _, c := range cases {
			id := canopy.NewID()
			now := p.clock.Now()
			r := be.receive(craft(t, fr.id, be, KindReferral, id, 1, validReferral(id, now), now.Add(c.offset)))
			if r.Status != c.want || (c.want == StatusRefused && r.Reason != ReasonStale) {
				t.Errorf("sent %v from the receiver's clock: %+v, want %s", c.offset, r, c.want)
			}
		}

		// Captured at the edge of the future, replayed once the nonce is
		// forgotten: stale by then.
		id := canopy.NewID()
		now := p.clock.Now()
		e := craft(t, fr.id, be, KindReferral, id, 1, validReferral(id, now), now.Add(skew))
		if r := be.receive(e); r.Status != StatusAccepted {
			t.Fatalf("first delivery: %+v", r)
		}
		p.clock.Add(2*skew + time.Microsecond)
		if err := be.db.ForgetNonces(ctx, p.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if r := be.receive(e); r.Status != StatusRefused || r.Reason != ReasonStale {
			t.Errorf("a replay after the nonce was forgotten: %+v, want refused as stale", r)
		}
	})
}
