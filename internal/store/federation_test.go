package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var fedT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// newPeer is a peer whose two keys are made of the byte key.
func newPeer(id string, key byte) *canopy.Peer {
	return &canopy.Peer{
		ID: id, Name: "hotline-" + id, URL: "https://" + id + ".example",
		SigningKey: bytes.Repeat([]byte{key}, 32), EncryptionKey: bytes.Repeat([]byte{key ^ 0xff}, 32),
		Jurisdictions: []string{"BE", "LU"}, Share: []string{canopy.SharePlatform, canopy.ShareURLs}, Banks: []string{"ncmec"},
		State: canopy.PeerActive, Added: fedT0, AddedBy: "staff:admin1",
	}
}

// update runs fn in its own transaction and fails the test if it fails.
func update(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

// samePeer compares the fields a peer keeps.
func samePeer(a, b *canopy.Peer) bool {
	return a.ID == b.ID && a.Name == b.Name && a.URL == b.URL && bytes.Equal(a.SigningKey, b.SigningKey) &&
		bytes.Equal(a.EncryptionKey, b.EncryptionKey) && slices.Equal(a.Jurisdictions, b.Jurisdictions) &&
		slices.Equal(a.Share, b.Share) && slices.Equal(a.Banks, b.Banks) && a.State == b.State &&
		a.Added.Equal(b.Added) && a.AddedBy == b.AddedBy
}

func TestPeers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		be := newPeer("be", 1)
		if err := db.CreatePeer(ctx, be); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name string
			do   func() error
			code string // "" for success
		}{
			{"a second peer", func() error { return db.CreatePeer(ctx, newPeer("nl", 2)) }, ""},
			{"an id taken", func() error { return db.CreatePeer(ctx, newPeer("be", 3)) }, canopy.ECONFLICT},
			{"a signing key taken", func() error { return db.CreatePeer(ctx, newPeer("fr", 1)) }, canopy.ECONFLICT},
			{"update", func() error {
				p := *be
				p.URL, p.Jurisdictions, p.Share, p.Banks, p.State = "https://new.be.example", []string{"BE"}, nil, []string{"a", "b"}, canopy.PeerSuspended
				p.Name, p.SigningKey = "ignored", bytes.Repeat([]byte{9}, 32) // never change
				return db.UpdatePeer(ctx, &p)
			}, ""},
			{"update an unknown peer", func() error { return db.UpdatePeer(ctx, newPeer("xx", 4)) }, canopy.ENOTFOUND},
		}
		for _, s := range steps {
			if err := s.do(); canopy.ErrorCode(err) != s.code {
				t.Errorf("%s: err = %v, want code %q", s.name, err, s.code)
			}
		}

		want := *be
		want.URL, want.Jurisdictions, want.Share, want.Banks, want.State = "https://new.be.example", []string{"BE"}, nil, []string{"a", "b"}, canopy.PeerSuspended
		got, err := db.Peer(ctx, "be")
		if err != nil || !samePeer(got, &want) {
			t.Errorf("Peer(be) = %+v, %v; want %+v", got, err, want)
		}
		got, err = db.PeerByKey(ctx, be.SigningKey)
		if err != nil || got.ID != "be" {
			t.Errorf("PeerByKey(be's key) = %+v, %v", got, err)
		}
		if _, err := db.PeerByKey(ctx, bytes.Repeat([]byte{9}, 32)); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("PeerByKey(unknown key): err = %v, want not found", err)
		}
		if _, err := db.Peer(ctx, "fr"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("Peer(fr), refused as a duplicate key: err = %v, want not found", err)
		}
		peers, err := db.Peers(ctx)
		if err != nil || len(peers) != 2 || peers[0].ID != "be" || peers[1].ID != "nl" || !samePeer(peers[1], newPeer("nl", 2)) {
			t.Errorf("Peers = %+v, %v; want be and nl", peers, err)
		}
	})
}

func TestRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, p := range []*canopy.Peer{newPeer("be", 1), newPeer("nl", 2)} {
			if err := db.CreatePeer(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			name string
			do   func() error
			code string
			want []store.Route
		}{
			{"set", func() error { return db.SetRoute(ctx, store.Route{Jurisdiction: "BE", PeerID: "be"}) }, "",
				[]store.Route{{"BE", "be", false}}},
			{"another", func() error { return db.SetRoute(ctx, store.Route{Jurisdiction: "LU", PeerID: "be", Auto: true}) }, "",
				[]store.Route{{"BE", "be", false}, {"LU", "be", true}}},
			{"replace", func() error { return db.SetRoute(ctx, store.Route{Jurisdiction: "BE", PeerID: "nl", Auto: true}) }, "",
				[]store.Route{{"BE", "nl", true}, {"LU", "be", true}}},
			{"unknown peer", func() error { return db.SetRoute(ctx, store.Route{Jurisdiction: "DE", PeerID: "de"}) }, canopy.ENOTFOUND,
				[]store.Route{{"BE", "nl", true}, {"LU", "be", true}}},
			{"replace with an unknown peer", func() error { return db.SetRoute(ctx, store.Route{Jurisdiction: "BE", PeerID: "de"}) }, canopy.ENOTFOUND,
				[]store.Route{{"BE", "nl", true}, {"LU", "be", true}}},
			{"delete", func() error { return db.DeleteRoute(ctx, "BE") }, "",
				[]store.Route{{"LU", "be", true}}},
			{"delete again", func() error { return db.DeleteRoute(ctx, "BE") }, canopy.ENOTFOUND,
				[]store.Route{{"LU", "be", true}}},
		}
		for _, s := range steps {
			if err := s.do(); canopy.ErrorCode(err) != s.code {
				t.Errorf("%s: err = %v, want code %q", s.name, err, s.code)
			}
			got, err := db.Routes(ctx)
			if err != nil || !slices.Equal(got, s.want) {
				t.Errorf("after %s: Routes = %v, %v; want %v", s.name, got, err, s.want)
			}
		}
	})
}

func TestOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, p := range []*canopy.Peer{newPeer("be", 1), newPeer("nl", 2)} {
			if err := db.CreatePeer(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		msg := func(i int, peer, thread string) *store.OutboxMessage {
			return &store.OutboxMessage{ID: fmt.Sprintf("m%02d", i), PeerID: peer, Kind: "referral", Thread: thread,
				Created: fedT0.Add(time.Duration(i) * time.Minute), Sealed: []byte{byte(i), 0xaa}}
		}
		// Enqueued in this order, in two transactions; n counts per peer
		// and thread, from 1.
		msgs := []struct {
			m     *store.OutboxMessage
			wantN int64
		}{
			{msg(1, "be", "t1"), 1}, {msg(2, "be", "t1"), 2}, {msg(3, "nl", "t1"), 1}, {msg(4, "be", "t2"), 1},
			{msg(5, "be", "t1"), 3}, {msg(6, "nl", "t1"), 2}, {msg(7, "be", "bank/x"), 1},
		}
		update(t, db, func(tx *store.Tx) error {
			for _, m := range msgs[:3] {
				if err := tx.Enqueue(m.m); err != nil {
					return err
				}
			}
			return nil
		})
		update(t, db, func(tx *store.Tx) error {
			for _, m := range msgs[3:] {
				if err := tx.Enqueue(m.m); err != nil {
					return err
				}
			}
			return nil
		})
		for _, m := range msgs {
			if m.m.N != m.wantN {
				t.Errorf("%s to %s on %s: n = %d, want %d", m.m.ID, m.m.PeerID, m.m.Thread, m.m.N, m.wantN)
			}
		}
		// A message to a peer that does not exist is refused, and does
		// not use up a number of its thread.
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.Enqueue(msg(8, "de", "t1")) }); err == nil {
			t.Error("Enqueue to an unknown peer succeeded")
		}

		ids := func(ms []store.OutboxMessage) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.ID)
			}
			return out
		}
		pending := func(peer string, limit int) []store.OutboxMessage {
			t.Helper()
			ms, err := db.Pending(ctx, peer, limit)
			if err != nil {
				t.Fatal(err)
			}
			return ms
		}
		if got, want := ids(pending("be", 10)), []string{"m01", "m02", "m04", "m05", "m07"}; !slices.Equal(got, want) {
			t.Errorf("Pending(be) = %v, want %v in enqueue order", got, want)
		}
		if got, want := ids(pending("be", 2)), []string{"m01", "m02"}; !slices.Equal(got, want) {
			t.Errorf("Pending(be, 2) = %v, want %v", got, want)
		}
		first := pending("be", 1)[0]
		if first.PeerID != "be" || first.Kind != "referral" || first.Thread != "t1" || first.N != 1 || !first.Created.Equal(fedT0.Add(time.Minute)) ||
			!bytes.Equal(first.Sealed, []byte{1, 0xaa}) || first.Attempts != 0 || first.LastError != "" || first.Seq == 0 {
			t.Errorf("Pending(be)[0] = %+v", first)
		}
		if got := pending("de", 10); len(got) != 0 {
			t.Errorf("Pending(de) = %v, want none", got)
		}

		if err := db.MarkDelivered(ctx, []string{"m01", "m04"}, fedT0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkDelivered(ctx, nil, fedT0); err != nil {
			t.Errorf("MarkDelivered(nothing): %v", err)
		}
		if err := db.MarkAttempt(ctx, "m02", "connection refused"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkAttempt(ctx, "m02", "503 Service Unavailable"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkAttempt(ctx, "m06", "refused: invalid"); err != nil {
			t.Fatal(err)
		}
		got := pending("be", 10)
		if want := []string{"m02", "m05", "m07"}; !slices.Equal(ids(got), want) {
			t.Fatalf("Pending(be) after delivery = %v, want %v", ids(got), want)
		}
		if got[0].Attempts != 2 || got[0].LastError != "503 Service Unavailable" {
			t.Errorf("m02 after two failed attempts: attempts %d, last error %q", got[0].Attempts, got[0].LastError)
		}
		// Numbering goes on after delivery.
		m9 := msg(9, "be", "t1")
		update(t, db, func(tx *store.Tx) error { return tx.Enqueue(m9) })
		if m9.N != 4 {
			t.Errorf("n after three in t1 = %d, want 4", m9.N)
		}

		for _, c := range []struct {
			peer, kind string
			want       int
		}{{"be", "referral", 4}, {"be", "status", 0}, {"nl", "referral", 2}, {"de", "referral", 0}} {
			if n, err := db.PendingCount(ctx, c.peer, c.kind); err != nil || n != c.want {
				t.Errorf("PendingCount(%s, %s) = %d, %v; want %d", c.peer, c.kind, n, err, c.want)
			}
		}

		stats, err := db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.OutboxStats{
			"be": {PeerID: "be", Pending: 4, OldestPending: fedT0.Add(2 * time.Minute), Delivered: 2, LastError: "503 Service Unavailable"},
			"nl": {PeerID: "nl", Pending: 2, OldestPending: fedT0.Add(3 * time.Minute), Delivered: 0, LastError: ""},
		}
		if len(stats) != len(want) {
			t.Errorf("OutboxStats has %d peers, want %d", len(stats), len(want))
		}
		for id, w := range want {
			s := stats[id]
			if s == nil || s.PeerID != w.PeerID || s.Pending != w.Pending || !s.OldestPending.Equal(w.OldestPending) ||
				s.Delivered != w.Delivered || s.LastError != w.LastError {
				t.Errorf("OutboxStats[%s] = %+v, want %+v", id, s, w)
			}
		}

		// Once everything is delivered, nothing is pending and no error
		// shows.
		if err := db.MarkDelivered(ctx, []string{"m02", "m05", "m07", "m09", "m03", "m06"}, fedT0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		stats, err = db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := stats["be"]; s == nil || s.Pending != 0 || !s.OldestPending.IsZero() || s.Delivered != 6 || s.LastError != "" {
			t.Errorf("OutboxStats[be] when all is delivered = %+v", s)
		}
	})
}

func TestReceive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, p := range []*canopy.Peer{newPeer("be", 1), newPeer("nl", 2)} {
			if err := db.CreatePeer(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		// The thread of our own messages to be does not number theirs.
		update(t, db, func(tx *store.Tx) error {
			for i := range 3 {
				if err := tx.Enqueue(&store.OutboxMessage{ID: fmt.Sprintf("out%d", i), PeerID: "be", Kind: "status", Thread: "t",
					Created: fedT0, Sealed: []byte{1}}); err != nil {
					return err
				}
			}
			return nil
		})
		steps := []struct {
			name    string
			peer    string
			id      string
			thread  string
			n       int64
			outcome int
			want    int64 // the n the thread expects next, if not a duplicate by id
		}{
			{"first of a thread", "be", "a1", "t", 1, store.Fresh, 2},
			{"the same id again", "be", "a1", "t", 1, store.Duplicate, -1},
			{"the same id at another n", "be", "a1", "t", 2, store.Duplicate, -1},
			{"another id at an n taken", "be", "a2", "t", 1, store.Duplicate, 2},
			{"ahead of the thread", "be", "a3", "t", 3, store.OutOfOrder, 2},
			{"far ahead", "be", "a9", "t", 1 << 62, store.OutOfOrder, 2},
			{"the next", "be", "a4", "t", 2, store.Fresh, 3},
			{"the one that was ahead, now in turn", "be", "a3", "t", 3, store.Fresh, 4},
			{"an id refused as a duplicate by n, at its turn", "be", "a2", "t", 4, store.Fresh, 5},
			{"another thread starts at 1", "be", "b2", "u", 2, store.OutOfOrder, 1},
			{"another thread", "be", "b1", "u", 1, store.Fresh, 2},
			{"the same thread of another peer", "nl", "c1", "t", 1, store.Fresh, 2},
			// Ids are unique per sender: one peer cannot shadow another's
			// messages by reusing their ids.
			{"an id another peer used", "nl", "a4", "v", 1, store.Fresh, 2},
			{"that id again from that peer", "nl", "a4", "v", 2, store.Duplicate, -1},
		}
		for _, s := range steps {
			var outcome int
			var want int64
			update(t, db, func(tx *store.Tx) error {
				var err error
				outcome, want, err = tx.Receive(s.peer, s.id, "referral", s.thread, s.n, fedT0)
				return err
			})
			if outcome != s.outcome || (s.want >= 0 && want != s.want) {
				t.Errorf("%s: Receive(%s, %s, %s, %d) = %d, %d; want %d, %d", s.name, s.peer, s.id, s.thread, s.n, outcome, want, s.outcome, s.want)
			}
		}

		for _, c := range []struct {
			peer, id string
			seen     bool
		}{{"be", "a1", true}, {"be", "a3", true}, {"be", "a9", false}, {"nl", "a1", false}, {"nl", "a4", true}, {"be", "out0", false}} {
			if seen, err := db.Seen(ctx, c.peer, c.id); err != nil || seen != c.seen {
				t.Errorf("Seen(%s, %s) = %v, %v; want %v", c.peer, c.id, seen, err, c.seen)
			}
		}

		// A fresh message recorded in a transaction that then fails is not
		// recorded.
		boom := errors.New("boom")
		err := db.Update(ctx, func(tx *store.Tx) error {
			if o, _, err := tx.Receive("be", "d1", "referral", "w", 1, fedT0); err != nil || o != store.Fresh {
				return fmt.Errorf("Receive = %d, %v", o, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update = %v, want boom", err)
		}
		update(t, db, func(tx *store.Tx) error {
			if o, want, err := tx.Receive("be", "d1", "referral", "w", 1, fedT0); err != nil || o != store.Fresh || want != 2 {
				t.Errorf("after a rolled-back receipt: Receive = %d, %d, %v; want fresh, 2", o, want, err)
			}
			return nil
		})
	})
}

func TestNonces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		use := func(nonce string, expires time.Time) bool {
			t.Helper()
			var fresh bool
			update(t, db, func(tx *store.Tx) error {
				var err error
				fresh, err = tx.UseNonce([]byte(nonce), expires)
				return err
			})
			return fresh
		}
		steps := []struct {
			name   string
			forget time.Time // if set, ForgetNonces(forget) first
			nonce  string
			exp    time.Time
			fresh  bool
		}{
			{name: "first use", nonce: "n1", exp: fedT0.Add(10 * time.Minute), fresh: true},
			{name: "second use", nonce: "n1", exp: fedT0.Add(20 * time.Minute), fresh: false},
			{name: "another", nonce: "n2", exp: fedT0.Add(5 * time.Minute), fresh: true},
			{name: "another, again", nonce: "n2", exp: fedT0.Add(5 * time.Minute), fresh: false},
			{name: "expiring now is kept", forget: fedT0.Add(5 * time.Minute), nonce: "n2", exp: fedT0, fresh: false},
			{name: "expired is forgotten", forget: fedT0.Add(6 * time.Minute), nonce: "n2", exp: fedT0.Add(16 * time.Minute), fresh: true},
			{name: "unexpired is kept", nonce: "n1", exp: fedT0, fresh: false},
			{name: "all forgotten", forget: fedT0.Add(time.Hour), nonce: "n1", exp: fedT0.Add(2 * time.Hour), fresh: true},
		}
		for _, s := range steps {
			if !s.forget.IsZero() {
				if err := db.ForgetNonces(ctx, s.forget); err != nil {
					t.Fatal(err)
				}
			}
			if got := use(s.nonce, s.exp); got != s.fresh {
				t.Errorf("%s: UseNonce(%s) = %v, want %v", s.name, s.nonce, got, s.fresh)
			}
		}
		// A nonce used in a transaction that fails is not used.
		db.Update(ctx, func(tx *store.Tx) error {
			tx.UseNonce([]byte("n3"), fedT0.Add(time.Hour))
			return errors.New("boom")
		})
		if !use("n3", fedT0.Add(time.Hour)) {
			t.Error("a nonce from a rolled-back transaction counts as used")
		}
	})
}

func TestReferrals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, p := range []*canopy.Peer{newPeer("be", 1), newPeer("nl", 2)} {
			if err := db.CreatePeer(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		for i := 1; i <= 2; i++ {
			if err := db.CreateReport(ctx, newReport(i)); err != nil {
				t.Fatal(err)
			}
		}
		r1, r2 := newReport(1).Report.ID, newReport(2).Report.ID
		put := func(r store.Referral) error {
			return db.Update(ctx, func(tx *store.Tx) error { return tx.PutReferral(&r) })
		}
		setStatus := func(peer, id string, outbound bool, status string, at time.Time) error {
			return db.Update(ctx, func(tx *store.Tx) error { return tx.SetReferralStatus(peer, id, outbound, status, at) })
		}
		steps := []struct {
			name string
			do   func() error
			code string
		}{
			{"referred to be", func() error {
				return put(store.Referral{PeerID: "be", ID: "ref1", Outbound: true, ReportID: r1, Created: fedT0.Add(2 * time.Minute)})
			}, ""},
			{"the same referral again", func() error {
				return put(store.Referral{PeerID: "be", ID: "ref1", Outbound: true, ReportID: r2, Created: fedT0})
			}, canopy.ECONFLICT},
			{"the same id, received from be", func() error {
				return put(store.Referral{PeerID: "be", ID: "ref1", ReportID: r2, Created: fedT0, Status: canopy.ReferralReceived, StatusAt: fedT0})
			}, ""},
			{"the same id to nl", func() error {
				return put(store.Referral{PeerID: "nl", ID: "ref1", Outbound: true, ReportID: r1, Created: fedT0.Add(time.Minute)})
			}, ""},
			{"a referral to an unknown peer", func() error {
				return put(store.Referral{PeerID: "de", ID: "ref2", Outbound: true, ReportID: r1, Created: fedT0})
			}, canopy.EINTERNAL},
			{"status", func() error { return setStatus("be", "ref1", true, canopy.ReferralAccepted, fedT0.Add(time.Hour)) }, ""},
			{"status of an unknown referral", func() error { return setStatus("be", "ref9", true, canopy.ReferralAccepted, fedT0) }, canopy.ENOTFOUND},
			{"status the other way", func() error { return setStatus("nl", "ref1", false, canopy.ReferralAccepted, fedT0) }, canopy.ENOTFOUND},
		}
		for _, s := range steps {
			if err := s.do(); canopy.ErrorCode(err) != s.code {
				t.Errorf("%s: err = %v, want code %q", s.name, err, s.code)
			}
		}

		type row struct {
			peer     string
			outbound bool
			report   string
			status   string
			statusAt time.Time
		}
		rowsOf := func(report string) []row {
			t.Helper()
			refs, err := db.ReferralsOf(ctx, report)
			if err != nil {
				t.Fatal(err)
			}
			var out []row
			for _, r := range refs {
				if r.ID != "ref1" {
					t.Errorf("referral %q", r.ID)
				}
				out = append(out, row{r.PeerID, r.Outbound, r.ReportID, r.Status, r.StatusAt})
			}
			return out
		}
		// Oldest first; a referral with no status has a zero time.
		if got, want := rowsOf(r1), []row{{"nl", true, r1, "", time.Time{}}, {"be", true, r1, canopy.ReferralAccepted, fedT0.Add(time.Hour)}}; !slices.Equal(got, want) {
			t.Errorf("ReferralsOf(r1) = %v, want %v", got, want)
		}
		if got, want := rowsOf(r2), []row{{"be", false, r2, canopy.ReferralReceived, fedT0}}; !slices.Equal(got, want) {
			t.Errorf("ReferralsOf(r2) = %v, want %v", got, want)
		}
		if got := rowsOf("nope"); len(got) != 0 {
			t.Errorf("ReferralsOf(unknown report) = %v", got)
		}
		update(t, db, func(tx *store.Tx) error {
			r, err := tx.Referral("be", "ref1", false)
			if err != nil || r.ReportID != r2 || r.Outbound || !r.Created.Equal(fedT0) {
				t.Errorf("Referral(be, ref1, in) = %+v, %v", r, err)
			}
			if _, err := tx.Referral("nl", "ref1", false); canopy.ErrorCode(err) != canopy.ENOTFOUND {
				t.Errorf("Referral(nl, ref1, in): err = %v, want not found", err)
			}
			return nil
		})
		if r, err := db.Referral(ctx, "be", "ref1", true); err != nil || r.ReportID != r1 || r.Status != canopy.ReferralAccepted || !r.StatusAt.Equal(fedT0.Add(time.Hour)) {
			t.Errorf("DB.Referral(be, ref1, out) = %+v, %v", r, err)
		}
		if _, err := db.Referral(ctx, "nl", "ref1", false); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("DB.Referral(nl, ref1, in): err = %v, want not found", err)
		}
		for _, c := range []struct {
			outbound bool
			want     int
		}{{true, 2}, {false, 1}} {
			if n, err := db.CountReferrals(ctx, c.outbound); err != nil || n != c.want {
				t.Errorf("CountReferrals(%v) = %d, %v; want %d", c.outbound, n, err, c.want)
			}
		}
	})
}

func TestSubscriptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, p := range []*canopy.Peer{newPeer("be", 1), newPeer("nl", 2)} {
			if err := db.CreatePeer(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			name    string
			sub     store.Subscription
			inTx    bool
			created bool
		}{
			{"be takes our bank", store.Subscription{PeerID: "be", Bank: "ncmec", Outbound: true, LocalBank: "bank1"}, false, true},
			{"again, with another bank and cursor", store.Subscription{PeerID: "be", Bank: "ncmec", Outbound: true, LocalBank: "bank2", Cursor: 9}, false, false},
			{"we take be's bank of the same name", store.Subscription{PeerID: "be", Bank: "ncmec", LocalBank: "mirror1"}, false, true},
			{"nl takes it, in a transaction", store.Subscription{PeerID: "nl", Bank: "ncmec", Outbound: true, LocalBank: "bank1"}, true, true},
			{"again, in a transaction", store.Subscription{PeerID: "nl", Bank: "ncmec", Outbound: true, LocalBank: "bank3", Cursor: 4}, true, false},
		}
		for _, s := range steps {
			if s.inTx {
				update(t, db, func(tx *store.Tx) error { return tx.PutSubscription(&s.sub) })
				continue
			}
			created, err := db.PutSubscription(ctx, &s.sub)
			if err != nil || created != s.created {
				t.Errorf("%s: PutSubscription = %v, %v; want %v", s.name, created, err, s.created)
			}
		}
		update(t, db, func(tx *store.Tx) error {
			if err := tx.AdvanceSubscription("be", "ncmec", 42); err != nil {
				return err
			}
			return tx.AdvanceSubscription("nl", "other", 7) // none: nothing happens
		})
		for _, c := range []struct {
			outbound bool
			want     []store.Subscription
		}{
			{true, []store.Subscription{{"be", "ncmec", true, "bank1", 42}, {"nl", "ncmec", true, "bank1", 0}}},
			// Only a publisher's cursor moves.
			{false, []store.Subscription{{"be", "ncmec", false, "mirror1", 0}}},
		} {
			got, err := db.Subscriptions(ctx, c.outbound)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("Subscriptions(%v) = %+v, %v; want %+v", c.outbound, got, err, c.want)
			}
		}
		if _, err := db.PutSubscription(ctx, &store.Subscription{PeerID: "de", Bank: "x"}); err == nil {
			t.Error("a subscription of an unknown peer was stored")
		}
	})
}

// TestSavepoint checks that a failed step of a transaction is undone alone:
// what came before and after it commits.
func TestSavepoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreatePeer(ctx, newPeer("be", 1)); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateReport(ctx, newReport(1)); err != nil {
			t.Fatal(err)
		}
		msg := func(id string) *store.OutboxMessage {
			return &store.OutboxMessage{ID: id, PeerID: "be", Kind: "status", Thread: "t", Created: fedT0, Sealed: []byte(id)}
		}
		ref := &store.Referral{PeerID: "be", ID: "ref1", Outbound: true, ReportID: newReport(1).Report.ID, Created: fedT0}
		boom := errors.New("boom")
		steps := []struct {
			name string
			fn   func(tx *store.Tx) error
			err  error // nil, boom, or errAny
		}{
			{"a step that succeeds", func(tx *store.Tx) error {
				if err := tx.Enqueue(msg("kept1")); err != nil {
					return err
				}
				return tx.PutReferral(ref)
			}, nil},
			{"a step that fails after writing", func(tx *store.Tx) error {
				if err := tx.Enqueue(msg("undone1")); err != nil {
					return err
				}
				if _, err := tx.UseNonce([]byte("nonce"), fedT0); err != nil {
					return err
				}
				return boom
			}, boom},
			{"a step whose statement fails", func(tx *store.Tx) error {
				if err := tx.Enqueue(msg("undone2")); err != nil {
					return err
				}
				return tx.PutReferral(ref) // a conflict: on PostgreSQL the transaction is aborted until rolled back
			}, errAny},
			{"a step after the failures", func(tx *store.Tx) error { return tx.Enqueue(msg("kept2")) }, nil},
		}
		update(t, db, func(tx *store.Tx) error {
			for _, s := range steps {
				err := tx.Savepoint(func() error { return s.fn(tx) })
				switch {
				case s.err == nil && err != nil, s.err == boom && !errors.Is(err, boom), s.err == errAny && err == nil:
					t.Errorf("%s: Savepoint = %v, want %v", s.name, err, s.err)
				}
			}
			return tx.Enqueue(msg("kept3"))
		})
		ms, err := db.Pending(ctx, "be", 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, fmt.Sprintf("%s:%d", m.ID, m.N))
		}
		// The numbers the undone messages took are given again.
		if want := []string{"kept1:1", "kept2:2", "kept3:3"}; !slices.Equal(got, want) {
			t.Errorf("outbox = %v, want %v", got, want)
		}
		update(t, db, func(tx *store.Tx) error {
			if fresh, err := tx.UseNonce([]byte("nonce"), fedT0); err != nil || !fresh {
				t.Errorf("a nonce used in an undone step: UseNonce = %v, %v; want fresh", fresh, err)
			}
			return nil
		})
		if n, err := db.CountReferrals(ctx, true); err != nil || n != 1 {
			t.Errorf("CountReferrals = %d, %v; want 1", n, err)
		}
	})
}

var errAny = errors.New("any error")

// TestRoutingQueues checks the router's backlog (reports not yet routed)
// and the queue of reports no rule routes, both read from report_state.
func TestRoutingQueues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Reports received at these minutes past fedT0, routed so.
		reports := []struct {
			minute int
			route  string // "" for not yet routed
		}{
			{3, ""}, {1, ""}, {2, canopy.RouteUnrouted}, {0, canopy.RoutePeer}, {4, canopy.RouteUnrouted}, {5, canopy.RouteLocal}, {6, ""},
		}
		ids := make([]string, len(reports))
		update(t, db, func(tx *store.Tx) error {
			for i, r := range reports {
				sr := newReport(i + 1)
				sr.Report.Received = fedT0.Add(time.Duration(r.minute) * time.Minute)
				ids[i] = sr.Report.ID
				if err := tx.CreateReport(sr); err != nil {
					return err
				}
				if r.route == "" {
					continue
				}
				data := map[string]string{"route": r.route, "jurisdiction": "DE", "basis": canopy.BasisChild}
				if r.route == canopy.RoutePeer {
					data["peer"] = "de"
				}
				if _, err := tx.ApplyEvents(sr.Report.ID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: sr.Report.ID,
					Kind: canopy.EventRouted, At: sr.Report.Received, Actor: "system", Data: data}}); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			limit int
			want  []string
		}{{10, []string{ids[1], ids[0], ids[6]}}, {2, []string{ids[1], ids[0]}}} {
			got, err := db.RoutingBacklog(ctx, c.limit)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("RoutingBacklog(%d) = %v, %v; want %v", c.limit, got, err, c.want)
			}
		}
		// Report 7 is unrouted about Germany but closed; report 8 is
		// unrouted and then referred by hand, which routes it.
		update(t, db, func(tx *store.Tx) error {
			for i, ev := range []canopy.Event{
				{Kind: canopy.EventNoFurtherAction, Data: map[string]string{"outcome": canopy.OutcomeNoFurtherAction}},
				{Kind: canopy.EventReferred, Data: map[string]string{"outcome": canopy.OutcomeRefer, "peer": "de"}},
			} {
				sr := newReport(20 + i)
				sr.Report.Received = fedT0.Add(time.Duration(10+i) * time.Minute)
				if err := tx.CreateReport(sr); err != nil {
					return err
				}
				ev.ReportID, ev.At, ev.Actor = sr.Report.ID, sr.Report.Received, "analyst1"
				if _, err := tx.ApplyEvents(sr.Report.ID, nil,
					&store.SealedEvent{Event: canopy.Event{ReportID: sr.Report.ID, Kind: canopy.EventRouted, At: sr.Report.Received, Actor: "system",
						Data: map[string]string{"route": canopy.RouteUnrouted, "jurisdiction": "DE", "basis": canopy.BasisChild}}},
					&store.SealedEvent{Event: ev}); err != nil {
					return err
				}
			}
			return nil
		})
		for _, c := range []struct {
			name string
			f    store.QueueFilter
			want []string
		}{
			{"all", store.QueueFilter{Limit: 10}, []string{ids[2], ids[4]}},
			{"the first", store.QueueFilter{Limit: 1}, []string{ids[2]}},
			{"the second", store.QueueFilter{Limit: 1, Offset: 1}, []string{ids[4]}},
			// The reports' own jurisdiction is the child's country, FR.
			{"scoped to France", store.QueueFilter{Limit: 10, Jurisdictions: []string{"FR"}}, []string{ids[2], ids[4]}},
			{"scoped to Belgium", store.QueueFilter{Limit: 10, Jurisdictions: []string{"BE"}}, nil},
		} {
			states, total, err := db.Unrouted(ctx, c.f)
			var got []string
			for _, s := range states {
				got = append(got, s.ReportID)
				if s.Route != canopy.RouteUnrouted || s.Responsible != "DE" || s.Basis != canopy.BasisChild {
					t.Errorf("unrouted state %+v", s)
				}
			}
			wantTotal := 2
			if c.want == nil {
				wantTotal = 0
			}
			if err != nil || total != wantTotal || !slices.Equal(got, c.want) {
				t.Errorf("Unrouted, %s = %v (of %d), %v; want %v of %d", c.name, got, total, err, c.want, wantTotal)
			}
		}
		st, err := db.TriageState(ctx, ids[3])
		if err != nil || st.Route != canopy.RoutePeer || st.RoutePeer != "de" || st.Responsible != "DE" {
			t.Errorf("routed to a peer: %+v, %v", st, err)
		}
	})
}

// TestDropDeliveredPayloads: delivered messages older than the cutoff
// lose their sealed payload, a batch at a time, while they stay counted
// as delivered; undelivered and recent ones keep theirs.
func TestDropDeliveredPayloads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.CreatePeer(ctx, newPeer("be", 1)); err != nil {
			t.Fatal(err)
		}
		update(t, db, func(tx *store.Tx) error {
			for i := 1; i <= 5; i++ {
				m := &store.OutboxMessage{ID: fmt.Sprintf("m%d", i), PeerID: "be", Kind: "referral", Thread: "t1",
					Created: fedT0, Sealed: []byte{byte(i), 0xaa}}
				if err := tx.Enqueue(m); err != nil {
					return err
				}
			}
			return nil
		})
		// m1–m3 delivered a day after fedT0, m4 ten days after; m5 waits.
		if err := db.MarkDelivered(ctx, []string{"m1", "m2", "m3"}, fedT0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkDelivered(ctx, []string{"m4"}, fedT0.Add(240*time.Hour)); err != nil {
			t.Fatal(err)
		}
		cutoff := fedT0.Add(48 * time.Hour)
		for _, want := range []int{2, 1, 0} {
			if n, err := db.DropDeliveredPayloads(ctx, cutoff, 2); err != nil || n != want {
				t.Fatalf("DropDeliveredPayloads = %d, %v; want %d", n, err, want)
			}
		}
		if got := pendingIDs(t, db, "be"); !slices.Equal(got, []string{"m5"}) {
			t.Errorf("pending after the drop: %v", got)
		}
		ms, err := db.Pending(ctx, "be", 10)
		if err != nil || len(ms) != 1 || !bytes.Equal(ms[0].Sealed, []byte{5, 0xaa}) {
			t.Errorf("the waiting message lost its payload: %+v %v", ms, err)
		}
		stats, err := db.OutboxStats(ctx)
		if err != nil || stats["be"].Delivered != 4 || stats["be"].Pending != 1 {
			t.Errorf("stats %+v %v", stats["be"], err)
		}
		if kept, err := db.CountRows(ctx, `SELECT count(*) FROM outbox WHERE length(sealed) > 0`); err != nil || kept != 2 {
			t.Errorf("%d payloads kept (%v), want 2 (m4, delivered after the cutoff, and m5)", kept, err)
		}
	})
}

func pendingIDs(t *testing.T, db *store.DB, peer string) []string {
	t.Helper()
	ms, err := db.Pending(context.Background(), peer, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}
