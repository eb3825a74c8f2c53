package workspace

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/store"
)

// request is one call of a route, made fresh for each caller so that no
// case depends on another's side effects.
type request struct {
	path   string
	form   url.Values
	json   any    // for the passkey endpoints
	report string // the report the call is about, whose details a refusal must not show
	// upload, when set, is sent as the evidence upload form is.
	upload *upload
}

// route is one route of the workspace and the permission that guards it.
// A route with no permission is open to every signed-in member; want
// overrides the matrix for the routes that are not behind sign-in.
type route struct {
	method, pattern string
	perm            access.Permission
	// prep builds the request for a caller (nil for anonymous).
	prep func(e *env, caller *account, b *browser) request
	// want, when set, gives the expected status for a caller (nil for
	// anonymous) instead of the matrix.
	want func(caller *account) int
}

func fixed(path string) func(*env, *account, *browser) request {
	return func(*env, *account, *browser) request { return request{path: path} }
}

// freshReport is a new report in the queue.
func freshReport(e *env) string { return e.submit("sextortion", "FR") }

// decidedReport is a report an analyst has claimed and assessed.
func decidedReport(e *env) string {
	ctx := context.Background()
	id := freshReport(e)
	analyst := e.members[canopy.RoleAnalyst].Account
	if err := e.triage.Claim(ctx, analyst, id); err != nil {
		e.t.Fatal(err)
	}
	a := canopy.Assessment{Category: "sextortion", Outcome: canopy.OutcomeRefer, Reasons: "threats and demands for images"}
	if err := e.triage.Assess(ctx, analyst, id, a); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// invitee is a new account for an administrator to act on.
func invitee(e *env) string {
	e.n++
	a, _, err := e.staff.Invite(context.Background(), audit.Staff(e.members[canopy.RoleAdministrator].ID),
		staff.AccountInput{Email: fmt.Sprintf("invitee%d@example.org", e.n), Name: "Invitee", Role: canopy.RoleAnalyst})
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

func validAssessment() url.Values {
	return url.Values{"category": {"sextortion"}, "flags": {"financial"}, "imagery": {""}, "outcome": {canopy.OutcomeRefer},
		"reasons": {"demands for money and images"}}
}

// routes is every route the workspace serves.
var routes = []route{
	// Signed-in pages and actions, guarded by the matrix.
	{method: "GET", pattern: "/staff/{$}", perm: access.QueueView, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/", report: id}
	}},
	{method: "GET", pattern: "/staff/reports/{id}", perm: access.ReportView, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/reports/" + id, report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/open", perm: access.ReportOpen, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/reports/" + id + "/open", report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/claim", perm: access.ReportClaim, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/reports/" + id + "/claim", report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/assess", perm: access.ReportAssess, prep: func(e *env, c *account, _ *browser) request {
		id := freshReport(e)
		if c != nil && access.Can(c.Role, access.ReportClaim) {
			if err := e.triage.Claim(context.Background(), c.Account, id); err != nil {
				e.t.Fatal(err)
			}
		}
		return request{path: "/staff/reports/" + id + "/assess", form: validAssessment(), report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/review", perm: access.ReportReview, prep: func(e *env, _ *account, _ *browser) request {
		id := decidedReport(e)
		return request{path: "/staff/reports/" + id + "/review", form: url.Values{"decision": {"confirm"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/merge", perm: access.ReportMerge, prep: func(e *env, _ *account, _ *browser) request {
		primary, dup := freshReport(e), freshReport(e)
		return request{path: "/staff/reports/" + dup + "/merge", form: url.Values{"into": {primary}}, report: dup}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/message", perm: access.ReportMessage, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/reports/" + id + "/message", form: url.Values{"body": {"Thank you. Are you safe now?"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/jurisdiction", perm: access.ReportRefer, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/reports/" + id + "/jurisdiction", form: url.Values{"jurisdiction": {"BE"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/refer", perm: access.ReportRefer, prep: func(e *env, _ *account, _ *browser) request {
		e.peer("be", "BE")
		id := freshReport(e)
		return request{path: "/staff/reports/" + id + "/refer", form: url.Values{"peer": {"be"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/status", perm: access.ReportRefer, prep: func(e *env, _ *account, _ *browser) request {
		id := e.referFrom(e.peer("nl", "NL"), "sextortion")
		return request{path: "/staff/reports/" + id + "/status", form: url.Values{"status": {canopy.ReferralAccepted}}, report: id}
	}},
	{method: "GET", pattern: "/staff/unrouted", perm: access.QueueView, prep: func(e *env, _ *account, _ *browser) request {
		id := e.submit("sextortion", "DE")
		e.route(id)
		return request{path: "/staff/unrouted", report: id}
	}},
	{method: "GET", pattern: "/staff/accounts", perm: access.AccountManage, prep: fixed("/staff/accounts")},
	{method: "POST", pattern: "/staff/accounts/invite", perm: access.AccountManage, prep: func(e *env, _ *account, _ *browser) request {
		e.n++
		return request{path: "/staff/accounts/invite", form: url.Values{"email": {fmt.Sprintf("new%d@example.org", e.n)},
			"name": {"New Colleague"}, "role": {"analyst"}, "jurisdictions": {"FR BE"}}}
	}},
	{method: "POST", pattern: "/staff/accounts/{id}/disable", perm: access.AccountManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/accounts/" + invitee(e) + "/disable"}
	}},
	{method: "POST", pattern: "/staff/accounts/{id}/enable", perm: access.AccountManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/accounts/" + invitee(e) + "/enable"}
	}},
	{method: "POST", pattern: "/staff/accounts/{id}/revoke", perm: access.AccountManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/accounts/" + invitee(e) + "/revoke"}
	}},
	{method: "GET", pattern: "/staff/network", perm: access.PeerManage, prep: fixed("/staff/network")},
	{method: "POST", pattern: "/staff/network/peers", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		e.n++
		p := e.newPeerNode(fmt.Sprintf("hotline-new%d", e.n))
		return request{path: "/staff/network/peers", form: url.Values{"peer_id": {fmt.Sprintf("new%d", e.n)}, "url": {"https://new.hotline.example"},
			"signing_key": {"ed25519:" + b64(p.identity.PublicKey())}, "encryption_key": {"x25519:" + b64(p.exchange.Public())},
			"jurisdictions": {"NL"}, "share": {canopy.ShareURLs}}}
	}},
	{method: "GET", pattern: "/staff/network/peers/{id}", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		e.peer("be", "BE")
		return request{path: "/staff/network/peers/be"}
	}},
	{method: "POST", pattern: "/staff/network/peers/{id}", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		e.peer("be", "BE")
		return request{path: "/staff/network/peers/be", form: url.Values{"url": {"https://be.hotline.example"}, "jurisdictions": {"BE"},
			"share": {canopy.ShareURLs, canopy.SharePlatform}}}
	}},
	{method: "POST", pattern: "/staff/network/peers/{id}/suspend", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/network/peers/" + e.newPeer() + "/suspend"}
	}},
	{method: "POST", pattern: "/staff/network/peers/{id}/resume", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		id := e.newPeer()
		if _, err := e.network.SetPeerState(context.Background(), audit.System, id, canopy.PeerSuspended); err != nil {
			e.t.Fatal(err)
		}
		return request{path: "/staff/network/peers/" + id + "/resume"}
	}},
	{method: "GET", pattern: "/staff/network/peers/{id}/remove", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/network/peers/" + e.newPeer() + "/remove"}
	}},
	{method: "POST", pattern: "/staff/network/peers/{id}/remove", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/network/peers/" + e.newPeer() + "/remove"}
	}},
	{method: "POST", pattern: "/staff/network/routes", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		e.peer("be", "BE")
		return request{path: "/staff/network/routes", form: url.Values{"route_jurisdiction": {"BE"}, "route_peer": {"be"}}}
	}},
	{method: "POST", pattern: "/staff/network/routes/{jurisdiction}/remove", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		err := e.network.SetRoute(context.Background(), audit.System, store.Route{Jurisdiction: "LU", PeerID: e.newPeer()})
		if err != nil {
			e.t.Fatal(err)
		}
		return request{path: "/staff/network/routes/LU/remove"}
	}},
	{method: "POST", pattern: "/staff/network/subscriptions", perm: access.PeerManage, prep: func(e *env, _ *account, _ *browser) request {
		e.peer("be", "BE")
		return request{path: "/staff/network/subscriptions", form: url.Values{"sub_peer": {"be"}, "sub_bank": {"hashes"}}}
	}},
	{method: "GET", pattern: "/staff/account", perm: access.OwnAccount, prep: fixed("/staff/account")},
	{method: "POST", pattern: "/staff/account/sessions/revoke", perm: access.OwnAccount, prep: func(e *env, c *account, _ *browser) request {
		if c == nil {
			return request{path: "/staff/account/sessions/revoke", form: url.Values{"session": {"nothing"}}}
		}
		// Another session of the caller's, started with the password.
		ctx := context.Background()
		before, _ := e.staff.Sessions(ctx, c.ID)
		if _, err := e.staff.Login(ctx, c.Email, password); err != nil {
			e.t.Fatal(err)
		}
		after, _ := e.staff.Sessions(ctx, c.ID)
		for _, s := range after {
			if !slices.ContainsFunc(before, func(x canopy.Session) bool { return x.ID == s.ID }) {
				return request{path: "/staff/account/sessions/revoke", form: url.Values{"session": {s.ID}}}
			}
		}
		e.t.Fatal("no new session")
		return request{}
	}},
	{method: "POST", pattern: "/staff/account/token", perm: access.OwnAccount, prep: fixed("/staff/account/token")},
	{method: "POST", pattern: "/staff/account/passkeys/remove", perm: access.OwnAccount, prep: func(e *env, c *account, b *browser) request {
		if c == nil {
			return request{path: "/staff/account/passkeys/remove", form: url.Values{"passkey": {"AAAA"}}}
		}
		_, id := e.addPasskey(b)
		return request{path: "/staff/account/passkeys/remove", form: url.Values{"passkey": {id}}}
	}},
	{method: "POST", pattern: "/staff/passkey/register/begin", perm: access.OwnAccount, prep: func(*env, *account, *browser) request {
		return request{path: "/staff/passkey/register/begin", json: struct{}{}}
	}, want: func(c *account) int {
		if c == nil {
			return http.StatusUnauthorized
		}
		return 0 // the matrix
	}},
	{method: "POST", pattern: "/staff/passkey/register/finish", perm: access.OwnAccount, prep: func(e *env, c *account, b *browser) request {
		if c == nil {
			return request{path: "/staff/passkey/register/finish", json: passkeyFinish{Ticket: "x", Credential: []byte(`{}`)}}
		}
		k := newSoftKey()
		opts, ticket, err := e.staff.BeginPasskey(context.Background(), testRP, b.session())
		if err != nil {
			e.t.Fatal(err)
		}
		return request{path: "/staff/passkey/register/finish", json: passkeyFinish{Ticket: ticket, Credential: k.create(challengeOf(e.t, opts)), Name: "Laptop"}}
	}, want: func(c *account) int {
		if c == nil {
			return http.StatusUnauthorized
		}
		return 0
	}},
	{method: "GET", pattern: "/staff/audit", perm: access.AuditRead, prep: fixed("/staff/audit?action=report.view")},
	{method: "GET", pattern: "/staff/audit/opened", perm: access.AuditRead, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/audit/opened?report=" + id}
	}},
	{method: "GET", pattern: "/staff/audit/reports/{id}", perm: access.AuditRead, prep: func(e *env, _ *account, _ *browser) request {
		id := freshReport(e)
		return request{path: "/staff/audit/reports/" + id}
	}},

	// Support cases (cases.go): caseworkers only, and the administrator's
	// legal holds. report names the case, which a refusal must not show.
	{method: "GET", pattern: "/staff/cases", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		testCase(e)
		return request{path: "/staff/cases"}
	}},
	{method: "GET", pattern: "/staff/cases/new", perm: access.CaseManage, prep: fixed("/staff/cases/new")},
	{method: "POST", pattern: "/staff/cases", perm: access.CaseManage, prep: func(*env, *account, *browser) request {
		return request{path: "/staff/cases", form: url.Values{"alias": {"Robin"}, "age_band": {"7-10"}, "name": {caseChildName}}}
	}},
	{method: "GET", pattern: "/staff/cases/export.csv", perm: access.CaseManage, prep: fixed("/staff/cases/export.csv")},
	{method: "GET", pattern: "/staff/cases/holds", perm: access.CaseHold, prep: func(e *env, _ *account, _ *browser) request {
		id := heldCase(e)
		return request{path: "/staff/cases/holds", report: caseChildName + id}
	}},
	{method: "POST", pattern: "/staff/cases/holds", perm: access.CaseHold, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/holds", form: url.Values{"case": {id}, "reason": {"Court order 17"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/holds/lift", perm: access.CaseHold, prep: func(e *env, _ *account, _ *browser) request {
		id := heldCase(e)
		return request{path: "/staff/cases/holds/lift", form: url.Values{"case": {id}, "lift_reason": {"Order ended"}}, report: id}
	}},
	{method: "GET", pattern: "/staff/cases/{id}", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testPlan(e)
		return request{path: "/staff/cases/" + id, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/reveal", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/reveal", report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/details", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/details", form: url.Values{"name": {caseChildName}, "notes": {caseNote}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/profile", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/profile", form: url.Values{"alias": {"Sky"}, "age_band": {"11-13"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/needs", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/needs", form: url.Values{"needs": {canopy.NeedLegal}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/links", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/links", form: url.Values{"report": {freshReport(e)}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/links/remove", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id, rep := linkedCase(e)
		return request{path: "/staff/cases/" + id + "/links/remove", form: url.Values{"report": {rep}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/referrals", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/referrals", form: url.Values{"service": {testService(e)}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/referrals/{ref}", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id, ref := testReferral(e)
		return request{path: "/staff/cases/" + id + "/referrals/" + ref, form: url.Values{"status": {canopy.ServiceReferralAccepted}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/consents", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/consents", form: url.Values{"purpose": {"statistics"}, "given_by": {"child"}, "method": {"verbal"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/consents/withdraw", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/consents/withdraw", form: url.Values{"purpose": {"support"}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/assign", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/assign", form: url.Values{"assignee": {""}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/close", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/close", form: url.Values{"reason": {canopy.CaseClosedSupported}}, report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/reopen", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		if err := e.srv.support.Close(context.Background(), e.caseworker(), id, canopy.CaseClosedOther); err != nil {
			e.t.Fatal(err)
		}
		return request{path: "/staff/cases/" + id + "/reopen", report: id}
	}},
	{method: "GET", pattern: "/staff/cases/{id}/plan", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testPlan(e)
		return request{path: "/staff/cases/" + id + "/plan", report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/plan", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/plan", form: url.Values{"language": {"fr"}, "emergency": {"112"}}, report: id}
	}},
	{method: "GET", pattern: "/staff/cases/{id}/plan/print", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testPlan(e)
		return request{path: "/staff/cases/" + id + "/plan/print", report: casePlanLine}
	}},
	{method: "GET", pattern: "/staff/cases/{id}/checkin", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/checkin", report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/checkin", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/checkin", form: url.Values{"scale": {"faces"}, "item0": {"3"}, "note": {caseNote}}, report: id}
	}},
	{method: "GET", pattern: "/staff/cases/{id}/erase", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/erase", report: id}
	}},
	{method: "POST", pattern: "/staff/cases/{id}/erase", perm: access.CaseManage, prep: func(e *env, _ *account, _ *browser) request {
		id := testCase(e)
		return request{path: "/staff/cases/" + id + "/erase", form: url.Values{"kind": {"redact"}, "target": {"name"}, "asked_by": {"child"},
			"decision": {"carry"}, "reason": {"child_wishes"}}, report: id}
	}},

	// The service directory (services.go): administrators and caseworkers.
	{method: "GET", pattern: "/staff/services", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		dirTestService(e)
		return request{path: "/staff/services"}
	}},
	{method: "GET", pattern: "/staff/services/export", perm: access.ServiceManage, prep: fixed("/staff/services/export")},
	{method: "POST", pattern: "/staff/services/import", perm: access.ServiceManage, prep: func(*env, *account, *browser) request {
		return request{path: "/staff/services/import", form: url.Values{"csv": {dirTestCSV}}}
	}},
	{method: "POST", pattern: "/staff/services/providers", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		e.n++
		return request{path: "/staff/services/providers", form: url.Values{"id": {fmt.Sprintf("added-%d", e.n)}, "name": {"Maison des jeunes"}}}
	}},
	{method: "GET", pattern: "/staff/services/providers/{id}", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/services/providers/" + dirTestProvider(e)}
	}},
	{method: "POST", pattern: "/staff/services/providers/{id}", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/services/providers/" + dirTestProvider(e), form: url.Values{"name": {"Renamed"}, "phone": {"119"}}}
	}},
	{method: "POST", pattern: "/staff/services/providers/{id}/state", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/services/providers/" + dirTestProvider(e) + "/state", form: url.Values{"active": {"no"}}}
	}},
	{method: "POST", pattern: "/staff/services/providers/{id}/services", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/services/providers/" + dirTestProvider(e) + "/services", form: dirServiceForm()}
	}},
	{method: "GET", pattern: "/staff/services/providers/{id}/services/{service}", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		p, o := dirTestService(e)
		return request{path: "/staff/services/providers/" + p + "/services/" + o}
	}},
	{method: "POST", pattern: "/staff/services/providers/{id}/services/{service}", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		p, o := dirTestService(e)
		return request{path: "/staff/services/providers/" + p + "/services/" + o, form: dirServiceForm()}
	}},
	{method: "POST", pattern: "/staff/services/providers/{id}/services/{service}/state", perm: access.ServiceManage, prep: func(e *env, _ *account, _ *browser) request {
		p, o := dirTestService(e)
		return request{path: "/staff/services/providers/" + p + "/services/" + o + "/state", form: url.Values{"active": {"no"}}}
	}},

	// Notice and takedown (takedown.go): analysts and supervisors send
	// notices; administrators and supervisors keep the list of hosts.
	{method: "POST", pattern: "/staff/reports/{id}/takedown/prepare", perm: access.ReportTakedown, prep: func(e *env, _ *account, _ *browser) request {
		id := tdReport(e, false)
		return request{path: "/staff/reports/" + id + "/takedown/prepare", report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/takedown/send", perm: access.ReportTakedown, prep: func(e *env, _ *account, _ *browser) request {
		id := tdReport(e, true)
		return request{path: "/staff/reports/" + id + "/takedown/send", report: id}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/takedowns/{takedown}", perm: access.ReportTakedown, prep: func(e *env, _ *account, _ *browser) request {
		id, item := tdSent(e)
		return request{path: "/staff/reports/" + id + "/takedowns/" + item, form: url.Values{"status": {canopy.TakedownAcknowledged}}, report: id}
	}},
	// Liaisons see the escalated notices, whatever they ask for.
	{method: "GET", pattern: "/staff/takedown", perm: access.ReportTakedown, prep: func(e *env, _ *account, _ *browser) request {
		tdSent(e)
		return request{path: "/staff/takedown?state=all"}
	}, want: alsoFor(access.ReportView)},
	{method: "GET", pattern: "/staff/takedown/hosts", perm: access.HostManage, prep: func(e *env, _ *account, _ *browser) request {
		tdHost(e)
		return request{path: "/staff/takedown/hosts"}
	}, want: alsoFor(access.ReportTakedown)},
	{method: "GET", pattern: "/staff/takedown/hosts/new", perm: access.HostManage, prep: fixed("/staff/takedown/hosts/new")},
	{method: "POST", pattern: "/staff/takedown/hosts/new", perm: access.HostManage, prep: func(e *env, _ *account, _ *browser) request {
		e.n++
		f := tdHostForm()
		f.Set("id", fmt.Sprintf("host-%d", e.n))
		return request{path: "/staff/takedown/hosts/new", form: f}
	}},
	{method: "GET", pattern: "/staff/takedown/hosts/{id}", perm: access.HostManage, prep: func(e *env, _ *account, _ *browser) request {
		tdHost(e)
		return request{path: "/staff/takedown/hosts/hoster-fr"}
	}, want: alsoFor(access.ReportTakedown)},
	{method: "POST", pattern: "/staff/takedown/hosts/{id}", perm: access.HostManage, prep: func(e *env, _ *account, _ *browser) request {
		tdHost(e)
		return request{path: "/staff/takedown/hosts/hoster-fr", form: tdHostForm()}
	}},
	{method: "GET", pattern: "/staff/takedown/scores", perm: access.ReportTakedown, prep: fixed("/staff/takedown/scores"), want: alsoFor(access.HostManage)},
	{method: "GET", pattern: "/staff/dashboard", perm: access.IndicatorsView, prep: fixed("/staff/dashboard")},

	// Investigations and their evidence (investigations.go): analysts,
	// supervisors and liaisons; legal holds, supervisors and liaisons.
	// report is the investigation's title or the file's name, which a
	// refusal must not show.
	{method: "GET", pattern: "/staff/investigations", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		testInvestigation(e)
		return request{path: "/staff/investigations?status=all", report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations", perm: access.InvestigationManage, prep: func(*env, *account, *browser) request {
		return request{path: "/staff/investigations", form: url.Values{"title": {invTitle}, "jurisdiction": {"FR"}}}
	}},
	{method: "GET", pattern: "/staff/investigations/{id}", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		id, _ := testItem(e)
		return request{path: "/staff/investigations/" + id, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/reports", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + testInvestigation(e) + "/reports", form: url.Values{"report": {freshReport(e)}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/reports/{id}/investigation", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		rep := freshReport(e)
		return request{path: "/staff/reports/" + rep + "/investigation", form: url.Values{"investigation": {testInvestigation(e)}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/reports/remove", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		id, rep := linkedInvestigation(e)
		return request{path: "/staff/investigations/" + id + "/reports/remove", form: url.Values{"report": {rep}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/tasks", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + testInvestigation(e) + "/tasks", form: url.Values{"title": {invTask}, "due": {"2026-12-31"}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/tasks/{n}", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		id := taskInvestigation(e)
		return request{path: "/staff/investigations/" + id + "/tasks/1", form: url.Values{"done": {"yes"}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/notes", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + testInvestigation(e) + "/notes", form: url.Values{"note": {invNote}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/close", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + testInvestigation(e) + "/close", form: url.Values{"why": {invWhy}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/reopen", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + closedInvestigation(e) + "/reopen", form: url.Values{"why": {invWhy}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/hold", perm: access.InvestigationHold, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + testInvestigation(e) + "/hold", form: url.Values{"why": {"Court order 17"}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/hold/lift", perm: access.InvestigationHold, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + heldInvestigation(e) + "/hold/lift", form: url.Values{"why": {"Order ended"}}, report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/evidence", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		return request{path: "/staff/investigations/" + testInvestigation(e) + "/evidence", report: invTitle,
			upload: &upload{why: invWhy, name: invFile, data: testPNG(e.t)}}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/transfer", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		id, item := testItem(e)
		return request{path: "/staff/investigations/" + id + "/transfer", form: url.Values{"items": {item}, "to": {"Parquet de Paris"}, "why": {invWhy}},
			report: invTitle}
	}},
	{method: "POST", pattern: "/staff/investigations/{id}/bundle", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		id, _ := testItem(e)
		return request{path: "/staff/investigations/" + id + "/bundle", report: invTitle}
	}},
	{method: "GET", pattern: "/staff/evidence/{id}", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item, report: invFile}
	}},
	{method: "GET", pattern: "/staff/evidence/{id}/preview", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/preview", report: invFile}
	}},
	{method: "POST", pattern: "/staff/evidence/{id}/reveal", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/reveal", form: url.Values{"why": {invWhy}}, report: invFile}
	}},
	{method: "POST", pattern: "/staff/evidence/{id}/hide", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/hide", report: invFile}
	}},
	{method: "POST", pattern: "/staff/evidence/{id}/file", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/file", form: url.Values{"why": {invWhy}}, report: invFile}
	}},
	{method: "POST", pattern: "/staff/evidence/{id}/verify", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/verify", report: invFile}
	}},
	{method: "GET", pattern: "/staff/evidence/{id}/destroy", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/destroy", report: invFile}
	}},
	{method: "POST", pattern: "/staff/evidence/{id}/destroy", perm: access.InvestigationManage, prep: func(e *env, _ *account, _ *browser) request {
		_, item := testItem(e)
		return request{path: "/staff/evidence/" + item + "/destroy", form: url.Values{"why": {invWhy}}, report: invFile}
	}},

	// The sign-in pages: a signed-in member is sent home from them.
	{method: "GET", pattern: "/staff/login", prep: fixed("/staff/login"), want: signedInHome(http.StatusOK)},
	{method: "POST", pattern: "/staff/login", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/login", form: url.Values{"email": {"nobody@example.org"}, "password": {"not the password"}}}
	}, want: func(*account) int { return http.StatusUnauthorized }},
	{method: "GET", pattern: "/staff/login/factor", prep: fixed("/staff/login/factor"), want: signedInHome(http.StatusSeeOther)},
	{method: "POST", pattern: "/staff/login/factor", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/login/factor", form: url.Values{"code": {"123456"}}}
	}, want: signedInHome(http.StatusSeeOther)},
	{method: "GET", pattern: "/staff/enrol", prep: fixed("/staff/enrol"), want: signedInHome(http.StatusSeeOther)},
	{method: "POST", pattern: "/staff/enrol", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/enrol", form: url.Values{"code": {"123456"}, "ticket": {"x"}}}
	}, want: signedInHome(http.StatusSeeOther)},
	{method: "POST", pattern: "/staff/passkey/login/begin", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/passkey/login/begin", json: struct{}{}}
	}, want: pendingOnly},
	{method: "POST", pattern: "/staff/passkey/login/finish", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/passkey/login/finish", json: passkeyFinish{Ticket: "x", Credential: []byte(`{}`)}}
	}, want: pendingOnly},
	{method: "GET", pattern: "/staff/setup", prep: fixed("/staff/setup?token=anything"), want: func(*account) int { return http.StatusConflict }},
	{method: "POST", pattern: "/staff/setup", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/setup", form: url.Values{"token": {"anything"}, "email": {"x@example.org"}, "password": {password}, "password2": {password}}}
	}, want: func(*account) int { return http.StatusConflict }},
	{method: "GET", pattern: "/staff/invite", prep: fixed("/staff/invite?token=not-a-token"), want: func(*account) int { return http.StatusNotFound }},
	{method: "POST", pattern: "/staff/invite", prep: func(*env, *account, *browser) request {
		return request{path: "/staff/invite", form: url.Values{"token": {"not-a-token"}, "password": {password}, "password2": {password}}}
	}, want: func(*account) int { return http.StatusNotFound }},
	{method: "GET", pattern: "/staff/static/{file}", prep: func(e *env, _ *account, _ *browser) request {
		return request{path: e.srv.assets.URL("staff.css")}
	}, want: func(*account) int { return http.StatusOK }},
	{pattern: "/staff/", prep: fixed("/staff/no/such/page"), want: func(*account) int { return http.StatusNotFound }},

	// Last, as it ends the session.
	{method: "POST", pattern: "/staff/logout", prep: fixed("/staff/logout"), want: func(*account) int { return http.StatusSeeOther }},
}

// signedInHome: a signed-in member is sent home; anyone else gets anon.
func signedInHome(anon int) func(*account) int {
	return func(c *account) int {
		if c == nil {
			return anon
		}
		return http.StatusSeeOther
	}
}

// pendingOnly: the passkey sign-in is for a session between password and
// second factor; without a session it is 401, after sign-in a conflict.
func pendingOnly(c *account) int {
	if c == nil {
		return http.StatusUnauthorized
	}
	return http.StatusConflict
}

// TestPermissions calls every route as every role and as nobody, and
// checks the answer against access.Matrix: the permission the route needs
// gives 200 or 303, its absence 403 or 404 with nothing about the report
// in the body, and no session a redirect to the sign-in page.
func TestPermissions(t *testing.T) {
	e := newEnv(t)
	// Every route of the mux is in the table.
	var listed []string
	for _, r := range routes {
		listed = append(listed, strings.TrimSpace(r.method+" "+r.pattern))
	}
	for _, p := range e.srv.patterns {
		if !slices.Contains(listed, p) {
			t.Errorf("route %q is not in the permission table", p)
		}
	}

	// Every permission of the matrix guards some route.
	for _, rule := range access.Matrix {
		if !slices.ContainsFunc(routes, func(r route) bool { return r.perm == rule.Permission }) {
			t.Errorf("no route is guarded by %s", rule.Permission)
		}
	}

	category := categoryName("sextortion")
	callers := append([]canopy.Role{""}, canopy.Roles...)
	summary := map[string][]string{}
	for _, role := range callers {
		name := string(role)
		if role == "" {
			name = "anonymous"
		}
		t.Run(name, func(t *testing.T) {
			var c *account
			var b *browser
			if role == "" {
				b = e.browser()
				b.get("/staff/login")
			} else {
				c = e.members[role]
				b = e.login(role)
			}
			for _, rt := range routes {
				req := rt.prep(e, c, b)
				var resp *http.Response
				var body string
				switch {
				case rt.method == "GET" || rt.method == "":
					resp, body = b.get(req.path)
				case req.json != nil:
					resp, body = b.postJSON(req.path, req.json)
				case req.upload != nil:
					resp, body = b.sendEvidence(req.path, *req.upload)
				default:
					form := req.form
					if form == nil {
						form = url.Values{}
					}
					resp, body = b.post(req.path, form)
				}
				got := resp.StatusCode
				checkHeaders(t, rt.method+" "+req.path, resp)
				summary[rt.method+" "+rt.pattern] = append(summary[rt.method+" "+rt.pattern], fmt.Sprintf("%s=%d", name, got))
				where := fmt.Sprintf("%s %s as %s", rt.method, req.path, name)

				want := 0
				if rt.want != nil {
					want = rt.want(c)
				}
				switch {
				case want != 0:
					if got != want {
						t.Errorf("%s: %d, want %d\n%.600s", where, got, want, body)
					}
				case c == nil:
					if got != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/login" {
						t.Errorf("%s: %d %s, want a redirect to sign in", where, got, resp.Header.Get("Location"))
					}
				case access.Can(c.Role, rt.perm):
					if (got != http.StatusOK && got != http.StatusSeeOther) || resp.Header.Get("Location") == "/staff/login" {
						t.Errorf("%s: %d %s, want 200 or 303\n%.800s", where, got, resp.Header.Get("Location"), body)
					}
				default:
					if got != http.StatusForbidden && got != http.StatusNotFound {
						t.Errorf("%s: %d, want 403 or 404\n%.600s", where, got, body)
					}
					for _, secret := range []string{secretDescription, category, req.report, "abuse.example", "predator_99"} {
						if secret != "" && strings.Contains(body, secret) {
							t.Errorf("%s: refusal shows %q", where, secret)
						}
					}
				}
			}
		})
	}
	if testing.Verbose() {
		for _, r := range routes {
			k := r.method + " " + r.pattern
			t.Logf("%-40s %-16s %s", k, r.perm, strings.Join(summary[k], " "))
		}
	}
}

// checkHeaders checks the headers every response carries.
func checkHeaders(t *testing.T, where string, resp *http.Response) {
	t.Helper()
	h := resp.Header
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	}
	if strings.HasPrefix(resp.Request.URL.Path, "/staff/static/") && resp.StatusCode == http.StatusOK {
		want["Cache-Control"] = "public, max-age=31536000, immutable"
	}
	if p := resp.Request.URL.Path; resp.StatusCode == http.StatusOK && (p == "/staff/account" || p == "/staff/account/token" || p == "/staff/enrol" || p == "/staff/login/factor") {
		// Pages with passkeys may fetch from the node, and nowhere else.
		want["Content-Security-Policy"] += "; connect-src 'self'"
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", where, k, got, v)
		}
	}
}
