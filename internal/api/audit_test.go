package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// auditEnv is an API serving a real audit log and staff service, with an
// administrator, an auditor and an analyst signed in, and a clock for the
// staff service that moves only when the test moves it.
type auditEnv struct {
	*env
	ctx   context.Context
	log   *audit.Log
	staff *staff.Service
	clock *fakeClock

	admin, auditor, analyst member
}

// member is a staff member and the token of their signed-in session.
type member struct {
	account  *canopy.Account
	token    string
	secret   []byte // TOTP
	password string
}

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

func newAuditEnv(t *testing.T, db *store.DB) *auditEnv {
	t.Helper()
	ctx := context.Background()
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "hotline.test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	keys, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: t0}
	s := &staff.Service{DB: db, Keys: keys, Audit: l, Now: clock.now, Issuer: "Canopy test"}
	e := &env{t: t, db: db, log: &syncBuffer{}}
	e.api = New(Config{Audit: l, Staff: s, Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	e.h = conform(t, e.api)
	ae := &auditEnv{env: e, ctx: ctx, log: l, staff: s, clock: clock}

	// The first administrator, then an auditor and an analyst they
	// invite, each enrolled with a password and TOTP.
	setup, err := s.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ae.admin.password = "correct horse battery staple"
	sess, err := s.Setup(ctx, setup, staff.AccountInput{Email: "admin@example.org", Name: "Ada"}, ae.admin.password)
	if err != nil {
		t.Fatal(err)
	}
	ae.enrol(&ae.admin, sess)
	ae.auditor = ae.invite(canopy.RoleAuditor, "auditor@example.org")
	ae.analyst = ae.invite(canopy.RoleAnalyst, "analyst@example.org")

	// The auditor signs in again as they would any day: password, then
	// a code from their app in a later time step.
	clock.add(30 * time.Second)
	ae.auditor.token = ae.signIn(ae.auditor)
	return ae
}

// enrol adds TOTP to a session at the enrolment stage, which completes it.
func (ae *auditEnv) enrol(m *member, sess string) {
	ae.t.Helper()
	secret, ticket, err := ae.staff.BeginTOTP(ae.ctx, sess)
	if err != nil {
		ae.t.Fatal(err)
	}
	if _, err := ae.staff.ConfirmTOTP(ae.ctx, sess, ticket, stafftest.Code(secret, ae.clock.now())); err != nil {
		ae.t.Fatal(err)
	}
	a, _, err := ae.staff.Authenticate(ae.ctx, sess)
	if err != nil {
		ae.t.Fatal(err)
	}
	m.account, m.token, m.secret = a, sess, secret
}

func (ae *auditEnv) invite(role canopy.Role, email string) member {
	ae.t.Helper()
	_, token, err := ae.staff.Invite(ae.ctx, audit.Staff(ae.admin.account.ID), staff.AccountInput{Email: email, Role: role})
	if err != nil {
		ae.t.Fatal(err)
	}
	m := member{password: "a long enough passphrase"}
	sess, err := ae.staff.AcceptInvite(ae.ctx, token, m.password)
	if err != nil {
		ae.t.Fatal(err)
	}
	ae.enrol(&m, sess)
	if m.account.Role != role {
		ae.t.Fatalf("%s has role %s", email, m.account.Role)
	}
	return m
}

// signIn signs a member in with their password and the TOTP code of the
// current step, which must not have been used.
func (ae *auditEnv) signIn(m member) string {
	ae.t.Helper()
	sess, err := ae.staff.Login(ae.ctx, m.account.Email, m.password)
	if err != nil {
		ae.t.Fatal(err)
	}
	if err := ae.staff.SecondFactor(ae.ctx, sess, stafftest.Code(m.secret, ae.clock.now())); err != nil {
		ae.t.Fatal(err)
	}
	return sess
}

// appendEntries adds n entries of the kinds a node logs, all at once, so
// the log's writer batches them.
func (ae *auditEnv) appendEntries(n int) {
	ae.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		e := audit.Entry{Actor: audit.Public, Action: audit.ActionReportCreate, Kind: audit.KindReport,
			ID: fmt.Sprintf("r%05d", i), Outcome: audit.OK, Details: map[string]string{"channel": "api"}}
		switch {
		case i%13 == 0:
			e = audit.Entry{Actor: audit.System, Action: audit.ActionAuditVerify, Outcome: audit.OK}
		case i%7 == 0:
			e = audit.Entry{Actor: audit.Staff("acc_7"), Action: audit.ActionReportView, Kind: audit.KindReport,
				ID: fmt.Sprintf("r%05d", i-1), Outcome: audit.OK, Details: map[string]string{"role": "analyst", "fields": "category,flags"}}
		case i%5 == 0:
			e = audit.Entry{Actor: audit.Public, Action: audit.ActionLoginFailed, Outcome: audit.Failed,
				Details: map[string]string{"reason": "unknown_account"}}
		}
		wg.Go(func() {
			if _, err := ae.log.Append(ae.ctx, e); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ae.t.Fatal(err)
	}
}

// get sends a GET that must conform to openapi.json.
func (ae *auditEnv) get(target, token string) *httptest.ResponseRecorder {
	ae.t.Helper()
	c := call{method: "GET", target: target, conforms: +1}
	if token != "" {
		c.header = map[string]string{"Authorization": "Bearer " + token}
	}
	return ae.do(c)
}

// The outside auditor's side: fetch, decode and nothing else. Whatever
// is fetched is trusted only once checked with the verifier key.

func (ae *auditEnv) fetchKey() auditKeyAnswer {
	ae.t.Helper()
	rec := ae.get("/api/v1/audit/key", "")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=3600" {
		ae.t.Fatalf("key: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var k auditKeyAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &k); err != nil {
		ae.t.Fatal(err)
	}
	return k
}

func (ae *auditEnv) fetchCheckpoint(key string) *audit.Checkpoint {
	ae.t.Helper()
	rec := ae.get("/api/v1/audit/checkpoint", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		ae.t.Fatalf("checkpoint: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	c, err := audit.OpenCheckpoint(rec.Body.Bytes(), key)
	if err != nil {
		ae.t.Fatalf("checkpoint does not open with the verifier key: %v\n%s", err, rec.Body)
	}
	return c
}

// fetchEntry fetches an entry and its proof in the tree of size entries,
// or of the latest checkpoint for size 0.
func (ae *auditEnv) fetchEntry(index, size int64, token string) (auditEntryAnswer, tlog.RecordProof) {
	ae.t.Helper()
	target := fmt.Sprintf("/api/v1/audit/entries/%d", index)
	if size > 0 {
		target += fmt.Sprintf("?size=%d", size)
	}
	rec := ae.get(target, token)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		ae.t.Fatalf("%s: %d %v %s", target, rec.Code, rec.Header(), rec.Body)
	}
	var ans auditEntryAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		ae.t.Fatal(err)
	}
	var raw struct {
		Proof []string `json:"proof"`
	}
	json.Unmarshal(rec.Body.Bytes(), &raw)
	return ans, tlog.RecordProof(parseHashes(ae.t, raw.Proof))
}

func (ae *auditEnv) fetchConsistency(old, new int64) tlog.TreeProof {
	ae.t.Helper()
	target := fmt.Sprintf("/api/v1/audit/consistency?old=%d&new=%d", old, new)
	rec := ae.get(target, "")
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=3600" {
		ae.t.Fatalf("%s: %d %v %s", target, rec.Code, rec.Header(), rec.Body)
	}
	var ans struct {
		Old, New int64
		Proof    []string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		ae.t.Fatal(err)
	}
	if ans.Old != old || ans.New != new || ans.Proof == nil {
		ae.t.Fatalf("%s: %s", target, rec.Body)
	}
	return tlog.TreeProof(parseHashes(ae.t, ans.Proof))
}

// parseHashes decodes proof hashes as an auditor would: standard base64
// of 32 bytes each.
func parseHashes(t testing.TB, ss []string) []tlog.Hash {
	t.Helper()
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			t.Fatalf("proof hash %q: %d bytes, %v", s, len(b), err)
		}
		copy(out[i][:], b)
	}
	return out
}

// flip returns a copy of b with one bit changed.
func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 1
	return c
}

// TestAuditOutsideAuditor plays an oversight body that holds nothing but
// the node's verifier key: it checks checkpoints, entries and the log's
// growth over the API, and that the checks would catch a lie.
func TestAuditOutsideAuditor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ae := newAuditEnv(t, db)
		ae.appendEntries(200)

		k := ae.fetchKey()
		if k.Origin != "hotline.test/audit" || k.VerifierKey != ae.log.VerifierKey() || !strings.HasPrefix(k.VerifierKey, "hotline.test+") {
			t.Fatalf("key %+v", k)
		}
		key := k.VerifierKey

		// The first checkpoint is made on demand and covers the whole log;
		// asked again with no entry since, the node gives the same one.
		cp0 := ae.fetchCheckpoint(key)
		if cp0.Size != ae.log.Size() || cp0.Size < 200 || cp0.Origin != k.Origin {
			t.Fatalf("checkpoint of %d, log has %d", cp0.Size, ae.log.Size())
		}
		if again := ae.fetchCheckpoint(key); !bytes.Equal(again.Note, cp0.Note) {
			t.Errorf("checkpoint changed with the log unchanged:\n%s\n%s", cp0.Note, again.Note)
		}

		ae.appendEntries(150)
		cp1 := ae.fetchCheckpoint(key)
		if cp1.Size != cp0.Size+150 || cp1.Size != ae.log.Size() {
			t.Fatalf("checkpoint of %d after %d more entries, was %d", cp1.Size, 150, cp0.Size)
		}

		// Entries, each checked against the checkpoints held.
		size := ae.log.Size()
		for _, i := range []int64{0, 1, 2, 3, cp0.Size / 2, cp0.Size - 1, cp0.Size, cp0.Size + 77, cp1.Size - 2, cp1.Size - 1} {
			ans, proof := ae.fetchEntry(i, 0, ae.auditor.token)
			if ans.Index != i || ans.TreeSize != cp1.Size {
				t.Fatalf("entry %d: index %d, tree %d", i, ans.Index, ans.TreeSize)
			}
			if err := audit.VerifyInclusion(cp1, i, ans.Data, proof); err != nil {
				t.Fatalf("entry %d does not verify: %v", i, err)
			}
			checkEntry(t, ae, i, ans)

			// A lie in the data, the proof or the position is caught.
			for j := range ans.Data {
				if audit.VerifyInclusion(cp1, i, flip(ans.Data, j), proof) == nil {
					t.Fatalf("entry %d verifies with byte %d of its data changed", i, j)
				}
			}
			for j := range proof {
				bad := slices.Clone(proof)
				bad[j][j%tlog.HashSize] ^= 0x80
				if audit.VerifyInclusion(cp1, i, ans.Data, bad) == nil {
					t.Fatalf("entry %d verifies with hash %d of its proof changed", i, j)
				}
			}
			if len(proof) > 0 && audit.VerifyInclusion(cp1, i, ans.Data, proof[:len(proof)-1]) == nil {
				t.Fatalf("entry %d verifies with a proof cut short", i)
			}
			if audit.VerifyInclusion(cp1, (i+1)%cp1.Size, ans.Data, proof) == nil {
				t.Fatalf("entry %d verifies at another position", i)
			}

			// In the older tree, with its own proof, against its own
			// checkpoint; the newer tree's proof does not do there.
			if i < cp0.Size {
				old, oldProof := ae.fetchEntry(i, cp0.Size, ae.auditor.token)
				if old.TreeSize != cp0.Size || !bytes.Equal(old.Data, ans.Data) {
					t.Fatalf("entry %d in the tree of %d: %+v", i, cp0.Size, old)
				}
				if err := audit.VerifyInclusion(cp0, i, old.Data, oldProof); err != nil {
					t.Fatalf("entry %d in the tree of %d: %v", i, cp0.Size, err)
				}
				if audit.VerifyInclusion(cp0, i, ans.Data, proof) == nil {
					t.Fatalf("entry %d: a proof in the tree of %d verifies against the checkpoint of %d", i, cp1.Size, cp0.Size)
				}
			}
		}
		// Reading entries is not itself logged entry by entry.
		if n := ae.log.Size(); n != size {
			t.Errorf("reading entries grew the log from %d to %d", size, n)
		}

		// The log grows; each later checkpoint is proved to extend the
		// earlier ones.
		ae.appendEntries(100)
		cp2 := ae.fetchCheckpoint(key)
		if cp2.Size != cp1.Size+100 {
			t.Fatalf("checkpoint of %d, want %d", cp2.Size, cp1.Size+100)
		}
		cps := []*audit.Checkpoint{cp0, cp1, cp2}
		for _, pair := range [][2]int{{0, 1}, {1, 2}, {0, 2}, {2, 2}} {
			older, newer := cps[pair[0]], cps[pair[1]]
			proof := ae.fetchConsistency(older.Size, newer.Size)
			if err := audit.VerifyConsistency(older, newer, proof); err != nil {
				t.Fatalf("%d to %d: %v", older.Size, newer.Size, err)
			}
			if older.Size == newer.Size {
				if len(proof) != 0 {
					t.Errorf("proof from %d to itself: %d hashes", older.Size, len(proof))
				}
				continue
			}
			for j := range proof {
				bad := slices.Clone(proof)
				bad[j][0] ^= 1
				if audit.VerifyConsistency(older, newer, bad) == nil {
					t.Fatalf("%d to %d verifies with hash %d of its proof changed", older.Size, newer.Size, j)
				}
			}
			// A node that rewrote history would have to show another
			// root for one of the two sizes.
			forged := *newer
			forged.Root[3] ^= 1
			if audit.VerifyConsistency(older, &forged, proof) == nil {
				t.Fatalf("%d to %d verifies against another root", older.Size, newer.Size)
			}
		}

		// A checkpoint changed after signing, or signed by another key,
		// does not open.
		forged := bytes.Replace(cp2.Note, []byte(fmt.Sprintf("\n%d\n", cp2.Size)), []byte(fmt.Sprintf("\n%d\n", cp2.Size+1)), 1)
		if _, err := audit.OpenCheckpoint(forged, key); err == nil {
			t.Fatal("a checkpoint with its size changed opens")
		}
		other, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "other.key"), "hotline.test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.OpenCheckpoint(cp2.Note, other.VerifierKey()); err == nil {
			t.Fatal("a checkpoint opens with another node's key of the same name")
		}

		if l := ae.env.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// checkEntry checks that an answer's decoded entry is what its data
// encodes, and what the node logged.
func checkEntry(t *testing.T, ae *auditEnv, i int64, ans auditEntryAnswer) {
	t.Helper()
	e, err := audit.Decode(ans.Data)
	if err != nil {
		t.Fatalf("entry %d: %v", i, err)
	}
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	want := auditEntryFields{At: e.At.Format(time.RFC3339Nano), Actor: string(e.Actor), Action: string(e.Action),
		Kind: string(e.Kind), ID: e.ID, Outcome: string(e.Outcome), Details: details}
	if !jsonSame(ans.Entry, want) {
		t.Fatalf("entry %d: answer says %+v, data says %+v", i, ans.Entry, want)
	}
	if at, err := time.Parse(time.RFC3339, ans.Entry.At); err != nil || !at.Equal(e.At) {
		t.Fatalf("entry %d: at %q, %v", i, ans.Entry.At, err)
	}
	logged, err := ae.log.Entry(ae.ctx, i)
	if err != nil {
		t.Fatal(err)
	}
	if logged.Index != i || !logged.At.Equal(e.At) || logged.Actor != e.Actor || logged.Action != e.Action ||
		logged.Kind != e.Kind || logged.ID != e.ID || logged.Outcome != e.Outcome || !maps.Equal(logged.Details, e.Details) {
		t.Fatalf("entry %d: served %+v, logged %+v", i, e, logged)
	}
}

// TestAuditRefusals checks who may read entries, and the answers to bad
// parameters.
func TestAuditRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ae := newAuditEnv(t, db)

		// Before the first checkpoint there is nothing to prove within.
		rec := ae.get("/api/v1/audit/consistency?old=1&new=1", "")
		if p := problemOf(t, rec); rec.Code != 400 || !slices.Equal(fieldCodes(p), []string{"new " + intake.KeyTooMany}) {
			t.Errorf("consistency before a checkpoint: %d %s", rec.Code, rec.Body)
		}
		rec = ae.get("/api/v1/audit/entries/0", ae.auditor.token)
		if p := problemOf(t, rec); rec.Code != 400 || !slices.Equal(fieldCodes(p), []string{"index " + intake.KeyInvalid}) {
			t.Errorf("entry before a checkpoint: %d %s", rec.Code, rec.Body)
		}

		ae.appendEntries(30)
		key := ae.fetchKey().VerifierKey
		ae.fetchCheckpoint(key)
		entry := "/api/v1/audit/entries/3"

		// Who is calling is not established: 401, all alike, nothing logged.
		half, err := ae.staff.Login(ae.ctx, ae.auditor.account.Email, ae.auditor.password)
		if err != nil {
			t.Fatal(err)
		}
		gone := ae.signIn(ae.analyst)
		if err := ae.staff.Logout(ae.ctx, gone); err != nil {
			t.Fatal(err)
		}
		size := ae.log.Size()
		for name, auth := range map[string]string{
			"no header":        "",
			"unknown token":    "Bearer " + strings.Repeat("A", 43),
			"no token":         "Bearer",
			"empty token":      "Bearer ",
			"basic":            "Basic " + base64.StdEncoding.EncodeToString([]byte("auditor@example.org:a long enough passphrase")),
			"token and more":   "Bearer " + ae.auditor.token + " x",
			"token in quotes":  `Bearer "` + ae.auditor.token + `"`,
			"huge token":       "Bearer " + strings.Repeat("A", 10000),
			"password only":    "Bearer " + half,
			"signed out":       "Bearer " + gone,
			"the token itself": ae.auditor.token,
		} {
			c := call{method: "GET", target: entry, conforms: +1}
			if auth != "" {
				c.header = map[string]string{"Authorization": auth}
			}
			rec := ae.do(c)
			p := problemOf(t, rec)
			if rec.Code != 401 || p.Code != canopy.EUNAUTHORIZED || rec.Header().Get("WWW-Authenticate") != `Bearer realm="canopy"` {
				t.Errorf("%s: %d %v %s", name, rec.Code, rec.Header(), rec.Body)
			}
		}
		if n := ae.log.Size(); n != size {
			t.Errorf("401s grew the log from %d to %d", size, n)
		}
		// The scheme's name is case-insensitive (RFC 9110 §11.1).
		if rec := ae.do(call{method: "GET", target: entry, header: map[string]string{"Authorization": "bearer " + ae.auditor.token}}); rec.Code != 200 {
			t.Errorf("lower-case scheme: %d %s", rec.Code, rec.Body)
		}

		// Signed in, but not an auditor: 403, and the refusal is logged.
		var refusals []int64
		for _, m := range []member{ae.analyst, ae.admin} {
			if access.Can(m.account.Role, access.AuditRead) {
				t.Fatalf("%s may read the audit log", m.account.Role)
			}
			before := ae.log.Size()
			rec := ae.get(entry, m.token)
			if p := problemOf(t, rec); rec.Code != 403 || p.Code != canopy.EFORBIDDEN || len(p.Errors) > 0 {
				t.Errorf("%s: %d %s", m.account.Role, rec.Code, rec.Body)
			}
			if n := ae.log.Size(); n != before+1 {
				t.Fatalf("%s refused: log grew from %d to %d, want one entry", m.account.Role, before, n)
			}
			refusals = append(refusals, before)
			e, err := ae.log.Entry(ae.ctx, before)
			if err != nil {
				t.Fatal(err)
			}
			if e.Actor != audit.Staff(m.account.ID) || e.Action != audit.ActionPermissionDenied || e.Outcome != audit.Denied ||
				!maps.Equal(e.Details, map[string]string{"permission": "audit.read"}) {
				t.Errorf("%s refused: logged %+v", m.account.Role, e)
			}
		}
		// The auditor sees the refusals in the log, proved in a checkpoint.
		cp := ae.fetchCheckpoint(key)
		for j, i := range refusals {
			ans, proof := ae.fetchEntry(i, 0, ae.auditor.token)
			if err := audit.VerifyInclusion(cp, i, ans.Data, proof); err != nil {
				t.Fatalf("refusal %d: %v", i, err)
			}
			checkEntry(t, ae, i, ans)
			want := []member{ae.analyst, ae.admin}[j]
			if e := ans.Entry; e.Actor != "staff:"+want.account.ID || e.Action != "permission.denied" || e.Outcome != "denied" ||
				e.Kind != "" || e.ID != "" || !maps.Equal(e.Details, map[string]string{"permission": "audit.read"}) {
				t.Errorf("refusal %d: %+v", i, e)
			}
		}
		signed := cp.Size
		ae.appendEntries(5) // in the log, not yet in a checkpoint
		size = ae.log.Size()

		// Bad parameters: 400, with every problem named.
		tooMany := func(field string, n int64) string {
			return field + " " + intake.KeyTooMany + " " + strconv.FormatInt(n, 10)
		}
		for _, tc := range []struct {
			target   string
			conforms int
			errors   []string // field, code and, for too_many, the bound
		}{
			{"/api/v1/audit/consistency", -1, []string{"old " + intake.KeyRequired, "new " + intake.KeyRequired}},
			{"/api/v1/audit/consistency?old=1", -1, []string{"new " + intake.KeyRequired}},
			{"/api/v1/audit/consistency?old=0&new=5", -1, []string{"old " + intake.KeyInvalid}},
			{"/api/v1/audit/consistency?old=-1&new=5", -1, []string{"old " + intake.KeyInvalid}},
			{"/api/v1/audit/consistency?old=%2B1&new=5", -1, []string{"old " + intake.KeyInvalid}},
			{"/api/v1/audit/consistency?old=one&new=5.0", -1, []string{"old " + intake.KeyInvalid, "new " + intake.KeyInvalid}},
			{"/api/v1/audit/consistency?old=99999999999999999999&new=5", -1, []string{"old " + intake.KeyInvalid}},
			{"/api/v1/audit/consistency?old=1&old=2&new=5", -1, []string{"old " + intake.KeyDuplicate}},
			{"/api/v1/audit/consistency?old=6&new=5", +1, []string{tooMany("old", 5)}},
			{fmt.Sprintf("/api/v1/audit/consistency?old=1&new=%d", signed+1), +1, []string{tooMany("new", signed)}},
			{fmt.Sprintf("/api/v1/audit/consistency?old=%d&new=%d", signed+2, signed+1), +1, []string{tooMany("new", signed)}},
			{"/api/v1/audit/consistency?old=1&new=2&lang=xx", -1, []string{"lang " + intake.KeyLanguage}},
			{"/api/v1/audit/entries/three", -1, []string{"index " + intake.KeyInvalid}},
			{"/api/v1/audit/entries/-1", -1, []string{"index " + intake.KeyInvalid}},
			{"/api/v1/audit/entries/3?size=0", -1, []string{"size " + intake.KeyInvalid}},
			{"/api/v1/audit/entries/3?size=", -1, []string{"size " + intake.KeyInvalid}},
			{"/api/v1/audit/entries/3?size=4&size=5", -1, []string{"size " + intake.KeyDuplicate}},
			{"/api/v1/audit/entries/x?size=x", -1, []string{"index " + intake.KeyInvalid, "size " + intake.KeyInvalid}},
			{fmt.Sprintf("/api/v1/audit/entries/3?size=%d", signed+1), +1, []string{tooMany("size", signed)}},
			{"/api/v1/audit/entries/5?size=5", +1, []string{tooMany("index", 4)}},
			{fmt.Sprintf("/api/v1/audit/entries/%d", signed), +1, []string{tooMany("index", signed-1)}}, // logged, not yet signed
		} {
			rec := ae.do(call{method: "GET", target: tc.target, conforms: tc.conforms,
				header: map[string]string{"Authorization": "Bearer " + ae.auditor.token}})
			if rec.Code != 400 {
				t.Errorf("%s: %d %s", tc.target, rec.Code, rec.Body)
				continue
			}
			p := problemOf(t, rec)
			var got []string
			for _, e := range p.Errors {
				s := e.Field + " " + e.Code
				if e.Code == intake.KeyTooMany {
					s += " " + strings.TrimSuffix(e.Detail[strings.LastIndex(e.Detail, " ")+1:], ".")
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.errors) {
				t.Errorf("%s: errors %q, want %q", tc.target, got, tc.errors)
			}
		}

		// Past the end of the log: 404.
		for _, i := range []int64{ae.log.Size(), ae.log.Size() + 1000, 1 << 60} {
			rec := ae.get(fmt.Sprintf("/api/v1/audit/entries/%d", i), ae.auditor.token)
			if p := problemOf(t, rec); rec.Code != 404 || p.Code != canopy.ENOTFOUND {
				t.Errorf("entry %d of %d: %d %s", i, ae.log.Size(), rec.Code, rec.Body)
			}
		}
		if n := ae.log.Size(); n != size {
			t.Errorf("refused reads grew the log from %d to %d", size, n)
		}

		// A session left alone for longer than the idle timeout is over.
		ae.clock.add(staff.DefaultIdleTimeout + time.Minute)
		if rec := ae.get(entry, ae.auditor.token); rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="canopy"` {
			t.Errorf("expired session: %d %s", rec.Code, rec.Body)
		}
		if l := ae.env.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestAuditUnavailable checks the audit routes of an API without a log or
// without staff, as the intake-only tests build it.
func TestAuditUnavailable(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "hotline.test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Append(context.Background(), audit.Entry{Actor: audit.System, Action: audit.ActionAuditVerify, Outcome: audit.OK}); err != nil {
		t.Fatal(err)
	}
	routes := []string{"/api/v1/audit/key", "/api/v1/audit/checkpoint", "/api/v1/audit/consistency?old=1&new=1", "/api/v1/audit/entries/0"}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []int
	}{
		{"no log", Config{}, []int{503, 503, 503, 503}},
		{"no staff", Config{Audit: l}, []int{200, 200, 200, 503}},
	} {
		h := conform(t, New(tc.cfg))
		for i, target := range routes {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
			if rec.Code != tc.want[i] {
				t.Errorf("%s: %s: %d %s", tc.name, target, rec.Code, rec.Body)
			}
			if rec.Code == 503 && problemCode(t, rec) != canopy.EUNAVAILABLE {
				t.Errorf("%s: %s: %s", tc.name, target, rec.Body)
			}
		}
	}
	// HEAD is served as GET, without the body.
	rec := httptest.NewRecorder()
	conform(t, New(Config{Audit: l})).ServeHTTP(rec, httptest.NewRequest("HEAD", "/api/v1/audit/key", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("HEAD key: %d %v", rec.Code, rec.Header())
	}
}

// TestAuditExamples checks that the examples in openapi.json are a real
// key, checkpoint and entry that verify together, so a client can be
// tested against them.
func TestAuditExamples(t *testing.T) {
	d := mustDoc(t)
	example := func(path string) any {
		media := d.deref(d.get("paths", path, "get", "responses", "200", "content")["application/json"])
		if media == nil {
			media = d.deref(d.get("paths", path, "get", "responses", "200", "content")["text/plain"])
		}
		return media["example"]
	}
	var k auditKeyAnswer
	var entry auditEntryAnswer
	var proof struct {
		Proof []string `json:"proof"`
	}
	for v, path := range map[any]string{&k: "/api/v1/audit/key", &entry: "/api/v1/audit/entries/{index}", &proof: "/api/v1/audit/entries/{index}"} {
		b, _ := json.Marshal(example(path))
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	note, _ := example("/api/v1/audit/checkpoint").(string)
	cp, err := audit.OpenCheckpoint([]byte(note), k.VerifierKey)
	if err != nil {
		t.Fatalf("example checkpoint: %v", err)
	}
	if cp.Origin != k.Origin || cp.Size != entry.TreeSize {
		t.Fatalf("example checkpoint %+v, key %+v, entry in a tree of %d", cp, k, entry.TreeSize)
	}
	if err := audit.VerifyInclusion(cp, entry.Index, entry.Data, parseHashes(t, proof.Proof)); err != nil {
		t.Fatalf("example entry: %v", err)
	}
	e, err := audit.Decode(entry.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := auditEntryFields{At: e.At.Format(time.RFC3339Nano), Actor: string(e.Actor), Action: string(e.Action),
		Kind: string(e.Kind), ID: e.ID, Outcome: string(e.Outcome), Details: e.Details}
	if !jsonSame(entry.Entry, want) {
		t.Errorf("example entry says %+v, its data %+v", entry.Entry, want)
	}
	c, _ := d.get("paths", "/api/v1/audit/consistency", "get", "responses", "200", "content", "application/json")["example"].(map[string]any)
	if c["new"] != float64(cp.Size) {
		t.Errorf("example consistency proof to %v, example checkpoint of %d", c["new"], cp.Size)
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{
		"Bearer abc":          "abc",
		"bearer abc":          "abc",
		"BEARER   a-b_c~+/=.": "a-b_c~+/=.",
		"Bearer":              "",
		"Bearer ":             "",
		"Bearer a b":          "",
		"Bearer a,b":          "",
		"Basic abc":           "",
		"Bearerabc":           "",
		"Bearer é":            "",
		"Bearer " + strings.Repeat("a", maxBearer+1): "",
	} {
		got, ok := bearer(map[string][]string{"Authorization": {h}})
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q, %v; want %q", h, got, ok, want)
		}
	}
	if _, ok := bearer(map[string][]string{"Authorization": {"Bearer a", "Bearer b"}}); ok {
		t.Error("two Authorization headers accepted")
	}
}
