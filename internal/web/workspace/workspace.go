package workspace

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bundle"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/triage"
	"github.com/canopy-org/canopy/internal/web/accesslog"
	"github.com/canopy-org/canopy/internal/web/assets"
	"github.com/canopy-org/canopy/internal/web/secure"
)

// Config is what the workspace needs from the node.
type Config struct {
	Staff  *staff.Service
	Triage *triage.Service
	Audit  *audit.Log
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Secure marks the cookies Secure, for deployments served over TLS.
	Secure bool
	// RP is how the node presents itself to passkeys. Passkeys are not
	// offered when RP.ID is empty.
	RP staff.RelyingParty
	// NodeName names the node in page headers.
	NodeName string
	// Network is the node's side of the federation: peers, routing rules,
	// referrals and their statuses. Required.
	Network *federation.Service
	// Support is the service directory and the support cases. Required.
	Support *support.Service
	// Takedown is notice and takedown: hosts, notices and their
	// addresses. Required.
	Takedown *takedown.Service
	// Indicators is the dashboard's figures; nil for one over the
	// support service's database.
	Indicators *indicators.Service
	// Evidence is investigations and their evidence. Required.
	Evidence *evidence.Service
	// MaxEvidence is the largest upload of an evidence file, in bytes;
	// DefaultMaxEvidence when zero.
	MaxEvidence int64
	// Signer signs the evidence bundles members download: the node's
	// identity. Without it the download is not offered.
	Signer bundle.Signer
}

// maxBody bounds every POST: the longest form is an assessment or a
// message (5,000 characters, percent-encoded), and a passkey's JSON is at
// most 64 KiB. The evidence upload alone streams, under Config.MaxEvidence.
const maxBody = 256 << 10

// Cookie names. They are fixed: the lead's browser test and operators'
// proxies may refer to them.
const (
	sessionCookie = "canopy_staff"
	formCookie    = "canopy_staff_form"
)

type server struct {
	staff      *staff.Service
	triage     *triage.Service
	audit      *audit.Log
	network    *federation.Service
	support    *support.Service
	takedown   *takedown.Service
	indicators *indicators.Service
	evidence   *evidence.Service
	maxUpload  int64         // the largest evidence file taken, in bytes
	signer     bundle.Signer // signs evidence bundles; nil for none
	log        *slog.Logger
	now        func() time.Time
	secure     bool
	rp         staff.RelyingParty
	nodeName   string
	key        []byte // form-token MAC key
	pages      *pages
	assets     *assets.Set
	handler    http.Handler
	patterns   []string // every route, for the permission test

	// setUp is true once the node has an account; it never goes back.
	setUp atomic.Bool
}

// New returns the workspace's handler, which serves every path under
// /staff/.
func New(cfg Config) (http.Handler, error) {
	return newServer(cfg)
}

func newServer(cfg Config) (*server, error) {
	if cfg.Staff == nil || cfg.Triage == nil || cfg.Audit == nil || cfg.Network == nil || cfg.Support == nil || cfg.Takedown == nil ||
		cfg.Evidence == nil {
		return nil, errors.New("workspace: Config.Staff, Triage, Audit, Network, Support, Takedown and Evidence are required")
	}
	s := &server{
		staff:      cfg.Staff,
		triage:     cfg.Triage,
		audit:      cfg.Audit,
		network:    cfg.Network,
		support:    cfg.Support,
		takedown:   cfg.Takedown,
		indicators: cfg.Indicators,
		evidence:   cfg.Evidence,
		maxUpload:  cfg.MaxEvidence,
		signer:     cfg.Signer,
		log:        cfg.Logger,
		now:        cfg.Now,
		secure:     cfg.Secure,
		rp:         cfg.RP,
		nodeName:   cfg.NodeName,
		key:        make([]byte, 32),
	}
	rand.Read(s.key)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxEvidence
	}
	if s.indicators == nil {
		s.indicators = &indicators.Service{DB: cfg.Support.DB, Now: s.now}
	}
	var err error
	if s.assets, err = assets.Load(staticFiles, "static", "/staff/static/"); err != nil {
		return nil, err
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		s.patterns = append(s.patterns, pattern)
		mux.HandleFunc(pattern, h)
	}
	handle("GET /staff/static/{file}", s.assets.Serve)

	handle("GET /staff/setup", s.setupForm)
	handle("POST /staff/setup", s.post(s.setupSubmit))
	handle("GET /staff/invite", s.inviteForm)
	handle("POST /staff/invite", s.post(s.inviteSubmit))
	handle("GET /staff/enrol", s.enrolForm)
	handle("POST /staff/enrol", s.post(s.enrolSubmit))
	handle("GET /staff/login", s.loginForm)
	handle("POST /staff/login", s.post(s.loginSubmit))
	handle("GET /staff/login/factor", s.factorForm)
	handle("POST /staff/login/factor", s.post(s.factorSubmit))
	handle("POST /staff/logout", s.post(s.logout))
	handle("POST /staff/passkey/register/begin", s.post(s.passkeyRegisterBegin))
	handle("POST /staff/passkey/register/finish", s.post(s.passkeyRegisterFinish))
	handle("POST /staff/passkey/login/begin", s.post(s.passkeyLoginBegin))
	handle("POST /staff/passkey/login/finish", s.post(s.passkeyLoginFinish))

	handle("GET /staff/{$}", s.signedIn(s.queue))
	handle("GET /staff/reports/{id}", s.signedIn(s.report))
	handle("POST /staff/reports/{id}/open", s.post(s.signedIn(s.openReport)))
	handle("POST /staff/reports/{id}/claim", s.post(s.signedIn(s.claim)))
	handle("POST /staff/reports/{id}/assess", s.post(s.signedIn(s.assess)))
	handle("POST /staff/reports/{id}/review", s.post(s.signedIn(s.review)))
	handle("POST /staff/reports/{id}/merge", s.post(s.signedIn(s.merge)))
	handle("POST /staff/reports/{id}/message", s.post(s.signedIn(s.sendMessage)))
	handle("POST /staff/reports/{id}/jurisdiction", s.post(s.signedIn(s.chooseJurisdiction)))
	handle("POST /staff/reports/{id}/refer", s.post(s.signedIn(s.refer)))
	handle("POST /staff/reports/{id}/status", s.post(s.signedIn(s.sendStatus)))
	handle("GET /staff/unrouted", s.signedIn(s.unrouted))

	handle("GET /staff/accounts", s.signedIn(s.accounts))
	handle("POST /staff/accounts/invite", s.post(s.signedIn(s.invite)))
	handle("POST /staff/accounts/{id}/disable", s.post(s.signedIn(s.disable)))
	handle("POST /staff/accounts/{id}/enable", s.post(s.signedIn(s.enable)))
	handle("POST /staff/accounts/{id}/revoke", s.post(s.signedIn(s.revokeAll)))

	handle("GET /staff/network", s.signedIn(s.networkHome))
	handle("POST /staff/network/peers", s.post(s.signedIn(s.addPeer)))
	handle("GET /staff/network/peers/{id}", s.signedIn(s.peer))
	handle("POST /staff/network/peers/{id}", s.post(s.signedIn(s.changePeer)))
	handle("POST /staff/network/peers/{id}/suspend", s.post(s.signedIn(s.suspendPeer)))
	handle("POST /staff/network/peers/{id}/resume", s.post(s.signedIn(s.resumePeer)))
	handle("GET /staff/network/peers/{id}/remove", s.signedIn(s.confirmRemovePeer))
	handle("POST /staff/network/peers/{id}/remove", s.post(s.signedIn(s.removePeer)))
	handle("POST /staff/network/routes", s.post(s.signedIn(s.setRoute)))
	handle("POST /staff/network/routes/{jurisdiction}/remove", s.post(s.signedIn(s.removeRoute)))
	handle("POST /staff/network/subscriptions", s.post(s.signedIn(s.subscribe)))

	s.serviceRoutes(handle)                                 // services.go: the support directory
	s.caseRoutes(handle)                                    // cases.go: support cases, safety plans, check-ins, consent
	s.takedownRoutes(handle)                                // takedown.go: notices, the board, hosts and their scorecard
	s.investigationRoutes(handle)                           // investigations.go: investigations and their evidence
	handle("GET /staff/dashboard", s.signedIn(s.dashboard)) // dashboard.go: the indicators

	handle("GET /staff/account", s.signedIn(s.ownAccount))
	handle("POST /staff/account/sessions/revoke", s.post(s.signedIn(s.revokeOwnSession)))
	handle("POST /staff/account/token", s.post(s.signedIn(s.newAPIToken)))
	handle("POST /staff/account/passkeys/remove", s.post(s.signedIn(s.removePasskey)))

	handle("GET /staff/audit", s.signedIn(s.auditLog))
	handle("GET /staff/audit/opened", s.signedIn(s.auditOpenedLookup))
	handle("GET /staff/audit/reports/{id}", s.signedIn(s.auditOpened))

	handle("/staff/", s.notFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOrigin))
	s.handler = accesslog.Handler(s.log, "workspace", secure.Headers(s.setupGate(cop.Handler(mux))))
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// passkeyPolicy is the policy of the pages that offer passkeys: staff.js
// must fetch the ceremony's options from the node, which default-src
// 'none' forbids. It may connect to the node and nowhere else.
const passkeyPolicy = secure.Policy + "; connect-src 'self'"

// setupGate answers every page but the set-up page and the static files
// with an explanation while the node has no staff at all.
func (s *server) setupGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.setUp.Load() || r.URL.Path == "/staff/setup" || strings.HasPrefix(r.URL.Path, "/staff/static/") {
			next.ServeHTTP(w, r)
			return
		}
		need, err := s.staff.SetupNeeded(r.Context())
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if need {
			s.messageFor(w, r, http.StatusServiceUnavailable, nil, messageView{Heading: "No administrator yet", NoSignIn: true,
				Detail: "This node has no administrator yet. Use the set-up link printed in the node's log when it started."})
			return
		}
		s.setUp.Store(true)
		next.ServeHTTP(w, r)
	})
}

// post wraps every POST handler: a cap on the body, the parsed form (a
// JSON body is left for the handler), and the form token, from the "csrf"
// field or the X-CSRF-Token header.
func (s *server) post(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		token := r.Header.Get("X-CSRF-Token")
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			if err := r.ParseForm(); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					s.message(w, r, http.StatusRequestEntityTooLarge, "Too much at once", "What was sent is larger than any form here takes.")
					return
				}
				s.message(w, r, http.StatusBadRequest, "Could not read the form", "Please go back and try again.")
				return
			}
			token = r.PostForm.Get("csrf")
		}
		if !s.validToken(r, token) {
			if isJSON(r) {
				s.jsonError(w, http.StatusForbidden, "This page has expired. Please reload it and try again.")
				return
			}
			s.message(w, r, http.StatusForbidden, "This form has expired",
				"Nothing was changed. Please go back, reload the page and try again.")
			return
		}
		h(w, r)
	}
}

func isJSON(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

// crossOrigin answers a POST that a browser says came from another site.
func (s *server) crossOrigin(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusForbidden, "Refused", "This request came from another website, so it was refused. Nothing was changed.")
}

// member is a signed-in member of staff and the request they make.
type member struct {
	account *canopy.Account
	session *canopy.Session
	token   string // the session secret, for the services that take it
}

// signedIn runs h for a fully signed-in member; anyone else is sent to the
// sign-in page.
func (s *server) signedIn(h func(http.ResponseWriter, *http.Request, *member)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := sessionToken(r)
		a, sess, err := s.staff.Authenticate(r.Context(), token)
		if err != nil {
			if canopy.ErrorCode(err) == canopy.EUNAUTHORIZED || canopy.ErrorCode(err) == canopy.ENOTFOUND {
				http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
				return
			}
			s.internalError(w, r, err)
			return
		}
		h(w, r, &member{account: a, session: sess, token: token})
	}
}

// require checks a permission for the pages that no service checks for
// them, and writes a refusal to the audit log as the services do.
func (s *server) require(w http.ResponseWriter, r *http.Request, m *member, p access.Permission) bool {
	if access.Can(m.account.Role, p) {
		return true
	}
	_, err := s.audit.Append(context.WithoutCancel(r.Context()), audit.Entry{Actor: audit.Staff(m.account.ID), Action: audit.ActionPermissionDenied,
		Outcome: audit.Denied, Details: map[string]string{"permission": string(p)}})
	if err != nil {
		s.internalError(w, r, err)
		return false
	}
	s.forbidden(w, r, m)
	return false
}

// home is where a member lands after signing in: the first page their
// role may use.
func home(a *canopy.Account) string {
	switch {
	case access.Can(a.Role, access.QueueView):
		return "/staff/"
	case access.Can(a.Role, access.AccountManage):
		return "/staff/accounts"
	case access.Can(a.Role, access.AuditRead):
		return "/staff/audit"
	}
	return "/staff/account"
}
