// Package staff manages the people who work in a node: their accounts and
// roles, passwords (argon2id), second factors (TOTP with recovery codes,
// and passkeys), and server-side sessions with idle and absolute timeouts.
// Every sign-in, failed sign-in and change to an account is written to the
// audit log before the caller is answered; if the log cannot take it, the
// action does not happen.
package staff

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Session stages.
const (
	stagePassword = "password" // the password was right; the second factor is awaited
	stageFull     = "full"
)

// Defaults for Service's limits.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	secondFactorWindow     = 5 * time.Minute
	setupTokenLife         = 24 * time.Hour
	inviteTokenLife        = 72 * time.Hour
	freeFailures           = 5 // failed sign-ins before the account is locked
	maxLock                = time.Hour
	recoveryCodes          = 10
)

// Service is the staff capability of a node.
type Service struct {
	DB    *store.DB
	Keys  *seal.Keyring
	Audit *audit.Log
	Now   func() time.Time
	// Issuer names the node in authenticator apps.
	Issuer string
	// Jurisdictions are the ISO 3166-1 codes the node serves. A member's
	// own jurisdictions must be among them; empty means any.
	Jurisdictions []string
	// IdleTimeout and AbsoluteTimeout end sessions; zero means the
	// defaults.
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
}

func (s *Service) idle() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (s *Service) absolute() time.Duration {
	if s.AbsoluteTimeout > 0 {
		return s.AbsoluteTimeout
	}
	return DefaultAbsoluteTimeout
}

func (s *Service) log(ctx context.Context, actor audit.Actor, action audit.Action, kind audit.Kind, id string, outcome audit.Outcome, details map[string]string) error {
	if s.Audit == nil {
		return fmt.Errorf("staff: no audit log")
	}
	_, err := s.Audit.Append(ctx, audit.Entry{Actor: actor, Action: action, Kind: kind, ID: id, Outcome: outcome, Details: details})
	if err != nil {
		return fmt.Errorf("staff: audit %s: %w", action, err)
	}
	return nil
}

func invalid(field, key string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: field, Key: key}}}
}

// newSecret returns 32 random bytes in URL-safe base64: cookie secrets and
// one-time links.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AccountInput is what an administrator gives to create an account.
type AccountInput struct {
	Email         string
	Name          string
	Role          canopy.Role
	Jurisdictions []string
}

func (in *AccountInput) validate(served []string) error {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
		return invalid("email", "error.email.invalid")
	}
	if len(in.Name) > 200 {
		return invalid("name", "error.too_long")
	}
	if !canopy.IsRole(in.Role) {
		return invalid("role", "error.unknown_code")
	}
	for i, j := range in.Jurisdictions {
		in.Jurisdictions[i] = strings.ToUpper(strings.TrimSpace(j))
		if !canopy.IsCountry(in.Jurisdictions[i]) {
			return invalid("jurisdictions", "error.country.unknown")
		}
		if len(served) > 0 && !slices.Contains(served, in.Jurisdictions[i]) {
			return invalid("jurisdictions", "error.jurisdiction.not_served")
		}
	}
	slices.Sort(in.Jurisdictions)
	in.Jurisdictions = slices.Compact(in.Jurisdictions)
	return nil
}

// SetupNeeded reports whether the node has no staff yet, so that the first
// administrator must be set up before anything else works for staff.
func (s *Service) SetupNeeded(ctx context.Context) (bool, error) {
	n, err := s.DB.CountAccounts(ctx)
	return n == 0, err
}

// NewSetupToken makes a one-time secret for setting up the first
// administrator, valid for a day. It refuses once any account exists.
func (s *Service) NewSetupToken(ctx context.Context) (string, error) {
	need, err := s.SetupNeeded(ctx)
	if err != nil {
		return "", err
	}
	if !need {
		return "", &canopy.Error{Code: canopy.ECONFLICT, Key: "error.setup.done"}
	}
	token := newSecret()
	if err := s.DB.CreateOnetimeToken(ctx, s.Keys.Hash("setup", token), "setup", "", s.Now().Add(setupTokenLife)); err != nil {
		return "", err
	}
	return token, nil
}

// CheckToken reports whether a set-up or invitation token is live, without
// spending it, so a page can say so before the form is filled.
func (s *Service) CheckToken(ctx context.Context, purpose, token string) error {
	_, err := s.DB.PeekOnetimeToken(ctx, s.Keys.Hash(purpose, token), purpose, s.Now())
	return err
}

// Setup spends a set-up token to create the first administrator with a
// password, and returns a session at the enrolment stage: the caller must
// still add a second factor (BeginTOTP, ConfirmTOTP) before the account can
// do anything.
func (s *Service) Setup(ctx context.Context, token string, in AccountInput, password string) (string, error) {
	in.Role = canopy.RoleAdministrator
	in.Jurisdictions = nil
	if err := in.validate(s.Jurisdictions); err != nil {
		return "", err
	}
	if key := passwordProblem(password, in.Email); key != "" {
		return "", invalid("password", key)
	}
	need, err := s.SetupNeeded(ctx)
	if err != nil {
		return "", err
	}
	if !need {
		return "", &canopy.Error{Code: canopy.ECONFLICT, Key: "error.setup.done"}
	}
	if _, err := s.DB.UseOnetimeToken(ctx, s.Keys.Hash("setup", token), "setup", s.Now()); err != nil {
		return "", err
	}
	a := &store.StoredAccount{Account: canopy.Account{ID: canopy.NewID(), Email: in.Email, Name: in.Name, Role: in.Role, Created: s.Now().UTC()},
		PasswordHash: HashPassword(password)}
	if err := s.log(ctx, audit.System, audit.ActionAccountCreate, audit.KindAccount, a.ID, audit.OK, map[string]string{"role": string(a.Role), "via": "setup"}); err != nil {
		return "", err
	}
	if err := s.DB.CreateAccount(ctx, a); err != nil {
		return "", err
	}
	return s.newSession(ctx, a.ID, stagePassword)
}

// Invite creates an account that its owner finishes through a one-time
// link (valid three days): they choose a password and add a second factor.
// It returns the account and the link's secret.
func (s *Service) Invite(ctx context.Context, by audit.Actor, in AccountInput) (*canopy.Account, string, error) {
	if err := in.validate(s.Jurisdictions); err != nil {
		return nil, "", err
	}
	a := &store.StoredAccount{Account: canopy.Account{ID: canopy.NewID(), Email: in.Email, Name: in.Name, Role: in.Role,
		Jurisdictions: in.Jurisdictions, Created: s.Now().UTC()}}
	if err := s.DB.CreateAccount(ctx, a); err != nil {
		return nil, "", err
	}
	if err := s.log(ctx, by, audit.ActionAccountCreate, audit.KindAccount, a.ID, audit.OK, map[string]string{"role": string(a.Role)}); err != nil {
		return nil, "", err
	}
	token := newSecret()
	if err := s.DB.CreateOnetimeToken(ctx, s.Keys.Hash("invite", token), "invite", a.ID, s.Now().Add(inviteTokenLife)); err != nil {
		return nil, "", err
	}
	return &a.Account, token, nil
}

// AcceptInvite spends an invitation token, sets the account's password, and
// returns a session at the enrolment stage.
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (string, error) {
	hash := s.Keys.Hash("invite", token)
	id, err := s.DB.PeekOnetimeToken(ctx, hash, "invite", s.Now())
	if err != nil {
		return "", err
	}
	a, err := s.DB.Account(ctx, id)
	if err != nil {
		return "", err
	}
	if key := passwordProblem(password, a.Email); key != "" {
		return "", invalid("password", key)
	}
	if _, err := s.DB.UseOnetimeToken(ctx, hash, "invite", s.Now()); err != nil {
		return "", err
	}
	ph := HashPassword(password)
	if err := s.DB.UpdateAccount(ctx, id, store.AccountUpdate{PasswordHash: &ph}); err != nil {
		return "", err
	}
	if err := s.log(ctx, audit.Staff(id), audit.ActionAccountUpdate, audit.KindAccount, id, audit.OK, map[string]string{"change": "password"}); err != nil {
		return "", err
	}
	return s.newSession(ctx, id, stagePassword)
}

func (s *Service) newSession(ctx context.Context, accountID, stage string) (string, error) {
	token := newSecret()
	now := s.Now().UTC()
	err := s.DB.CreateSession(ctx, &store.StoredSession{
		Session:   canopy.Session{ID: canopy.NewID(), AccountID: accountID, Created: now, LastSeen: now},
		TokenHash: s.Keys.Hash("session", token),
		Stage:     stage,
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// errLogin is the one answer to every failed sign-in, whatever failed, so
// that nothing can be learned about which accounts exist.
var errLogin = &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.login.failed"}

// Login checks an email and password. On success it returns a session that
// still needs the second factor (SecondFactor). Failures are throttled per
// account: after five in a row the account is locked for a minute, then
// for twice as long after each further failure, up to an hour.
func (s *Service) Login(ctx context.Context, email, password string) (string, error) {
	a, err := s.DB.AccountByEmail(ctx, strings.TrimSpace(email))
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		CheckPassword(dummyHash, password)
		if err := s.log(ctx, audit.Public, audit.ActionLoginFailed, "", "", audit.Failed, map[string]string{"reason": "unknown_account"}); err != nil {
			return "", err
		}
		return "", errLogin
	}
	if err != nil {
		return "", err
	}
	now := s.Now()
	if now.Before(a.LockedUntil) {
		if err := s.log(ctx, audit.Staff(a.ID), audit.ActionLoginFailed, audit.KindAccount, a.ID, audit.Denied, map[string]string{"reason": "locked"}); err != nil {
			return "", err
		}
		return "", &canopy.Error{Code: canopy.ETOOMANY, Key: "error.login.locked"}
	}
	if a.PasswordHash == "" || !CheckPassword(a.PasswordHash, password) {
		return "", s.failed(ctx, a, "password")
	}
	if a.Disabled {
		if err := s.log(ctx, audit.Staff(a.ID), audit.ActionLoginFailed, audit.KindAccount, a.ID, audit.Denied, map[string]string{"reason": "disabled"}); err != nil {
			return "", err
		}
		return "", errLogin
	}
	return s.newSession(ctx, a.ID, stagePassword)
}

// failed records a failed sign-in step and locks the account when it has
// failed too often.
func (s *Service) failed(ctx context.Context, a *store.StoredAccount, reason string) error {
	n := a.FailedLogins + 1
	u := store.AccountUpdate{FailedLogins: &n}
	if n >= freeFailures {
		lock := min(maxLock, time.Minute<<min(n-freeFailures, 10))
		until := s.Now().Add(lock)
		u.LockedUntil = &until
	}
	if err := s.DB.UpdateAccount(ctx, a.ID, u); err != nil {
		return err
	}
	if err := s.log(ctx, audit.Staff(a.ID), audit.ActionLoginFailed, audit.KindAccount, a.ID, audit.Failed, map[string]string{"reason": reason}); err != nil {
		return err
	}
	return errLogin
}

// session returns the live session of token at any stage.
func (s *Service) session(ctx context.Context, token string) (*store.StoredSession, *store.StoredAccount, error) {
	if token == "" {
		return nil, nil, &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.session.none"}
	}
	ss, err := s.DB.SessionByToken(ctx, s.Keys.Hash("session", token))
	if err != nil {
		return nil, nil, err
	}
	now := s.Now()
	expired := !ss.Revoked.IsZero() ||
		now.Sub(ss.Created) > s.absolute() ||
		now.Sub(ss.LastSeen) > s.idle() ||
		(ss.Stage != stageFull && now.Sub(ss.Created) > secondFactorWindow)
	if expired {
		return nil, nil, &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.session.expired"}
	}
	a, err := s.DB.Account(ctx, ss.AccountID)
	if err != nil {
		return nil, nil, err
	}
	if a.Disabled {
		return nil, nil, &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.session.expired"}
	}
	return ss, a, nil
}

// Pending describes a session waiting for its second factor.
type Pending struct {
	Account *canopy.Account
	// NeedsEnrolment is true when the account has no second factor yet
	// and must add one now.
	NeedsEnrolment bool
	// HasTOTP and HasPasskeys say which second factors the account can
	// sign in with.
	HasTOTP, HasPasskeys bool
}

// enrolling checks that a session may add its first second factor: it
// passed the password, and the account has no factor yet. Anything else
// would let a password alone add a factor beside an existing one.
func (s *Service) enrolling(ctx context.Context, ss *store.StoredSession, a *store.StoredAccount) error {
	if ss.Stage != stagePassword || a.TOTPSecret != nil {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.session.complete"}
	}
	has, err := s.HasPasskeys(ctx, a.ID)
	if err != nil {
		return err
	}
	if has {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.session.complete"}
	}
	return nil
}

// PendingSession returns the state of a session that has passed the
// password but not yet the second factor.
func (s *Service) PendingSession(ctx context.Context, token string) (*Pending, error) {
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return nil, err
	}
	if ss.Stage != stagePassword {
		return nil, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.session.complete"}
	}
	has, err := s.HasPasskeys(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return &Pending{Account: &a.Account, NeedsEnrolment: a.TOTPSecret == nil && !has, HasTOTP: a.TOTPSecret != nil, HasPasskeys: has}, nil
}

// SecondFactor completes a sign-in with a TOTP code or a recovery code.
func (s *Service) SecondFactor(ctx context.Context, token, code string) error {
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return err
	}
	if ss.Stage != stagePassword || a.TOTPSecret == nil {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.session.complete"}
	}
	if s.Now().Before(a.LockedUntil) {
		return &canopy.Error{Code: canopy.ETOOMANY, Key: "error.login.locked"}
	}
	ok, method, err := s.checkFactor(ctx, a, code)
	if err != nil {
		return err
	}
	if !ok {
		return s.failed(ctx, a, "second_factor")
	}
	return s.complete(ctx, ss, a, method)
}

func (s *Service) checkFactor(ctx context.Context, a *store.StoredAccount, code string) (bool, string, error) {
	secret, err := s.Keys.System().Open(a.TOTPSecret, totpContext(a.ID))
	if err != nil {
		return false, "", fmt.Errorf("staff: open totp secret of %s: %w", a.ID, err)
	}
	if step := matchTOTP(secret, code, s.Now()); step != 0 {
		fresh, err := s.DB.UseTOTPStep(ctx, a.ID, step)
		return fresh, "totp", err
	}
	if n := seal.NormaliseReceipt(code); n != "" {
		ok, err := s.DB.UseRecoveryCode(ctx, a.ID, s.Keys.Hash("recovery", n), s.Now())
		return ok, "recovery_code", err
	}
	return false, "", nil
}

// complete moves a session to the full stage, resets the failure count and
// records the sign-in.
func (s *Service) complete(ctx context.Context, ss *store.StoredSession, a *store.StoredAccount, method string) error {
	zero, never := 0, time.Time{}
	if err := s.DB.UpdateAccount(ctx, a.ID, store.AccountUpdate{FailedLogins: &zero, LockedUntil: &never}); err != nil {
		return err
	}
	if err := s.log(ctx, audit.Staff(a.ID), audit.ActionLogin, audit.KindAccount, a.ID, audit.OK, map[string]string{"method": method}); err != nil {
		return err
	}
	return s.DB.TouchSession(ctx, ss.ID, stageFull, s.Now())
}

func totpContext(accountID string) string { return "account/" + accountID + "/totp" }

// BeginTOTP makes a new TOTP secret for a session at the enrolment stage
// and returns it with an opaque, sealed ticket that carries it to
// ConfirmTOTP, so nothing is stored until the person proves their app has
// it.
func (s *Service) BeginTOTP(ctx context.Context, token string) (secret []byte, ticket string, err error) {
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return nil, "", err
	}
	if err := s.enrolling(ctx, ss, a); err != nil {
		return nil, "", err
	}
	secret = NewTOTPSecret()
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(s.Now().Add(15*time.Minute).Unix()))
	sealed := s.Keys.System().Seal(append(exp[:], secret...), "totp-ticket/"+ss.ID)
	return secret, base64.RawURLEncoding.EncodeToString(sealed), nil
}

// ConfirmTOTP checks a code from the person's app against the secret in
// the ticket, stores the secret, completes the sign-in, and returns the
// account's recovery codes, shown once.
func (s *Service) ConfirmTOTP(ctx context.Context, token, ticket, code string) ([]string, error) {
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return nil, err
	}
	if err := s.enrolling(ctx, ss, a); err != nil {
		return nil, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(ticket)
	if err != nil {
		return nil, invalid("ticket", "error.totp.expired")
	}
	plain, err := s.Keys.System().Open(raw, "totp-ticket/"+ss.ID)
	if err != nil || len(plain) != 8+20 || s.Now().Unix() > int64(binary.BigEndian.Uint64(plain[:8])) {
		return nil, invalid("ticket", "error.totp.expired")
	}
	secret := plain[8:]
	step := matchTOTP(secret, code, s.Now())
	if step == 0 {
		return nil, invalid("code", "error.totp.wrong")
	}
	sealed := s.Keys.System().Seal(secret, totpContext(a.ID))
	if err := s.DB.UpdateAccount(ctx, a.ID, store.AccountUpdate{TOTPSecret: &sealed, TOTPLastStep: &step}); err != nil {
		return nil, err
	}
	codes, err := s.newRecoveryCodes(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	if err := s.log(ctx, audit.Staff(a.ID), audit.ActionAccountUpdate, audit.KindAccount, a.ID, audit.OK, map[string]string{"change": "totp_enrolled"}); err != nil {
		return nil, err
	}
	return codes, s.complete(ctx, ss, a, "totp")
}

func (s *Service) newRecoveryCodes(ctx context.Context, accountID string) ([]string, error) {
	codes := make([]string, recoveryCodes)
	hashes := make([][]byte, recoveryCodes)
	for i := range codes {
		codes[i] = seal.NewReceipt() // the same 80-bit, read-aloud format
		hashes[i] = s.Keys.Hash("recovery", seal.NormaliseReceipt(codes[i]))
	}
	if err := s.DB.SetRecoveryCodes(ctx, accountID, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// Authenticate returns the account and session of a fully signed-in
// session token, and keeps the session alive. Anything else is
// EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, token string) (*canopy.Account, *canopy.Session, error) {
	ss, a, err := s.session(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if ss.Stage != stageFull {
		return nil, nil, &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.session.none"}
	}
	now := s.Now()
	// Write last-seen at most once a minute: a page load should not cost a
	// write.
	if now.Sub(ss.LastSeen) > time.Minute {
		if err := s.DB.TouchSession(ctx, ss.ID, stageFull, now); err != nil {
			return nil, nil, err
		}
		ss.LastSeen = now
	}
	return &a.Account, &ss.Session, nil
}

// APIToken starts a new, separate session for the holder of a fully
// signed-in session and returns its secret, to be sent as a bearer token
// to the API (an oversight auditor's scripts, say). It ends like any
// session: idle, absolute timeout, revocation, or the account disabled.
func (s *Service) APIToken(ctx context.Context, token string) (string, error) {
	a, _, err := s.Authenticate(ctx, token)
	if err != nil {
		return "", err
	}
	t, err := s.newSession(ctx, a.ID, stageFull)
	if err != nil {
		return "", err
	}
	if err := s.log(ctx, audit.Staff(a.ID), audit.ActionAccountUpdate, audit.KindAccount, a.ID, audit.OK, map[string]string{"change": "api_token"}); err != nil {
		return "", err
	}
	return t, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	ss, _, err := s.session(ctx, token)
	if err != nil {
		return nil // already gone
	}
	if err := s.DB.RevokeSessions(ctx, ss.AccountID, ss.ID, s.Now()); err != nil {
		return err
	}
	return s.log(ctx, audit.Staff(ss.AccountID), audit.ActionLogout, audit.KindAccount, ss.AccountID, audit.OK, nil)
}

// Sessions lists an account's live sessions.
func (s *Service) Sessions(ctx context.Context, accountID string) ([]canopy.Session, error) {
	ss, err := s.DB.Sessions(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []canopy.Session
	now := s.Now()
	for _, x := range ss {
		if now.Sub(x.Created) > s.absolute() || now.Sub(x.LastSeen) > s.idle() {
			continue
		}
		out = append(out, x.Session)
	}
	return out, nil
}

// RevokeSession ends one of an account's sessions, or all of them when
// sessionID is empty.
func (s *Service) RevokeSession(ctx context.Context, by audit.Actor, accountID, sessionID string) error {
	if err := s.log(ctx, by, audit.ActionAccountUpdate, audit.KindAccount, accountID, audit.OK, map[string]string{"change": "sessions_revoked"}); err != nil {
		return err
	}
	return s.DB.RevokeSessions(ctx, accountID, sessionID, s.Now())
}

// SetDisabled disables or re-enables an account; disabling ends its
// sessions at once.
func (s *Service) SetDisabled(ctx context.Context, by audit.Actor, accountID string, disabled bool) error {
	change := "enabled"
	if disabled {
		change = "disabled"
	}
	if err := s.log(ctx, by, audit.ActionAccountUpdate, audit.KindAccount, accountID, audit.OK, map[string]string{"change": change}); err != nil {
		return err
	}
	if err := s.DB.UpdateAccount(ctx, accountID, store.AccountUpdate{Disabled: &disabled}); err != nil {
		return err
	}
	if disabled {
		return s.DB.RevokeSessions(ctx, accountID, "", s.Now())
	}
	return nil
}

// Accounts lists every account.
func (s *Service) Accounts(ctx context.Context) ([]canopy.Account, error) {
	as, err := s.DB.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]canopy.Account, len(as))
	for i, a := range as {
		out[i] = a.Account
	}
	return out, nil
}
