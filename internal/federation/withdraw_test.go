package federation

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

// Federation is how support tells peers a consent no longer stands.
var _ support.Sharing = (*Service)(nil)

var caseworker = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}

// trio is a pair with a third node, nl, that fr also refers to; fr shares
// everything with both, so whatever a referral leaves out is left out
// for the child, not by the profile. sup is fr's support side, wired to
// tell fr's peers as cmd/canopy wires it.
type trio struct {
	*pair
	nl  *node
	sup *support.Service
}

func newTrio(t *testing.T, db *store.DB) *trio {
	t.Helper()
	everything := func(p *canopy.Peer) { p.Share = slices.Clone(canopy.Shareable) }
	p := newPair(t, db, everything, nil)
	nl := newNode(t, storetest.Open(t, db.Dialect()), "hotline-nl", p.clock.Now)
	p.fr.addPeer("nl", nl, everything)
	nl.addPeer("fr", p.fr, nil)
	sup := &support.Service{DB: p.fr.db, Keys: p.fr.keys, Audit: p.fr.log, Now: p.clock.Now,
		Logger: slog.New(slog.DiscardHandler), Sharing: p.fr.svc}
	return &trio{pair: p, nl: nl, sup: sup}
}

// childCase opens a support case at fr with consent to investigation
// (which linking needs) and to what else is given, and links the report
// to it.
func (x *trio) childCase(t *testing.T, reportID string, consents ...support.NewConsent) string {
	t.Helper()
	ctx := context.Background()
	c, err := x.sup.OpenCase(ctx, caseworker, support.NewCase{Profile: support.Profile{Alias: "Robin", AgeBand: "14-17"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range append([]support.NewConsent{{Purpose: canopy.PurposeInvestigation}}, consents...) {
		in.GivenBy, in.Method = canopy.ConsentByChild, canopy.ConsentVerbal
		if _, err := x.sup.GiveConsent(ctx, caseworker, c.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.sup.LinkReport(ctx, caseworker, c.ID, reportID); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

var crossBorder = support.NewConsent{Purpose: canopy.PurposeCrossBorder}

// sentReferral opens the referral message from has queued for peerID on
// thread, as to would.
func sentReferral(t *testing.T, from *node, peerID string, to *node, thread string) ReferralPayload {
	t.Helper()
	for _, m := range from.outbox(peerID) {
		if m.Kind == KindReferral && m.Thread == thread {
			var p ReferralPayload
			if err := json.Unmarshal(open(t, from, to, m), &p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no referral %s waits for %s", thread, peerID)
	return ReferralPayload{}
}

// kept is what n keeps of a report that the profile and a withdrawal
// govern.
func (n *node) kept(id string) content {
	n.t.Helper()
	sr, c, err := n.svc.content(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	return content{Description: c.Description, Platform: c.Platform, ChildCountry: sr.Report.ChildCountry,
		Reporter: sr.Report.Reporter, Language: sr.Report.Language, URLs: c.URLs, Accounts: c.Accounts}
}

// events returns the data of a report's events of kind at n.
func (n *node) events(id, kind string) []map[string]string {
	n.t.Helper()
	evs, err := n.db.Events(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	var out []map[string]string
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e.Data)
		}
	}
	return out
}

var (
	// sentInFull is what a referral of fr.submit's report carries under a
	// profile that shares everything; withheldFields what it carries when
	// the child has not agreed to share it abroad.
	sentInFull = content{Description: "Pictures of my daughter on this page", Platform: "ExampleShare", ChildCountry: "FR",
		Reporter: canopy.ReporterCaregiver, Language: "fr", URLs: []string{"https://be-host.example/gallery/1"}, Accounts: []string{"@uploader"}}
	withheldFields = content{Platform: "ExampleShare", URLs: []string{"https://be-host.example/gallery/1"}}
	// keptWithheld is what the receiver keeps of either: a referral
	// without a reporter's kind is a partner's; without a language,
	// intake's default.
	keptWithheld = content{Platform: "ExampleShare", URLs: []string{"https://be-host.example/gallery/1"},
		Reporter: canopy.ReporterPartner, Language: "en"}
)

// TestReferralWithheld refers a report linked to a child's support case
// to be, which is to receive everything: the personal fields go only
// while the child's consent to cross-border sharing stands.
func TestReferralWithheld(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		x := newTrio(t, db)
		fr, be := x.fr, x.be
		cases := []struct {
			name string
			// setup links the report to a case as the scenario says.
			setup func(t *testing.T, id string)
			want  content // as sent
		}{
			{"no case", func(*testing.T, string) {}, sentInFull},
			{"consent stands", func(t *testing.T, id string) { x.childCase(t, id, crossBorder) }, sentInFull},
			{"no consent to share abroad", func(t *testing.T, id string) { x.childCase(t, id) }, withheldFields},
			{"consent withdrawn", func(t *testing.T, id string) {
				c := x.childCase(t, id, crossBorder)
				if err := x.sup.WithdrawConsent(ctx, caseworker, c, canopy.PurposeCrossBorder); err != nil {
					t.Fatal(err)
				}
			}, withheldFields},
			{"consent expired", func(t *testing.T, id string) {
				x.childCase(t, id, support.NewConsent{Purpose: canopy.PurposeCrossBorder, Expires: x.clock.Now().Add(time.Hour)})
				x.clock.Add(2 * time.Hour)
			}, withheldFields},
			{"one of two cases without consent", func(t *testing.T, id string) {
				x.childCase(t, id, crossBorder)
				x.childCase(t, id)
			}, withheldFields},
			{"case deleted", func(t *testing.T, id string) {
				// Referred to nl in full first; deleting the case takes
				// its links with it, and tells nl.
				c := x.childCase(t, id, crossBorder)
				ref, err := fr.svc.Refer(ctx, analyst, id, "nl")
				if err != nil {
					t.Fatal(err)
				}
				if got := sentReferral(t, fr, "nl", x.nl, ref.ID); got.Description == "" {
					t.Fatalf("nl got %+v before the case was deleted, want everything", got)
				}
				if _, err := x.sup.Erase(ctx, caseworker, c, support.ErasureRequest{Kind: canopy.ErasureDelete,
					AskedBy: canopy.AskedByChild, Carry: true, Reason: canopy.ReasonChildWishes}); err != nil {
					t.Fatal(err)
				}
			}, withheldFields},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				id := fr.submit(nil).ReportID
				c.setup(t, id)
				ref, err := fr.svc.Refer(ctx, analyst, id, "be")
				if err != nil {
					t.Fatal(err)
				}
				got := sentReferral(t, fr, "be", be, ref.ID)
				sent := content{Description: got.Description, Platform: got.Platform, ChildCountry: got.ChildCountry,
					Reporter: got.Reporter, Language: got.Language, URLs: got.URLs, Accounts: got.Accounts}
				if !sameContent(sent, c.want) {
					t.Errorf("sent %+v, want %+v", sent, c.want)
				}
				// What a takedown needs goes whatever the consent.
				if got.Category != "csam" || !slices.Equal(got.Hashes, []canopy.ContentHash{sha256ab}) || got.Received == "" ||
					!slices.Equal(got.Flags, []string{canopy.FlagUrgent}) {
					t.Errorf("the classification and hashes did not all go: %+v", got)
				}
				pump(t, fr, "be", be)
				in := be.referral("fr", ref.ID, false)
				if in == nil {
					t.Fatal("be did not take the referral")
				}
				want := sentInFull
				if c.want.Description == "" {
					want = keptWithheld
				}
				if k := be.kept(in.ReportID); !sameContent(k, want) {
					t.Errorf("be keeps %+v, want %+v", k, want)
				}
			})
		}
	})
}

// TestWithdrawal follows a withdrawal of consent from fr's caseworker to
// be's report: queued with the change, delivered, the personal fields
// removed at be while what the takedown needs stays, on both timelines
// and in both audit logs, and taking effect once however often it is
// delivered.
func TestWithdrawal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		x := newTrio(t, db)
		fr, be := x.fr, x.be
		id := fr.submit(nil).ReportID
		other := fr.submit(nil).ReportID // same addresses and account, no case
		c := x.childCase(t, id, crossBorder)
		ref, err := fr.svc.Refer(ctx, analyst, id, "be")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fr.svc.Refer(ctx, analyst, other, "be"); err != nil {
			t.Fatal(err)
		}
		pump(t, fr, "be", be)
		in := be.referral("fr", ref.ID, false)
		if k := be.kept(in.ReportID); !sameContent(k, sentInFull) {
			t.Fatalf("be keeps %+v before the withdrawal, want everything", k)
		}
		var otherIn string
		for o := range be.linked(in.ReportID) {
			otherIn = o
		}
		if kinds := be.linked(in.ReportID)[otherIn]; !slices.Contains(kinds, "account") {
			t.Fatalf("be links the two reports by %v, want by account among others", kinds)
		}
		statusBefore := fr.status(id)
		stageBefore := be.state(in.ReportID).Stage

		if err := x.sup.WithdrawConsent(ctx, caseworker, c, canopy.PurposeCrossBorder); err != nil {
			t.Fatal(err)
		}

		// fr: the message on the referral's thread, after the referral
		// and its "received", and the event.
		out := fr.outbox("be")
		if len(out) != 1 || out[0].Kind != KindWithdrawal || out[0].Thread != ref.ID || out[0].N != 2 {
			t.Fatalf("fr's outbox = %+v, want one withdrawal on %s, n 2", out, ref.ID)
		}
		var w WithdrawalPayload
		if err := json.Unmarshal(open(t, fr, be, out[0]), &w); err != nil {
			t.Fatal(err)
		}
		if w.Referral != ref.ID || w.Reason != canopy.WithdrawalConsent || w.At != x.clock.Now().Format(timeFormat) ||
			!slices.Equal(w.Fields, PersonalFields) {
			t.Errorf("withdrawal payload = %+v", w)
		}
		wantOut := map[string]string{"direction": "out", "peer": "be", "referral": ref.ID, "reason": canopy.WithdrawalConsent}
		if evs := fr.events(id, canopy.EventSharingWithdrawn); len(evs) != 1 || !maps.Equal(evs[0], wantOut) {
			t.Errorf("fr's sharing_withdrawn events = %v, want %v", evs, wantOut)
		}
		if n := fr.audited(audit.ActionReferralWithdrawn); n != 1 {
			t.Errorf("fr audited %d withdrawals, want 1", n)
		}
		if s := fr.status(id); s != statusBefore {
			t.Errorf("the reporter's status went from %s to %s", statusBefore, s)
		}

		// be: the personal fields gone, the takedown's kept.
		rs := pump(t, fr, "be", be)
		if len(rs) != 1 || rs[0].Status != StatusAccepted {
			t.Fatalf("delivering the withdrawal: %+v", rs)
		}
		if k := be.kept(in.ReportID); !sameContent(k, content{Platform: sentInFull.Platform, URLs: sentInFull.URLs, Reporter: canopy.ReporterPartner}) {
			t.Errorf("be keeps %+v after the withdrawal", k)
		}
		if kinds := be.linked(in.ReportID)[otherIn]; slices.Contains(kinds, "account") || !slices.Contains(kinds, "url") {
			t.Errorf("be links the two reports by %v after the withdrawal, want no longer by account, still by url", kinds)
		}
		wantIn := map[string]string{"direction": "in", "peer": "fr", "referral": ref.ID, "reason": canopy.WithdrawalConsent, "at": w.At}
		if evs := be.events(in.ReportID, canopy.EventSharingWithdrawn); len(evs) != 1 || !maps.Equal(evs[0], wantIn) {
			t.Errorf("be's sharing_withdrawn events = %v, want %v", evs, wantIn)
		}
		st := be.state(in.ReportID)
		if st.Stage != stageBefore || st.Jurisdiction != "" {
			t.Errorf("be's report is %s in %q after the withdrawal, want %s and no jurisdiction", st.Stage, st.Jurisdiction, stageBefore)
		}
		if rebuilt, err := be.db.RebuildTriageState(ctx, in.ReportID); err != nil || *rebuilt != *st {
			t.Errorf("rebuilt from the timeline, be's state is %+v (%v), want %+v", rebuilt, err, st)
		}
		entries := be.entries(audit.ActionReferralWithdrawn)
		if len(entries) != 1 || entries[0].Actor != audit.Peer("fr") || entries[0].ID != in.ReportID ||
			entries[0].Details["referral"] != ref.ID || entries[0].Details["reason"] != canopy.WithdrawalConsent || entries[0].Details["direction"] != "in" {
			t.Errorf("be's audit entries = %+v", entries)
		}

		// Delivered again (the answer was lost): acknowledged, nothing
		// more happens.
		if r := be.receive(fr.envelope(out[0])); r.Status != StatusDuplicate {
			t.Errorf("the withdrawal again: %+v, want duplicate", r)
		}
		if n := len(be.events(in.ReportID, canopy.EventSharingWithdrawn)); n != 1 || be.audited(audit.ActionReferralWithdrawn) != 1 {
			t.Errorf("after a duplicate be has %d events and %d audit entries, want 1 and 1", n, be.audited(audit.ActionReferralWithdrawn))
		}

		// Deleting the case now tells be nothing new: it was told.
		if _, err := x.sup.Erase(ctx, caseworker, c, support.ErasureRequest{Kind: canopy.ErasureDelete,
			AskedBy: canopy.AskedByChild, Carry: true, Reason: canopy.ReasonChildWishes}); err != nil {
			t.Fatal(err)
		}
		if out := fr.outbox("be"); len(out) != 0 {
			t.Errorf("after the case's deletion fr queued %+v for be, which was told already", out)
		}
	})
}

// TestReferWhileWithdrawing refers reports at the very moment their
// child's consent is withdrawn: whichever commits first, a referral that
// went in full is followed by a withdrawal.
func TestReferWhileWithdrawing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		x := newTrio(t, db)
		fr, be := x.fr, x.be
		full := 0
		for round := range 12 {
			id := fr.submit(nil).ReportID
			c := x.childCase(t, id, crossBorder)
			var wg sync.WaitGroup
			var ref *store.Referral
			var referErr, withdrawErr error
			wg.Add(2)
			go func() { defer wg.Done(); ref, referErr = fr.svc.Refer(ctx, analyst, id, "be") }()
			go func() {
				defer wg.Done()
				// Later and later, so that rounds fall on each side of
				// the referral's commit, and some on it.
				time.Sleep(time.Duration(round) * 250 * time.Microsecond)
				withdrawErr = x.sup.WithdrawConsent(ctx, caseworker, c, canopy.PurposeCrossBorder)
			}()
			wg.Wait()
			if referErr != nil || withdrawErr != nil {
				t.Fatalf("round %d: refer: %v; withdraw: %v", round, referErr, withdrawErr)
			}
			told := slices.ContainsFunc(fr.outbox("be"), func(m store.OutboxMessage) bool {
				return m.Kind == KindWithdrawal && m.Thread == ref.ID
			})
			if sent := sentReferral(t, fr, "be", be, ref.ID); sent.Description != "" {
				full++
				if !told {
					t.Errorf("round %d: the referral went in full and be was not told", round)
				}
			} else if told {
				t.Errorf("round %d: the referral was withheld, and be told all the same", round)
			}
		}
		t.Logf("%d of 12 referrals went in full before the withdrawal", full)
	})
}

// TestWithdrawalWithReferral: consent withdrawn before the referral left
// (here, before be was reached at all): both go in one delivery, in
// order, and be never keeps the personal fields past it.
func TestWithdrawalWithReferral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		x := newTrio(t, db)
		fr, be := x.fr, x.be
		id := fr.submit(nil).ReportID
		c := x.childCase(t, id, crossBorder)
		ref, err := fr.svc.Refer(ctx, analyst, id, "be")
		if err != nil {
			t.Fatal(err)
		}
		if err := x.sup.WithdrawConsent(ctx, caseworker, c, canopy.PurposeCrossBorder); err != nil {
			t.Fatal(err)
		}
		if out := fr.outbox("be"); len(out) != 2 || out[0].Kind != KindReferral || out[1].Kind != KindWithdrawal {
			t.Fatalf("fr's outbox = %+v, want the referral then the withdrawal", out)
		}
		rs := pump(t, fr, "be", be)
		if len(rs) != 2 || rs[0].Status != StatusAccepted || rs[1].Status != StatusAccepted {
			t.Fatalf("one delivery of both: %+v", rs)
		}
		in := be.referral("fr", ref.ID, false)
		if k := be.kept(in.ReportID); !sameContent(k, content{Platform: sentInFull.Platform, URLs: sentInFull.URLs, Reporter: canopy.ReporterPartner}) {
			t.Errorf("be keeps %+v", k)
		}
		if got := be.timeline(in.ReportID); !slices.Equal(got, []string{canopy.EventReceived, canopy.EventReferralReceived,
			canopy.EventReferralStatus + ":out:" + canopy.ReferralReceived, canopy.EventSharingWithdrawn}) {
			t.Errorf("be's timeline = %v", got)
		}
	})
}

// TestWithdrawalErasedReport: be destroyed its report's key before the
// withdrawal came; the content is unreadable already, and only the plain
// columns are left to clear.
func TestWithdrawalErasedReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		x := newTrio(t, db)
		fr, be := x.fr, x.be
		id := fr.submit(nil).ReportID
		c := x.childCase(t, id, crossBorder)
		ref, err := fr.svc.Refer(ctx, analyst, id, "be")
		if err != nil {
			t.Fatal(err)
		}
		pump(t, fr, "be", be)
		in := be.referral("fr", ref.ID, false)
		if err := be.db.DestroyReportKey(ctx, in.ReportID); err != nil {
			t.Fatal(err)
		}
		if err := x.sup.WithdrawConsent(ctx, caseworker, c, canopy.PurposeCrossBorder); err != nil {
			t.Fatal(err)
		}
		if rs := pump(t, fr, "be", be); len(rs) != 1 || rs[0].Status != StatusAccepted {
			t.Fatalf("delivering the withdrawal: %+v", rs)
		}
		sr, err := be.db.Report(ctx, in.ReportID)
		if err != nil {
			t.Fatal(err)
		}
		if r := sr.Report; r.ChildCountry != "" || r.Language != "" || r.Reporter != canopy.ReporterPartner || sr.WrappedKey != nil {
			t.Errorf("be's report = %+v", r)
		}
		if n := len(be.events(in.ReportID, canopy.EventSharingWithdrawn)); n != 1 {
			t.Errorf("%d sharing_withdrawn events, want 1", n)
		}
	})
}

// TestWithdrawPeers: Withdraw tells every peer that holds the report,
// one that sent it back included, and no other: not one removed.
func TestWithdrawPeers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		x := newTrio(t, db)
		fr, be, nl := x.fr, x.be, x.nl
		refer := func(id string, peers ...string) {
			t.Helper()
			for _, p := range peers {
				if _, err := fr.svc.Refer(ctx, analyst, id, p); err != nil {
					t.Fatal(err)
				}
			}
		}
		// rejected: be sent it back, and it went on to nl.
		rejected := fr.submit(nil).ReportID
		refer(rejected, "be")
		pump(t, fr, "be", be)
		back := be.referral("fr", fr.referralTo(rejected, "be"), false)
		if err := be.svc.SendStatus(ctx, analyst, back.ReportID, canopy.ReferralRejected, "Hosted in NL"); err != nil {
			t.Fatal(err)
		}
		pump(t, be, "fr", fr)
		refer(rejected, "nl")
		both := fr.submit(nil).ReportID
		refer(both, "be", "nl")
		never := fr.submit(nil).ReportID
		for _, p := range []struct {
			peer string
			n    *node
		}{{"be", be}, {"nl", nl}} {
			pump(t, fr, p.peer, p.n)
		}

		withdraw := func(ids []string, reason string) (func(), error) {
			var after func()
			err := fr.db.Update(ctx, func(tx *store.Tx) error {
				var err error
				after, err = fr.svc.Withdraw(tx, ids, reason, x.clock.Now())
				return err
			})
			return after, err
		}
		told := func(id string) []string {
			var peers []string
			for _, d := range fr.events(id, canopy.EventSharingWithdrawn) {
				peers = append(peers, d["peer"])
			}
			return peers
		}

		if _, err := withdraw([]string{both}, "forgotten"); err == nil {
			t.Error("Withdraw took an unknown reason")
		}
		after, err := withdraw([]string{never}, canopy.WithdrawalNoConsent)
		if err != nil || after != nil || len(told(never)) != 0 {
			t.Errorf("a report never referred: after %v, err %v, told %v; want nothing", after != nil, err, told(never))
		}
		// A deleted case marks the report, so a later referral goes
		// without the personal fields.
		after, err = withdraw([]string{never}, canopy.WithdrawalDeleted)
		if err != nil || after != nil || !slices.Equal(told(never), []string{""}) {
			t.Errorf("a deleted case's report never referred: after %v, err %v, marks %v; want one mark", after != nil, err, told(never))
		}
		err = fr.db.Update(ctx, func(tx *store.Tx) error {
			w, err := withheld(tx, never, x.clock.Now())
			if err == nil && !w {
				t.Error("a deleted case's report would go abroad in full")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		after, err = withdraw([]string{rejected, both}, canopy.WithdrawalDeleted)
		if err != nil {
			t.Fatal(err)
		}
		if after == nil {
			t.Fatal("Withdraw told peers and returned no after")
		}
		after()
		if got := told(rejected); !slices.Equal(got, []string{"be", "nl"}) {
			t.Errorf("the rejected referral's report: told %v, want be (which sent it back but holds it) and nl", got)
		}
		if got := told(both); !slices.Equal(got, []string{"be", "nl"}) {
			t.Errorf("the report referred twice: told %v, want be and nl", got)
		}
		if nb, nn := len(fr.outbox("be")), len(fr.outbox("nl")); nb != 2 || nn != 2 {
			t.Errorf("waiting: %d for be, %d for nl; want 2 and 2", nb, nn)
		}
		for _, p := range []struct {
			peer string
			n    *node
		}{{"be", be}, {"nl", nl}} {
			for _, r := range pump(t, fr, p.peer, p.n) {
				if r.Status != StatusAccepted {
					t.Errorf("%s: %+v", p.peer, r)
				}
			}
		}
		if k := nl.kept(nl.referral("fr", fr.referralTo(both, "nl"), false).ReportID); !sameContent(k, content{
			Platform: sentInFull.Platform, URLs: sentInFull.URLs, Reporter: canopy.ReporterPartner}) {
			t.Errorf("nl keeps %+v", k)
		}

		// A removed peer is not told: nothing reaches it any more.
		removed := fr.submit(nil).ReportID
		refer(removed, "be", "nl")
		if _, err := fr.svc.SetPeerState(ctx, audit.System, "nl", canopy.PeerRemoved); err != nil {
			t.Fatal(err)
		}
		if _, err := withdraw([]string{removed}, canopy.WithdrawalNoConsent); err != nil {
			t.Fatal(err)
		}
		if got := told(removed); !slices.Equal(got, []string{"be"}) {
			t.Errorf("with nl removed: told %v, want be alone", got)
		}
	})
}

// TestWithdrawalRefused: a withdrawal is checked as strictly as the other
// kinds, except that a reason from a newer node is taken as a withdrawn
// consent; and one for a referral this node never took is refused.
func TestWithdrawalRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		ref, err := fr.svc.Refer(ctx, analyst, fr.submit(nil).ReportID, "be")
		if err != nil {
			t.Fatal(err)
		}
		pump(t, fr, "be", be)
		in := be.referral("fr", ref.ID, false)
		unknown := canopy.NewID()
		at := p.clock.Now().Format(timeFormat)
		cases := []struct {
			name    string
			thread  string
			payload any
			want    string // result status
			reason  string // the refusal's, or the reason be records
		}{
			{"an unknown referral", unknown, WithdrawalPayload{Referral: unknown, Reason: canopy.WithdrawalConsent, At: at}, StatusRefused, ReasonInvalid},
			{"another thread", ref.ID, WithdrawalPayload{Referral: unknown, Reason: canopy.WithdrawalConsent, At: at}, StatusRefused, ReasonInvalid},
			{"no time", ref.ID, WithdrawalPayload{Referral: ref.ID, Reason: canopy.WithdrawalConsent}, StatusRefused, ReasonInvalid},
			{"a time in another form", ref.ID, WithdrawalPayload{Referral: ref.ID, Reason: canopy.WithdrawalConsent, At: "2026-03-02T09:00:00Z"}, StatusRefused, ReasonInvalid},
			{"not an object", ref.ID, []byte(`["withdraw"]`), StatusRefused, ReasonInvalid},
			{"a newer node's reason", ref.ID, WithdrawalPayload{Referral: ref.ID, Reason: "court_order", At: at, Fields: []string{"favourite_colour"}},
				StatusAccepted, canopy.WithdrawalConsent},
		}
		n := int64(2) // the referral was 1 on its thread
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				num := int64(1)
				if c.thread == ref.ID {
					num = n
				}
				r := be.receive(craft(t, fr.id, be, KindWithdrawal, c.thread, num, c.payload, p.clock.Now()))
				if r.Status != c.want {
					t.Fatalf("%+v, want %s", r, c.want)
				}
				if r.Status == StatusRefused {
					if r.Reason != c.reason {
						t.Errorf("refused for %s, want %s", r.Reason, c.reason)
					}
					return
				}
				n++
				evs := be.events(in.ReportID, canopy.EventSharingWithdrawn)
				if len(evs) != 1 || evs[0]["reason"] != c.reason {
					t.Errorf("be recorded %v, want reason %s", evs, c.reason)
				}
			})
		}
		if got := len(be.refusals(ReasonInvalid)); got != 5 {
			t.Errorf("%d refusals audited, want 5", got)
		}
	})
}

// TestPersonalFields: the one list of personal fields is what a withheld
// referral leaves out and what a withdrawal removes, and the profile
// fields not on it are those a takedown needs.
func TestPersonalFields(t *testing.T) {
	for _, f := range canopy.Shareable {
		personal := slices.Contains(PersonalFields, f)
		if takedown := f == canopy.ShareURLs || f == canopy.SharePlatform; personal == takedown {
			t.Errorf("%s: personal %v", f, personal)
		}
	}
	for _, f := range PersonalFields {
		if !canopy.IsShareable(f) {
			t.Errorf("%s is not a profile field", f)
		}
	}
	p := ReferralPayload{Description: "d", URLs: []string{"u"}, Platform: "p", Accounts: []string{"a"}, ChildCountry: "FR",
		Reporter: canopy.ReporterChild, Language: "fr"}
	p.withhold()
	if !sameContent(content{p.Description, p.Platform, p.ChildCountry, p.Reporter, p.Language, p.URLs, p.Accounts},
		content{Platform: "p", URLs: []string{"u"}}) {
		t.Errorf("withheld: %+v", p)
	}
	r := canopy.Report{ChildCountry: "FR", Reporter: canopy.ReporterChild, Language: "fr",
		Content: canopy.ReportContent{Description: "d", URLs: []string{"u"}, Platform: "p", Accounts: []string{"a"}}}
	redact(&r)
	if !sameContent(content{r.Content.Description, r.Content.Platform, r.ChildCountry, r.Reporter, r.Language, r.Content.URLs, r.Content.Accounts},
		content{Platform: "p", URLs: []string{"u"}, Reporter: canopy.ReporterPartner}) {
		t.Errorf("redacted: %+v", r)
	}
}

// referralTo returns the id of n's referral of a report to a peer.
func (n *node) referralTo(reportID, peerID string) string {
	n.t.Helper()
	refs, err := n.db.ReferralsOf(context.Background(), reportID)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, r := range refs {
		if r.Outbound && r.PeerID == peerID {
			return r.ID
		}
	}
	n.t.Fatalf("report %s was not referred to %s", reportID, peerID)
	return ""
}

func (n *node) linked(id string) map[string][]string {
	n.t.Helper()
	l, err := n.db.Linked(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	return l
}

// status is the status the reporter of a report at n sees.
func (n *node) status(id string) string {
	n.t.Helper()
	evs, err := n.db.Events(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	plain := make([]canopy.Event, len(evs))
	for i, e := range evs {
		plain[i] = e.Event
	}
	return canopy.StatusOf(plain)
}

// entries returns n's audit entries with action.
func (n *node) entries(action audit.Action) []audit.Entry {
	n.t.Helper()
	all, err := n.log.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		n.t.Fatal(err)
	}
	return slices.DeleteFunc(all, func(e audit.Entry) bool { return e.Action != action })
}
