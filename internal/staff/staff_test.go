package staff

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time            { return c.t }
func (c *clock) add(d time.Duration)       { c.t = c.t.Add(d) }
func newClock() *clock                     { return &clock{time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }
func (c *clock) code(secret []byte) string { return totpCode(secret, totpStep(c.t)) }

func newService(t *testing.T, db *store.DB, c *clock) *Service {
	t.Helper()
	keys, _ := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "test-node")
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &Service{DB: db, Keys: keys, Audit: l, Now: c.now, Issuer: "Canopy test"}
}

// enrol sets up the first administrator through the whole flow and returns
// the TOTP secret, the recovery codes and a full session token.
func enrol(t *testing.T, s *Service, c *clock) ([]byte, []string, string) {
	t.Helper()
	ctx := context.Background()
	setup, err := s.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.Setup(ctx, setup, AccountInput{Email: "Admin@Example.org", Name: "Ada"}, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Authenticate(ctx, sess); err == nil {
		t.Fatal("a session without a second factor authenticated")
	}
	p, err := s.PendingSession(ctx, sess)
	if err != nil || !p.NeedsEnrolment || p.Account.Role != canopy.RoleAdministrator {
		t.Fatalf("pending = %+v, %v", p, err)
	}
	secret, ticket, err := s.BeginTOTP(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmTOTP(ctx, sess, ticket, "000000"); canopy.ErrorCode(err) != canopy.EINVALID && c.code(secret) != "000000" {
		t.Fatalf("wrong code accepted at enrolment: %v", err)
	}
	codes, err := s.ConfirmTOTP(ctx, sess, ticket, c.code(secret))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != recoveryCodes {
		t.Fatalf("%d recovery codes", len(codes))
	}
	a, _, err := s.Authenticate(ctx, sess)
	if err != nil || a.Email != "admin@example.org" {
		t.Fatalf("Authenticate after enrolment = %+v, %v", a, err)
	}
	return secret, codes, sess
}

func TestSetupLoginAndSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, c)
		secret, codes, _ := enrol(t, s, c)

		// Set-up is for the first administrator only.
		if _, err := s.NewSetupToken(ctx); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("second set-up token: %v", err)
		}

		// Password, then TOTP.
		c.add(time.Minute)
		sess, err := s.Login(ctx, "ADMIN@example.org", "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SecondFactor(ctx, sess, c.code(secret)); err != nil {
			t.Fatal(err)
		}
		// The same code again, in another session, is refused.
		sess2, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		if err := s.SecondFactor(ctx, sess2, c.code(secret)); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("replayed TOTP code: %v", err)
		}
		// A recovery code works once.
		if err := s.SecondFactor(ctx, sess2, strings.ToLower(codes[3])); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		sess3, _ := s.Login(ctx, "admin@example.org", "correct horse battery staple")
		if err := s.SecondFactor(ctx, sess3, codes[3]); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("recovery code used twice: %v", err)
		}

		// Unknown account and wrong password look alike.
		_, e1 := s.Login(ctx, "nobody@example.org", "correct horse battery staple")
		_, e2 := s.Login(ctx, "admin@example.org", "wrong password!!")
		if canopy.AsError(e1).Key != canopy.AsError(e2).Key || canopy.ErrorCode(e1) != canopy.EUNAUTHORIZED {
			t.Fatalf("unknown account %v vs wrong password %v", e1, e2)
		}

		// An API token is a session of its own: it works as a bearer of
		// the same account, and ends without ending the browser's.
		apiTok, err := s.APIToken(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		if a, _, err := s.Authenticate(ctx, apiTok); err != nil || a.Email != "admin@example.org" {
			t.Fatalf("API token: %+v %v", a, err)
		}
		if _, err := s.APIToken(ctx, "not a session"); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("token from nothing: %v", err)
		}

		// Logout ends the session.
		if err := s.Logout(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Authenticate(ctx, sess); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("session alive after logout: %v", err)
		}

		// Every step landed in the audit log.
		entries, err := s.Audit.Entries(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		count := map[audit.Action]int{}
		for _, e := range entries {
			count[e.Action]++
		}
		if count[audit.ActionAccountCreate] != 1 || count[audit.ActionLogin] < 3 || count[audit.ActionLoginFailed] < 3 || count[audit.ActionLogout] != 1 {
			t.Fatalf("audit actions %v", count)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	c := newClock()
	s := newService(t, db, c)
	secret, _, sess := enrol(t, s, c)

	// Idle: alive while used, dead after half an hour untouched.
	for range 5 {
		c.add(20 * time.Minute)
		if _, _, err := s.Authenticate(ctx, sess); err != nil {
			t.Fatalf("active session ended: %v", err)
		}
	}
	// Absolute: dead after 12 hours, however active.
	for range 33 { // 38 × 20 minutes is past 12 hours
		c.add(20 * time.Minute)
		s.Authenticate(ctx, sess)
	}
	if _, _, err := s.Authenticate(ctx, sess); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
		t.Fatalf("session outlived the absolute timeout: %v", err)
	}
	sess, _ = s.Login(ctx, "admin@example.org", "correct horse battery staple")
	c.add(time.Minute)
	s.SecondFactor(ctx, sess, c.code(secret))
	c.add(31 * time.Minute)
	if _, _, err := s.Authenticate(ctx, sess); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
		t.Fatalf("session outlived the idle timeout: %v", err)
	}
	// A half-finished sign-in expires after five minutes.
	sess, _ = s.Login(ctx, "admin@example.org", "correct horse battery staple")
	c.add(6 * time.Minute)
	if err := s.SecondFactor(ctx, sess, c.code(secret)); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
		t.Fatalf("stale half sign-in completed: %v", err)
	}
}

func TestLoginThrottle(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	c := newClock()
	s := newService(t, db, c)
	enrol(t, s, c)
	for i := range freeFailures {
		if _, err := s.Login(ctx, "admin@example.org", "not the password"); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Locked: even the right password is refused for a minute.
	if _, err := s.Login(ctx, "admin@example.org", "correct horse battery staple"); canopy.ErrorCode(err) != canopy.ETOOMANY {
		t.Fatalf("locked account signed in: %v", err)
	}
	c.add(61 * time.Second)
	if _, err := s.Login(ctx, "admin@example.org", "correct horse battery staple"); err != nil {
		t.Fatalf("lock did not lift: %v", err)
	}
}

func TestInviteAndDisable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		s := newService(t, db, c)
		enrol(t, s, c)
		admin, _ := db.AccountByEmail(ctx, "admin@example.org")
		by := audit.Staff(admin.ID)

		if _, _, err := s.Invite(ctx, by, AccountInput{Email: "not an email", Role: canopy.RoleAnalyst}); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("bad email: %v", err)
		}
		if _, _, err := s.Invite(ctx, by, AccountInput{Email: "a@example.org", Role: "janitor"}); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("bad role: %v", err)
		}
		acct, token, err := s.Invite(ctx, by, AccountInput{Email: "analyst@example.org", Role: canopy.RoleAnalyst, Jurisdictions: []string{"fr", "FR", "be"}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(acct.Jurisdictions, ",") != "BE,FR" {
			t.Fatalf("jurisdictions %v", acct.Jurisdictions)
		}
		// A node that serves France and Belgium takes no member for Spain.
		s.Jurisdictions = []string{"BE", "FR"}
		if _, _, err := s.Invite(ctx, by, AccountInput{Email: "es@example.org", Role: canopy.RoleAnalyst, Jurisdictions: []string{"ES"}}); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("jurisdiction the node does not serve: %v", err)
		}
		if _, _, err := s.Invite(ctx, by, AccountInput{Email: "ANALYST@example.org", Role: canopy.RoleAnalyst}); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("duplicate email: %v", err)
		}
		if _, err := s.AcceptInvite(ctx, token, "short"); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("short password: %v", err)
		}
		sess, err := s.AcceptInvite(ctx, token, "a long enough passphrase")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcceptInvite(ctx, token, "a long enough passphrase"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("invitation used twice: %v", err)
		}
		secret, ticket, err := s.BeginTOTP(ctx, sess)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmTOTP(ctx, sess, ticket, c.code(secret)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Authenticate(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDisabled(ctx, by, acct.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Authenticate(ctx, sess); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("disabled account still signed in: %v", err)
		}
		if _, err := s.Login(ctx, "analyst@example.org", "a long enough passphrase"); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("disabled account signed in: %v", err)
		}
	})
}

// TestTOTPVectors checks the code generator against RFC 6238 appendix B
// (SHA-1, eight digits there; the last six digits are ours).
func TestTOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	} {
		if got := totpCode(secret, tc.unix/30); got != tc.want {
			t.Errorf("code at %d = %s, want %s", tc.unix, got, tc.want)
		}
	}
	now := time.Unix(1111111111, 0)
	if matchTOTP(secret, "050471", now) == 0 || matchTOTP(secret, "050 471", now) == 0 {
		t.Fatal("current code refused")
	}
	if matchTOTP(secret, totpCode(secret, totpStep(now)-1), now) == 0 {
		t.Fatal("previous step refused (clock drift)")
	}
	if matchTOTP(secret, totpCode(secret, totpStep(now)-2), now) != 0 {
		t.Fatal("code two steps old accepted")
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse battery staple")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format %q", h)
	}
	if !CheckPassword(h, "correct horse battery staple") || CheckPassword(h, "correct horse battery stapler") {
		t.Fatal("CheckPassword wrong")
	}
	if HashPassword("x") == HashPassword("x") {
		t.Fatal("hashes are not salted")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA", "plain"} {
		if CheckPassword(bad, "x") {
			t.Fatalf("CheckPassword accepted %q", bad)
		}
	}
}
