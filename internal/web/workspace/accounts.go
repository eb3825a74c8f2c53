package workspace

import (
	"net/http"
	"slices"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
)

type accountsView struct {
	Accounts   []accountRow
	Roles      []canopy.Role
	Invite     inviteForm
	InviteLink string // the one-time link, shown once in the answer to the invitation
	Invited    string // whom the link is for
}

type accountRow struct {
	canopy.Account
	State string
	Self  bool
}

type inviteForm struct {
	Email, Name   string
	Role          canopy.Role
	Jurisdictions string
}

var accountLabels = map[string]string{
	"email":         "Email address",
	"name":          "Name",
	"role":          "Role",
	"jurisdictions": "Jurisdictions",
}

var accountTargets = map[string]string{"role": "role"}

var accountNotices = map[string]string{
	"disabled": "The account is disabled and its sessions are ended.",
	"enabled":  "The account is enabled again.",
	"revoked":  "Every session of the account is ended.",
}

func accountState(a *canopy.Account) string {
	switch {
	case a.Disabled:
		return "Disabled"
	case !a.Enrolled:
		return "Invited, not enrolled yet"
	}
	return "Active"
}

func (s *server) accountsPage(w http.ResponseWriter, r *http.Request, m *member) (*page, *accountsView, bool) {
	if !s.require(w, r, m, access.AccountManage) {
		return nil, nil, false
	}
	as, err := s.staff.Accounts(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v := &accountsView{Roles: canopy.Roles, Invite: inviteForm{Role: canopy.RoleAnalyst}}
	for _, a := range as {
		v.Accounts = append(v.Accounts, accountRow{Account: a, State: accountState(&a), Self: a.ID == m.account.ID})
	}
	p := s.newPage(r, "accounts", "Accounts", m)
	s.withForm(w, r, p)
	return p, v, true
}

func (s *server) accounts(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.accountsPage(w, r, m)
	if !ok {
		return
	}
	p.Notice = accountNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

func (s *server) invite(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.AccountManage) {
		return
	}
	f := inviteForm{Email: r.PostForm.Get("email"), Name: r.PostForm.Get("name"), Role: canopy.Role(r.PostForm.Get("role")),
		Jurisdictions: r.PostForm.Get("jurisdictions")}
	in := staff.AccountInput{Email: f.Email, Name: f.Name, Role: f.Role,
		Jurisdictions: strings.FieldsFunc(f.Jurisdictions, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t' })}
	a, token, err := s.staff.Invite(r.Context(), audit.Staff(m.account.ID), in)
	if e := canopy.AsError(err); err != nil {
		if e.Code == canopy.ECONFLICT && e.Key == "error.account.email_taken" {
			e = &canopy.Error{Code: canopy.EINVALID, Fields: []canopy.FieldError{{Field: "email", Key: e.Key}}}
		}
		if e.Code != canopy.EINVALID {
			s.fail(w, r, m, err)
			return
		}
		p, v, ok := s.accountsPage(w, r, m)
		if !ok {
			return
		}
		v.Invite = f
		p.Errors = newFormErrors(e.Fields, accountLabels, accountTargets)
		p.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	p, v, ok := s.accountsPage(w, r, m)
	if !ok {
		return
	}
	v.InviteLink = s.origin(r) + "/staff/invite?token=" + token
	v.Invited = a.Email
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// origin is the scheme and host the member reached the node at, for links
// they copy to someone else.
func (s *server) origin(r *http.Request) string {
	scheme := "http"
	if s.secure || r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// target finds the account an administrator acts on.
func (s *server) target(w http.ResponseWriter, r *http.Request, m *member) (*canopy.Account, bool) {
	if !s.require(w, r, m, access.AccountManage) {
		return nil, false
	}
	as, err := s.staff.Accounts(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, false
	}
	i := slices.IndexFunc(as, func(a canopy.Account) bool { return a.ID == r.PathValue("id") })
	if i < 0 {
		s.notFoundFor(w, r, m)
		return nil, false
	}
	return &as[i], true
}

func (s *server) setDisabled(w http.ResponseWriter, r *http.Request, m *member, disabled bool) {
	a, ok := s.target(w, r, m)
	if !ok {
		return
	}
	if disabled && a.ID == m.account.ID {
		s.messageFor(w, r, http.StatusConflict, m, messageView{Heading: "That could not be done",
			Detail: messageOf("error.account.self"), Link: "/staff/accounts", LinkLabel: "Back to accounts"})
		return
	}
	if err := s.staff.SetDisabled(r.Context(), audit.Staff(m.account.ID), a.ID, disabled); err != nil {
		s.fail(w, r, m, err)
		return
	}
	what := "enabled"
	if disabled {
		what = "disabled"
	}
	http.Redirect(w, r, "/staff/accounts?done="+what, http.StatusSeeOther)
}

func (s *server) disable(w http.ResponseWriter, r *http.Request, m *member) {
	s.setDisabled(w, r, m, true)
}
func (s *server) enable(w http.ResponseWriter, r *http.Request, m *member) {
	s.setDisabled(w, r, m, false)
}

func (s *server) revokeAll(w http.ResponseWriter, r *http.Request, m *member) {
	a, ok := s.target(w, r, m)
	if !ok {
		return
	}
	if err := s.staff.RevokeSession(r.Context(), audit.Staff(m.account.ID), a.ID, ""); err != nil {
		s.fail(w, r, m, err)
		return
	}
	if a.ID == m.account.ID {
		s.endSession(w)
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/staff/accounts?done=revoked", http.StatusSeeOther)
}

type ownAccountView struct {
	Sessions []sessionRow
	Passkeys []staff.PasskeyInfo
	// Token is a new API token, shown once, right after it is made.
	Token string
}

type sessionRow struct {
	canopy.Session
	Current bool
}

var ownNotices = map[string]string{
	"revoked":         "The session is ended.",
	"passkey_removed": "The passkey is removed.",
	"passkey_added":   "The passkey is added.",
}

func (s *server) ownAccount(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.OwnAccount) {
		return
	}
	sessions, err := s.staff.Sessions(r.Context(), m.account.ID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	keys, err := s.staff.Passkeys(r.Context(), m.account.ID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	v := ownAccountView{Passkeys: keys}
	for _, x := range sessions {
		v.Sessions = append(v.Sessions, sessionRow{Session: x, Current: x.ID == m.session.ID})
	}
	p := s.newPage(r, "account", "My account", m)
	s.withForm(w, r, p)
	p.Notice = ownNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// newAPIToken makes a bearer token for the API, such as an auditor's
// scripts use to fetch entries and proofs, and shows it once.
func (s *server) newAPIToken(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.OwnAccount) {
		return
	}
	token, err := s.staff.APIToken(r.Context(), m.token)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	sessions, err := s.staff.Sessions(r.Context(), m.account.ID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	keys, err := s.staff.Passkeys(r.Context(), m.account.ID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	v := ownAccountView{Passkeys: keys, Token: token}
	for _, x := range sessions {
		v.Sessions = append(v.Sessions, sessionRow{Session: x, Current: x.ID == m.session.ID})
	}
	p := s.newPage(r, "account", "My account", m)
	s.withForm(w, r, p)
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

func (s *server) revokeOwnSession(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.OwnAccount) {
		return
	}
	id := r.PostForm.Get("session")
	sessions, err := s.staff.Sessions(r.Context(), m.account.ID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if id == "" || !slices.ContainsFunc(sessions, func(x canopy.Session) bool { return x.ID == id }) {
		s.notFoundFor(w, r, m)
		return
	}
	if err := s.staff.RevokeSession(r.Context(), audit.Staff(m.account.ID), m.account.ID, id); err != nil {
		s.fail(w, r, m, err)
		return
	}
	if id == m.session.ID {
		s.endSession(w)
		http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/staff/account?done=revoked", http.StatusSeeOther)
}

func (s *server) removePasskey(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.OwnAccount) {
		return
	}
	err := s.staff.RemovePasskey(r.Context(), audit.Staff(m.account.ID), m.account.ID, r.PostForm.Get("passkey"))
	if err != nil {
		if canopy.ErrorCode(err) == canopy.ECONFLICT {
			s.messageFor(w, r, http.StatusConflict, m, messageView{Heading: "That could not be done",
				Detail: messageOf(canopy.AsError(err).Key), Link: "/staff/account", LinkLabel: "Back to my account"})
			return
		}
		s.fail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/account?done=passkey_removed", http.StatusSeeOther)
}
