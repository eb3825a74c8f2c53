package workspace

import (
	"encoding/base32"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/staff"
)

// Signing in and enrolling. The flows are:
//
//	/staff/setup?token=…   first administrator ─┐
//	/staff/invite?token=…  invited member ──────┼─> /staff/enrol (TOTP or passkey) -> recovery codes -> home
//	/staff/login  email and password ──> /staff/login/factor (code or passkey) ──> home
//
// A session that has passed the password but not the second factor is
// only good for the next step, for five minutes (internal/staff).

// Labels of the sign-in fields, for error summaries.
var authLabels = map[string]string{
	"email":     "Email address",
	"name":      "Name",
	"password":  "Password",
	"password2": "Password again",
	"code":      "Code",
	"ticket":    "Enrolment",
}

// credentialsView is the set-up, invitation and sign-in forms as typed.
// Passwords are never shown again.
type credentialsView struct {
	Token string // the one-time link's secret
	Email string
	Name  string
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func (s *server) alreadySetUp(w http.ResponseWriter, r *http.Request) {
	s.messageFor(w, r, http.StatusConflict, nil, messageView{Heading: "Already set up",
		Detail: messageOf("error.setup.done"), Link: "/staff/login", LinkLabel: "Sign in"})
}

func (s *server) badLink(w http.ResponseWriter, r *http.Request, detail string) {
	s.messageFor(w, r, http.StatusNotFound, nil, messageView{Heading: "This link does not work", Detail: detail})
}

const setupLinkHelp = "This set-up link is not valid: it may have been used already, or be more than a day old. " +
	"Restart the node to print a new one."

const inviteLinkHelp = "This invitation is not valid: it may have been used already, or be more than three days old. " +
	"Ask an administrator for a new one."

func (s *server) setupForm(w http.ResponseWriter, r *http.Request) {
	need, err := s.staff.SetupNeeded(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !need {
		s.alreadySetUp(w, r)
		return
	}
	token := r.URL.Query().Get("token")
	if err := s.staff.CheckToken(r.Context(), "setup", token); err != nil {
		if canopy.ErrorCode(err) == canopy.ENOTFOUND {
			s.badLink(w, r, setupLinkHelp)
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.renderCredentials(w, r, http.StatusOK, "setup", "Set up the first administrator", credentialsView{Token: token}, nil)
}

func (s *server) renderCredentials(w http.ResponseWriter, r *http.Request, status int, name, title string, v credentialsView, errs *formErrors) {
	p := s.newPage(r, name, title, nil)
	s.withForm(w, r, p)
	p.Data, p.Errors = v, errs
	s.render(w, r, status, p)
}

// passwordsMatch checks the "again" field, which catches a typo before it
// locks someone out of a node with one administrator.
func passwordsMatch(r *http.Request) *formErrors {
	if r.PostForm.Get("password") != r.PostForm.Get("password2") {
		return newFormErrors([]canopy.FieldError{{Field: "password2", Key: "error.password.mismatch"}}, authLabels, nil)
	}
	return nil
}

func (s *server) setupSubmit(w http.ResponseWriter, r *http.Request) {
	v := credentialsView{Token: r.PostForm.Get("token"), Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name")}
	const title = "Set up the first administrator"
	if errs := passwordsMatch(r); errs != nil {
		s.renderCredentials(w, r, http.StatusUnprocessableEntity, "setup", title, v, errs)
		return
	}
	token, err := s.staff.Setup(r.Context(), v.Token, staff.AccountInput{Email: v.Email, Name: v.Name}, r.PostForm.Get("password"))
	switch canopy.ErrorCode(err) {
	case "":
	case canopy.EINVALID:
		s.renderCredentials(w, r, http.StatusUnprocessableEntity, "setup", title, v, newFormErrors(canopy.AsError(err).Fields, authLabels, nil))
		return
	case canopy.ENOTFOUND:
		s.badLink(w, r, setupLinkHelp)
		return
	case canopy.ECONFLICT:
		s.alreadySetUp(w, r)
		return
	default:
		s.internalError(w, r, err)
		return
	}
	s.setUp.Store(true)
	s.startSession(w, token)
	http.Redirect(w, r, "/staff/enrol", http.StatusSeeOther)
}

func (s *server) inviteForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if err := s.staff.CheckToken(r.Context(), "invite", token); err != nil {
		if canopy.ErrorCode(err) == canopy.ENOTFOUND {
			s.badLink(w, r, inviteLinkHelp)
			return
		}
		s.internalError(w, r, err)
		return
	}
	s.renderCredentials(w, r, http.StatusOK, "invite", "Join the team", credentialsView{Token: token}, nil)
}

func (s *server) inviteSubmit(w http.ResponseWriter, r *http.Request) {
	v := credentialsView{Token: r.PostForm.Get("token")}
	const title = "Join the team"
	if errs := passwordsMatch(r); errs != nil {
		s.renderCredentials(w, r, http.StatusUnprocessableEntity, "invite", title, v, errs)
		return
	}
	token, err := s.staff.AcceptInvite(r.Context(), v.Token, r.PostForm.Get("password"))
	switch canopy.ErrorCode(err) {
	case "":
	case canopy.EINVALID:
		s.renderCredentials(w, r, http.StatusUnprocessableEntity, "invite", title, v, newFormErrors(canopy.AsError(err).Fields, authLabels, nil))
		return
	case canopy.ENOTFOUND:
		s.badLink(w, r, inviteLinkHelp)
		return
	default:
		s.internalError(w, r, err)
		return
	}
	s.startSession(w, token)
	http.Redirect(w, r, "/staff/enrol", http.StatusSeeOther)
}

// enrolView is the TOTP enrolment page. Secret is the key in base32, kept
// in the form only so a mistyped code shows the same key again; the
// server trusts only the sealed ticket.
type enrolView struct {
	Key    string
	URI    template.URL // otpauth://, which html/template would refuse as a string
	Secret string
	Ticket string
}

// pending returns the sign-in in progress, or sends the browser where it
// belongs: to sign in when there is none, home when it is complete.
func (s *server) pending(w http.ResponseWriter, r *http.Request) (*staff.Pending, bool) {
	token := sessionToken(r)
	pend, err := s.staff.PendingSession(r.Context(), token)
	switch canopy.ErrorCode(err) {
	case "":
		return pend, true
	case canopy.EUNAUTHORIZED, canopy.ENOTFOUND:
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
	case canopy.ECONFLICT:
		a, _, err := s.staff.Authenticate(r.Context(), token)
		if err != nil {
			http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
			return nil, false
		}
		http.Redirect(w, r, home(a), http.StatusSeeOther)
	default:
		s.internalError(w, r, err)
	}
	return nil, false
}

func (s *server) enrolForm(w http.ResponseWriter, r *http.Request) {
	pend, ok := s.pending(w, r)
	if !ok {
		return
	}
	if !pend.NeedsEnrolment {
		http.Redirect(w, r, "/staff/login/factor", http.StatusSeeOther)
		return
	}
	s.renderEnrol(w, r, pend, nil, nil, "")
}

// renderEnrol shows the enrolment page, with a new key unless secret and
// ticket carry one already.
func (s *server) renderEnrol(w http.ResponseWriter, r *http.Request, pend *staff.Pending, secret []byte, errs *formErrors, ticket string) {
	status := http.StatusOK
	if errs != nil {
		status = http.StatusUnprocessableEntity
	}
	if secret == nil || ticket == "" {
		var err error
		secret, ticket, err = s.staff.BeginTOTP(r.Context(), sessionToken(r))
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	p := s.newPage(r, "enrol", "Add a second factor", nil)
	s.withForm(w, r, p)
	p.Errors = errs
	p.Data = enrolView{
		Key:    staff.TOTPKey(secret),
		URI:    template.URL(staff.TOTPURI(secret, s.staff.Issuer, pend.Account.Email)), // made here, not typed by anyone
		Secret: b32.EncodeToString(secret),
		Ticket: ticket,
	}
	s.render(w, r, status, p)
}

// recoveryView lists the recovery codes, shown once.
type recoveryView struct {
	Codes []string
	Next  string
}

func (s *server) enrolSubmit(w http.ResponseWriter, r *http.Request) {
	pend, ok := s.pending(w, r)
	if !ok {
		return
	}
	ticket := r.PostForm.Get("ticket")
	secret, err := b32.DecodeString(r.PostForm.Get("secret"))
	if err != nil {
		secret = nil
	}
	codes, err := s.staff.ConfirmTOTP(r.Context(), sessionToken(r), ticket, r.PostForm.Get("code"))
	if err != nil {
		e := canopy.AsError(err)
		if e.Code != canopy.EINVALID {
			s.fail(w, r, nil, err)
			return
		}
		for _, f := range e.Fields {
			if f.Field == "ticket" {
				secret, ticket = nil, "" // expired: start again with a new key
			}
		}
		s.renderEnrol(w, r, pend, secret, newFormErrors(e.Fields, authLabels, map[string]string{"ticket": "code"}), ticket)
		return
	}
	p := s.newPage(r, "recovery", "Save your recovery codes", nil)
	p.Data = recoveryView{Codes: codes, Next: home(pend.Account)}
	s.render(w, r, http.StatusOK, p)
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if a, _, err := s.staff.Authenticate(r.Context(), sessionToken(r)); err == nil {
		http.Redirect(w, r, home(a), http.StatusSeeOther)
		return
	}
	s.renderCredentials(w, r, http.StatusOK, "login", "Sign in", credentialsView{}, nil)
}

func (s *server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	v := credentialsView{Email: r.PostForm.Get("email")}
	token, err := s.staff.Login(r.Context(), v.Email, r.PostForm.Get("password"))
	switch canopy.ErrorCode(err) {
	case "":
	case canopy.EUNAUTHORIZED:
		s.renderCredentials(w, r, http.StatusUnauthorized, "login", "Sign in", v, formError(messageOf("error.login.failed")))
		return
	case canopy.ETOOMANY:
		s.renderCredentials(w, r, http.StatusTooManyRequests, "login", "Sign in", v, formError(messageOf("error.login.locked")))
		return
	default:
		s.internalError(w, r, err)
		return
	}
	s.startSession(w, token)
	http.Redirect(w, r, "/staff/login/factor", http.StatusSeeOther)
}

// factorView is the second step of signing in.
type factorView struct {
	TOTP, Passkey bool
}

func (s *server) factorForm(w http.ResponseWriter, r *http.Request) {
	pend, ok := s.pending(w, r)
	if !ok {
		return
	}
	if pend.NeedsEnrolment {
		http.Redirect(w, r, "/staff/enrol", http.StatusSeeOther)
		return
	}
	s.renderFactor(w, r, pend, http.StatusOK, nil)
}

func (s *server) renderFactor(w http.ResponseWriter, r *http.Request, pend *staff.Pending, status int, errs *formErrors) {
	p := s.newPage(r, "factor", "Confirm it is you", nil)
	s.withForm(w, r, p)
	p.Errors = errs
	p.Data = factorView{TOTP: pend.HasTOTP, Passkey: pend.HasPasskeys && s.rp.ID != ""}
	s.render(w, r, status, p)
}

func (s *server) factorSubmit(w http.ResponseWriter, r *http.Request) {
	pend, ok := s.pending(w, r)
	if !ok {
		return
	}
	token := sessionToken(r)
	err := s.staff.SecondFactor(r.Context(), token, r.PostForm.Get("code"))
	switch e := canopy.AsError(err); {
	case err == nil:
		a, _, err := s.staff.Authenticate(r.Context(), token)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		http.Redirect(w, r, home(a), http.StatusSeeOther)
	case e.Code == canopy.EUNAUTHORIZED && e.Key == "error.login.failed":
		s.renderFactor(w, r, pend, http.StatusUnauthorized, formError(messageOf("error.login.failed")))
	case e.Code == canopy.ETOOMANY:
		s.renderFactor(w, r, pend, http.StatusTooManyRequests, formError(messageOf("error.login.locked")))
	case e.Code == canopy.ECONFLICT && pend.NeedsEnrolment:
		http.Redirect(w, r, "/staff/enrol", http.StatusSeeOther)
	default:
		s.fail(w, r, nil, err)
	}
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.staff.Logout(r.Context(), sessionToken(r)); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.endSession(w)
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}

// The passkey endpoints are called by staff.js with JSON. Begin answers
// {"options": {...}, "ticket": "…"}: the options go to
// navigator.credentials, the ticket comes back with the credential to
// Finish, which answers {"next": "/staff/…"}, the page to go to.

type passkeyBegun struct {
	Options json.RawMessage `json:"options"`
	Ticket  string          `json:"ticket"`
}

type passkeyFinish struct {
	Ticket     string          `json:"ticket"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

func (s *server) readFinish(w http.ResponseWriter, r *http.Request) (*passkeyFinish, bool) {
	if s.rp.ID == "" {
		s.jsonError(w, http.StatusNotFound, "This node does not offer passkeys.")
		return nil, false
	}
	var f passkeyFinish
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil || len(f.Credential) == 0 {
		s.jsonError(w, http.StatusBadRequest, "The browser's answer could not be read. Please try again.")
		return nil, false
	}
	return &f, true
}

// passkeyFail answers a failed passkey step. A failed sign-in gets the
// same words as a wrong code.
func (s *server) passkeyFail(w http.ResponseWriter, r *http.Request, err error) {
	e := canopy.AsError(err)
	msg := messageOf(e.Key)
	if len(e.Fields) > 0 {
		msg = messageOf(e.Fields[0].Key)
	}
	switch e.Code {
	case canopy.EUNAUTHORIZED:
		if e.Key != "error.login.failed" {
			msg = messageOf("error.session.expired")
		}
		s.log.Info("workspace: passkey refused", "err", err) // the cause, such as a wrong origin, for the operator
		s.jsonError(w, http.StatusUnauthorized, msg)
	case canopy.ETOOMANY:
		s.jsonError(w, http.StatusTooManyRequests, msg)
	case canopy.ECONFLICT:
		s.jsonError(w, http.StatusConflict, msg)
	case canopy.EINVALID:
		s.log.Info("workspace: passkey refused", "err", err)
		s.jsonError(w, http.StatusBadRequest, msg)
	case canopy.EFORBIDDEN:
		s.jsonError(w, http.StatusForbidden, messageOf("error.forbidden"))
	case canopy.ENOTFOUND:
		s.jsonError(w, http.StatusNotFound, msg)
	default:
		s.internalError(w, r, err)
	}
}

// mayAddPasskey checks, for a fully signed-in session, that the role may
// manage its own factors. A session still enrolling is checked by
// internal/staff.
func (s *server) mayAddPasskey(w http.ResponseWriter, r *http.Request) (full, ok bool) {
	if s.rp.ID == "" {
		s.jsonError(w, http.StatusNotFound, "This node does not offer passkeys.")
		return false, false
	}
	a, _, err := s.staff.Authenticate(r.Context(), sessionToken(r))
	if err != nil {
		return false, true
	}
	if !access.Can(a.Role, access.OwnAccount) {
		s.passkeyFail(w, r, &canopy.Error{Code: canopy.EFORBIDDEN})
		return true, false
	}
	return true, true
}

func (s *server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.mayAddPasskey(w, r); !ok {
		return
	}
	opts, ticket, err := s.staff.BeginPasskey(r.Context(), s.rp, sessionToken(r))
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyBegun{Options: opts, Ticket: ticket})
}

func (s *server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	full, ok := s.mayAddPasskey(w, r)
	if !ok {
		return
	}
	f, ok := s.readFinish(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(f.Name)
	if name == "" {
		name = "Passkey"
	}
	token := sessionToken(r)
	if err := s.staff.FinishPasskey(r.Context(), s.rp, token, f.Ticket, f.Credential, name); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	if full {
		writeJSON(w, http.StatusOK, map[string]string{"next": "/staff/account?done=passkey_added"})
		return
	}
	// Enrolment with a passkey completes the sign-in.
	a, _, err := s.staff.Authenticate(r.Context(), token)
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next": home(a)})
}

func (s *server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	if s.rp.ID == "" {
		s.jsonError(w, http.StatusNotFound, "This node does not offer passkeys.")
		return
	}
	opts, ticket, err := s.staff.BeginPasskeyLogin(r.Context(), s.rp, sessionToken(r))
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyBegun{Options: opts, Ticket: ticket})
}

func (s *server) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFinish(w, r)
	if !ok {
		return
	}
	token := sessionToken(r)
	if err := s.staff.FinishPasskeyLogin(r.Context(), s.rp, token, f.Ticket, f.Credential); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	a, _, err := s.staff.Authenticate(r.Context(), token)
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"next": home(a)})
}
