package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/triage"
)

// The words a test writes where the node seals them: no answer of the
// case routes may ever hold one.
const (
	childName   = "Amira Benali-secret"
	childPhone  = "+33 6 12 34 56 78-secret"
	planLine    = "Call Aunt Salma-secret"
	checkInNote = "slept badly-secret"
	holdReason  = "Court order 2026/17-secret"
	liftReason  = "Order ended-secret"
	erasureNote = "asked on the phone-secret"
)

var secrets = []string{childName, childPhone, planLine, checkInNote, holdReason, liftReason, erasureNote}

// caseAPI is an API serving support cases from a real database, with a
// caseworker, a liaison, a supervisor and an analyst of France signed in
// besides the audit env's administrator, auditor and analyst. Support,
// triage and intake run on a clock of their own, so that consent can
// lapse without sessions ending.
type caseAPI struct {
	*auditEnv
	clock   *fakeClock // support's, triage's and intake's
	support *support.Service
	intake  *intake.Service

	caseworker, liaison, supervisor, frAnalyst member
}

func newCaseAPI(t *testing.T, db *store.DB) *caseAPI {
	t.Helper()
	ae := newAuditEnv(t, db)
	clock := &fakeClock{t: t0.Add(time.Hour)}
	keys := ae.staff.Keys
	ce := &caseAPI{auditEnv: ae, clock: clock,
		support: &support.Service{DB: db, Keys: keys, Audit: ae.log, Now: clock.now},
		intake:  &intake.Service{DB: db, Keys: keys, Audit: ae.log, Now: clock.now},
	}
	ce.caseworker = ce.inviteIn(canopy.RoleCaseworker, "caseworker@example.org")
	ce.liaison = ce.inviteIn(canopy.RoleLiaison, "liaison@example.org")
	ce.supervisor = ce.inviteIn(canopy.RoleSupervisor, "supervisor@example.org")
	ce.frAnalyst = ce.inviteIn(canopy.RoleAnalyst, "analyst.fr@example.org", "FR")
	tr := &triage.Service{DB: db, Keys: keys, Audit: ae.log, Now: clock.now}
	ce.serve(Config{Audit: ae.log, Staff: ae.staff, Support: ce.support, Triage: tr, Logger: slog.New(slog.NewTextHandler(ae.env.log, nil))})
	return ce
}

// inviteIn is invite, for a member of some jurisdictions.
func (ce *caseAPI) inviteIn(role canopy.Role, email string, jurisdictions ...string) member {
	ce.t.Helper()
	_, token, err := ce.staff.Invite(ce.ctx, audit.Staff(ce.admin.account.ID), staff.AccountInput{Email: email, Role: role, Jurisdictions: jurisdictions})
	if err != nil {
		ce.t.Fatal(err)
	}
	m := member{password: "a long enough passphrase"}
	sess, err := ce.staff.AcceptInvite(ce.ctx, token, m.password)
	if err != nil {
		ce.t.Fatal(err)
	}
	ce.enrol(&m, sess)
	if m.account.Role != role || !slices.Equal(m.account.Jurisdictions, jurisdictions) && len(jurisdictions) > 0 {
		ce.t.Fatalf("%s is %+v", email, m.account)
	}
	return m
}

// report files a report about a child in country.
func (ce *caseAPI) report(country string) string {
	ce.t.Helper()
	rc, err := ce.intake.Submit(ce.ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: "child",
		Category: "sextortion", ChildCountry: country, Description: "someone threatens me"})
	if err != nil {
		ce.t.Fatal(err)
	}
	ce.clock.add(time.Minute)
	return rc.ReportID
}

// open opens a case with identifying details, as a caseworker would.
func (ce *caseAPI) open(alias string) string {
	ce.t.Helper()
	c, err := ce.support.OpenCase(ce.ctx, ce.caseworker.account, support.NewCase{
		Profile: support.Profile{Alias: alias, AgeBand: "14-17", Languages: []string{"ar", "fr"}, Region: "FR-IDF"},
		Needs:   []string{canopy.NeedEmotional, canopy.NeedSafety},
		Details: canopy.CaseDetails{Name: childName, Contact: childPhone, BirthDate: "2011-03-04"},
	})
	if err != nil {
		ce.t.Fatal(err)
	}
	ce.clock.add(time.Minute)
	return c.ID
}

// consent records the child's consent to purpose, until withdrawn or,
// when for is not zero, for that long.
func (ce *caseAPI) consent(id, purpose string, lasting time.Duration) {
	ce.t.Helper()
	in := support.NewConsent{Purpose: purpose, GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal}
	if lasting > 0 {
		in.Expires = ce.clock.now().Add(lasting)
	}
	if _, err := ce.support.GiveConsent(ce.ctx, ce.caseworker.account, id, in); err != nil {
		ce.t.Fatal(err)
	}
}

func (ce *caseAPI) withdraw(id, purpose string) {
	ce.t.Helper()
	if err := ce.support.WithdrawConsent(ce.ctx, ce.caseworker.account, id, purpose); err != nil {
		ce.t.Fatal(err)
	}
}

func (ce *caseAPI) link(id, report string) {
	ce.t.Helper()
	if err := ce.support.LinkReport(ce.ctx, ce.caseworker.account, id, report); err != nil {
		ce.t.Fatal(err)
	}
}

func (ce *caseAPI) delete(id string) {
	ce.t.Helper()
	if _, err := ce.support.Erase(ce.ctx, ce.caseworker.account, id, support.ErasureRequest{Kind: canopy.ErasureDelete,
		AskedBy: canopy.AskedByChild, Carry: true, Reason: canopy.ReasonChildWishes}); err != nil {
		ce.t.Fatal(err)
	}
}

// read sends a GET as m that must conform and be answered 200, and
// decodes the answer into v. No answer may hold a sealed word.
func (ce *caseAPI) read(target string, m member, v any) {
	ce.t.Helper()
	rec := ce.get(target, m.token)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-store" {
		ce.t.Fatalf("%s as %s: %d %v %s", target, m.account.Role, rec.Code, rec.Header(), rec.Body)
	}
	noSecrets(ce.t, target, rec.Body.String())
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		ce.t.Fatal(err)
	}
}

func noSecrets(t testing.TB, where, body string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("%s: the answer holds %q: %s", where, s, body)
		}
	}
}

func (ce *caseAPI) file(id string) caseFileAnswer {
	ce.t.Helper()
	var f caseFileAnswer
	ce.read("/api/v1/cases/"+id, ce.caseworker, &f)
	return f
}

func (ce *caseAPI) statistics() []statisticsRow {
	ce.t.Helper()
	var s caseStatisticsAnswer
	ce.read("/api/v1/cases/statistics", ce.caseworker, &s)
	if s.Rows == nil {
		ce.t.Fatal("statistics: rows is null")
	}
	return s.Rows
}

func (ce *caseAPI) linked(report string, m member) []linkedCase {
	ce.t.Helper()
	var a reportCasesAnswer
	ce.read("/api/v1/reports/"+report+"/cases", m, &a)
	if a.Report != report || a.Cases == nil {
		ce.t.Fatalf("linked cases of %s: %+v", report, a)
	}
	return a.Cases
}

// entriesSince returns the audit entries from index from on.
func (ce *caseAPI) entriesSince(from int64) []audit.Entry {
	ce.t.Helper()
	es, err := ce.log.Entries(ce.ctx, from, 10_000)
	if err != nil {
		ce.t.Fatal(err)
	}
	return es
}

// TestCasesRoles checks who may read what: the case routes are
// caseworkers', a report's linked cases are for staff who see the report,
// in their jurisdictions; every other role gets a 403 that is audited,
// and a report out of sight is a 404 identical to one that does not
// exist.
func TestCasesRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ce := newCaseAPI(t, db)
		fr, be := ce.report("FR"), ce.report("BE")
		id := ce.open("Robin")
		ce.consent(id, canopy.PurposeInvestigation, 0)
		ce.consent(id, canopy.PurposeStatistics, 0)
		ce.link(id, fr)
		ce.link(id, be)

		list, stats, file := "/api/v1/cases", "/api/v1/cases/statistics", "/api/v1/cases/"+id
		linkedFR, linkedBE := "/api/v1/reports/"+fr+"/cases", "/api/v1/reports/"+be+"/cases"
		for _, tc := range []struct {
			who                       member
			list, stats, file, fr, be int
		}{
			{ce.caseworker, 200, 200, 200, 403, 403},
			{ce.analyst, 403, 403, 403, 200, 200},
			{ce.supervisor, 403, 403, 403, 200, 200},
			{ce.liaison, 403, 403, 403, 200, 200},
			{ce.frAnalyst, 403, 403, 403, 200, 404},
			{ce.admin, 403, 403, 403, 403, 403},
			{ce.auditor, 403, 403, 403, 403, 403},
		} {
			role := string(tc.who.account.Role)
			if tc.who.account.Jurisdictions != nil {
				role += " of " + strings.Join(tc.who.account.Jurisdictions, ",")
			}
			for _, rt := range []struct {
				target string
				want   int
			}{{list, tc.list}, {stats, tc.stats}, {file, tc.file}, {linkedFR, tc.fr}, {linkedBE, tc.be}} {
				before := ce.log.Size()
				rec := ce.get(rt.target, tc.who.token)
				if rec.Code != rt.want {
					t.Errorf("%s: %s: %d, want %d: %s", role, rt.target, rec.Code, rt.want, rec.Body)
					continue
				}
				noSecrets(t, rt.target, rec.Body.String())
				switch rt.want {
				case 200:
					continue
				case 403:
					if p := problemOf(t, rec); p.Code != canopy.EFORBIDDEN || len(p.Errors) > 0 {
						t.Errorf("%s: %s: %s", role, rt.target, rec.Body)
					}
				case 404:
					if p := problemOf(t, rec); p.Code != canopy.ENOTFOUND {
						t.Errorf("%s: %s: %s", role, rt.target, rec.Body)
					}
				}
				// Each refusal is written to the log, under the member's
				// name, as denied.
				es := ce.entriesSince(before)
				if !slices.ContainsFunc(es, func(e audit.Entry) bool {
					return e.Actor == audit.Staff(tc.who.account.ID) && e.Action == audit.ActionPermissionDenied && e.Outcome == audit.Denied
				}) {
					t.Errorf("%s: %s: refusal not audited: %+v", role, rt.target, es)
				}
			}
		}

		// A report out of the member's sight, one that does not exist and
		// anything that is not an id get the same answer.
		out := ce.get(linkedBE, ce.frAnalyst.token)
		as := func(m member, target string, conforms int) *httptest.ResponseRecorder {
			return ce.do(call{method: "GET", target: target, conforms: conforms, header: map[string]string{"Authorization": "Bearer " + m.token}})
		}
		for _, tc := range []struct {
			target   string
			conforms int
		}{
			{"/api/v1/reports/" + canopy.NewID() + "/cases", +1},
			{"/api/v1/reports/nope/cases", +1},
			{"/api/v1/reports/" + strings.ToUpper(fr) + "/cases", -1},
			{"/api/v1/reports/a%20b/cases", -1},
			{"/api/v1/reports/" + strings.Repeat("a", 65) + "/cases", -1},
		} {
			rec := as(ce.frAnalyst, tc.target, tc.conforms)
			if rec.Code != 404 || rec.Body.String() != out.Body.String() {
				t.Errorf("%s: %d %s, want the answer about a report out of sight: %s", tc.target, rec.Code, rec.Body, out.Body)
			}
		}
		// The role comes first: a caseworker learns nothing of reports.
		for _, target := range []string{linkedFR, "/api/v1/reports/nope/cases"} {
			if rec := ce.get(target, ce.caseworker.token); rec.Code != 403 {
				t.Errorf("caseworker: %s: %d %s", target, rec.Code, rec.Body)
			}
		}
		// A case that does not exist, and what is not an id, are 404s
		// alike for a caseworker, and 403s for anyone else.
		missing := ce.get("/api/v1/cases/"+canopy.NewID(), ce.caseworker.token)
		if p := problemOf(t, missing); missing.Code != 404 || p.Code != canopy.ENOTFOUND {
			t.Fatalf("unknown case: %d %s", missing.Code, missing.Body)
		}
		for _, target := range []string{"/api/v1/cases/NOPE", "/api/v1/cases/a.b", "/api/v1/cases/" + strings.Repeat("0", 65)} {
			if rec := as(ce.caseworker, target, -1); rec.Code != 404 || rec.Body.String() != missing.Body.String() {
				t.Errorf("%s: %d %s", target, rec.Code, rec.Body)
			}
			if rec := as(ce.analyst, target, -1); rec.Code != 403 {
				t.Errorf("%s as analyst: %d %s", target, rec.Code, rec.Body)
			}
		}

		// A caseworker of some jurisdictions sees only their cases; one
		// of another is not found, exactly as one that does not exist.
		frCaseworker := ce.inviteIn(canopy.RoleCaseworker, "caseworker.fr@example.org", "FR")
		c, err := ce.support.OpenCase(ce.ctx, ce.caseworker.account, support.NewCase{Jurisdiction: "BE",
			Profile: support.Profile{Alias: "Noor", AgeBand: "11-13"}})
		if err != nil {
			t.Fatal(err)
		}
		if rec := ce.get("/api/v1/cases/"+c.ID, frCaseworker.token); rec.Code != 404 || rec.Body.String() != missing.Body.String() {
			t.Errorf("a case of another jurisdiction: %d %s", rec.Code, rec.Body)
		}
		var all, mine caseList
		ce.read("/api/v1/cases", ce.caseworker, &all)
		ce.read("/api/v1/cases", frCaseworker, &mine)
		if all.Total != 2 || slices.ContainsFunc(mine.Cases, func(s caseSummary) bool { return s.ID == c.ID }) {
			t.Errorf("lists: everyone's %+v, of France %+v", all, mine)
		}

		// Who is calling is not established: 401, as on the audit
		// route, and nothing is logged.
		ce.auditEnv.clock.add(30 * time.Second) // a TOTP code of a later step than enrolment's
		gone := ce.signIn(ce.caseworker)
		if err := ce.staff.Logout(ce.ctx, gone); err != nil {
			t.Fatal(err)
		}
		half, err := ce.staff.Login(ce.ctx, ce.caseworker.account.Email, ce.caseworker.password)
		if err != nil {
			t.Fatal(err)
		}
		size := ce.log.Size()
		for _, target := range []string{list, stats, file, linkedFR} {
			for name, auth := range map[string]string{
				"no header":     "",
				"unknown token": "Bearer " + strings.Repeat("A", 43),
				"signed out":    "Bearer " + gone,
				"password only": "Bearer " + half,
				"no scheme":     ce.caseworker.token,
			} {
				c := call{method: "GET", target: target, conforms: +1}
				if auth != "" {
					c.header = map[string]string{"Authorization": auth}
				}
				rec := ce.do(c)
				if p := problemOf(t, rec); rec.Code != 401 || p.Code != canopy.EUNAUTHORIZED || rec.Header().Get("WWW-Authenticate") != `Bearer realm="canopy"` {
					t.Errorf("%s: %s: %d %v %s", target, name, rec.Code, rec.Header(), rec.Body)
				}
			}
		}
		if n := ce.log.Size(); n != size {
			t.Errorf("401s grew the log from %d to %d", size, n)
		}
		if l := ce.env.log.String(); l != "" {
			t.Errorf("log: %s", l)
		}
	})
}

// TestCasesFollowConsent checks that consent is judged on every request:
// a withdrawal of consent to investigation hides the case from the
// report's linked cases at once, and a case whose consent to statistics
// was withdrawn or has lapsed is left out of the statistics.
func TestCasesFollowConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ce := newCaseAPI(t, db)
		rep := ce.report("FR")
		robin, sam := ce.open("Robin"), ce.open("Sam")
		for _, id := range []string{robin, sam} {
			ce.consent(id, canopy.PurposeInvestigation, 0)
			ce.link(id, rep)
		}
		both := []linkedCase{{"Robin", "14-17"}, {"Sam", "14-17"}}
		sorted := func(cs []linkedCase) []linkedCase {
			return slices.SortedFunc(slices.Values(cs), func(a, b linkedCase) int { return strings.Compare(a.Alias, b.Alias) })
		}
		for _, m := range []member{ce.analyst, ce.liaison, ce.supervisor, ce.frAnalyst} {
			if got := sorted(ce.linked(rep, m)); !slices.Equal(got, both) {
				t.Fatalf("%s sees %+v", m.account.Role, got)
			}
		}
		ce.withdraw(robin, canopy.PurposeInvestigation)
		if got := ce.linked(rep, ce.analyst); !slices.Equal(got, []linkedCase{{"Sam", "14-17"}}) {
			t.Fatalf("after Robin's withdrawal: %+v", got)
		}
		ce.withdraw(sam, canopy.PurposeInvestigation)
		if got := ce.linked(rep, ce.liaison); len(got) != 0 {
			t.Fatalf("after both withdrawals: %+v", got)
		}
		// Consent given again for an hour stands for that hour only.
		ce.consent(sam, canopy.PurposeInvestigation, time.Hour)
		if got := ce.linked(rep, ce.analyst); !slices.Equal(got, []linkedCase{{"Sam", "14-17"}}) {
			t.Fatalf("with consent again: %+v", got)
		}
		ce.clock.add(time.Hour)
		if got := ce.linked(rep, ce.analyst); len(got) != 0 {
			t.Fatalf("after the consent lapsed: %+v", got)
		}

		// Statistics: counted, withdrawn, lapsing and never consented.
		counted, withdrawn, lapsing, never := ce.open("Ana"), ce.open("Ben"), ce.open("Cy"), ce.open("Dee")
		ce.consent(counted, canopy.PurposeStatistics, 0)
		ce.consent(withdrawn, canopy.PurposeStatistics, 0)
		ce.consent(lapsing, canopy.PurposeStatistics, 2*time.Hour)
		ce.consent(never, canopy.PurposeSupport, 0)
		ce.consent(counted, canopy.PurposeSupport, 0)
		for _, items := range [][]int{{1, 1, 1, 1, 1}, {3, 3, 3, 3, 3}} {
			if _, err := ce.support.RecordCheckIn(ce.ctx, ce.caseworker.account, counted, support.NewCheckIn{Scale: canopy.ScaleWHO5, Items: items}); err != nil {
				t.Fatal(err)
			}
		}
		if rows := ce.statistics(); len(rows) != 3 {
			t.Fatalf("before withdrawal: %+v", rows)
		}
		ce.withdraw(withdrawn, canopy.PurposeStatistics)
		if rows := ce.statistics(); len(rows) != 2 {
			t.Fatalf("after a withdrawal: %+v", rows)
		}
		ce.clock.add(2 * time.Hour)
		rows := ce.statistics()
		if len(rows) != 1 {
			t.Fatalf("after a consent lapsed: %+v", rows)
		}
		r := rows[0]
		if r.Opened != t0.Format("2006-01") || r.AgeBand != "14-17" || !slices.Equal(r.Languages, []string{"ar", "fr"}) ||
			!slices.Equal(r.Needs, []string{"safety", "emotional"}) || r.Referrals != 0 || r.SecondsToFirstSupport != nil ||
			r.CheckIns != 2 || r.FirstWellBeing == nil || *r.FirstWellBeing != 20 || r.LastWellBeing == nil || *r.LastWellBeing != 60 {
			t.Fatalf("row %+v", r)
		}
		// Nothing in the statistics names a case.
		rec := ce.get("/api/v1/cases/statistics", ce.caseworker.token)
		for _, s := range []string{counted, "Ana", "FR-IDF"} {
			if strings.Contains(rec.Body.String(), s) {
				t.Errorf("statistics hold %q: %s", s, rec.Body)
			}
		}

		// The file says which consents stand now.
		f := ce.file(lapsing)
		if len(f.Consents) != 1 || f.Consents[0].Standing || f.Consents[0].Expires == "" || f.Consents[0].Withdrawn != "" {
			t.Errorf("lapsed consent: %+v", f.Consents)
		}
		f = ce.file(robin)
		if len(f.Consents) != 1 || f.Consents[0].Standing || f.Consents[0].Withdrawn == "" || f.Consents[0].Purpose != "investigation" {
			t.Errorf("withdrawn consent: %+v", f.Consents)
		}
		f = ce.file(counted)
		if len(f.Consents) != 2 || !f.Consents[0].Standing || !f.Consents[1].Standing {
			t.Errorf("standing consents: %+v", f.Consents)
		}
	})
}

// TestCaseDeleted checks what the API shows of a case before and after
// its deletion: never what identifies the child or anyone's words; after,
// only codes, dates and scores, with deleted: true, and the case is gone
// from the statistics and from the report's linked cases.
func TestCaseDeleted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ce := newCaseAPI(t, db)
		ctx, cw := ce.ctx, ce.caseworker.account
		rep := ce.report("FR")
		id := ce.open("Robin")
		for _, p := range []string{canopy.PurposeSupport, canopy.PurposeInvestigation, canopy.PurposeStatistics} {
			ce.consent(id, p, 0)
		}
		ce.link(id, rep)
		if err := db.PutDirectory(ctx, []*canopy.Provider{{ID: "maison", Name: "Maison des enfants", Active: true, Updated: ce.clock.now(), UpdatedBy: "system"}},
			[]*canopy.ServiceOffer{{ID: "maison-ecoute", ProviderID: "maison", Name: "Écoute", Needs: []string{canopy.ServiceCounselling},
				Ages: canopy.AgeRange{Min: 6, Max: 21}, Active: true, Updated: ce.clock.now(), UpdatedBy: "system"}}); err != nil {
			t.Fatal(err)
		}
		ref, err := ce.support.Refer(ctx, cw, id, "maison-ecoute", canopy.NeedEmotional)
		if err != nil {
			t.Fatal(err)
		}
		ce.clock.add(48 * time.Hour)
		if err := ce.support.AdvanceReferral(ctx, cw, id, ref.ID, canopy.ServiceReferralFirstContact, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := ce.support.SavePlan(ctx, cw, id, canopy.SafetyPlan{Language: "fr", TrustedAdults: []string{planLine}}); err != nil {
			t.Fatal(err)
		}
		if _, err := ce.support.RecordCheckIn(ctx, cw, id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{2}, Note: checkInNote}); err != nil {
			t.Fatal(err)
		}
		if _, err := ce.support.Erase(ctx, cw, id, support.ErasureRequest{Kind: canopy.ErasureRedact, Target: "contact",
			AskedBy: canopy.AskedByChild, Carry: true, Reason: canopy.ReasonInaccurate, Note: erasureNote}); err != nil {
			t.Fatal(err)
		}
		if err := ce.support.PlaceHold(ctx, ce.admin.account, id, holdReason); err != nil {
			t.Fatal(err)
		}
		if err := ce.support.LiftHold(ctx, ce.admin.account, id, liftReason); err != nil {
			t.Fatal(err)
		}

		// Before: the whole file, without anything sealed.
		f := ce.file(id)
		if f.ID != id || f.Alias != "Robin" || f.Region != "FR-IDF" || f.AgeBand != "14-17" || f.Deleted || f.Held ||
			!slices.Equal(f.Reports, []string{rep}) || !f.SafetyPlan || len(f.Consents) != 3 {
			t.Fatalf("file %+v", f)
		}
		for _, c := range f.Consents {
			if !c.Standing || c.GivenBy != "child" || c.Method != "verbal" || c.Given == "" {
				t.Errorf("consent %+v", c)
			}
		}
		if len(f.Referrals) != 1 || f.Referrals[0] != (referralAnswer{ID: ref.ID, ServiceID: "maison-ecoute", ServiceName: f.Referrals[0].ServiceName,
			Need: "emotional", Status: "first_contact", Sent: timestamp(ref.Sent), FirstContact: timestamp(ref.Sent.Add(48 * time.Hour))}) ||
			!strings.Contains(f.Referrals[0].ServiceName, "Écoute") {
			t.Errorf("referrals %+v", f.Referrals)
		}
		if len(f.CheckIns) != 1 || f.CheckIns[0].N != 1 || f.CheckIns[0].Scale != "faces" || f.CheckIns[0].Percent != 25 {
			t.Errorf("check-ins %+v", f.CheckIns)
		}
		if len(f.Holds) != 1 || f.Holds[0].Placed == "" || f.Holds[0].Lifted == "" {
			t.Errorf("holds %+v", f.Holds)
		}
		if len(f.Erasures) != 1 || f.Erasures[0] != (erasureAnswer{Kind: "redact", Target: "contact", Decision: "done", At: f.Erasures[0].At}) {
			t.Errorf("erasures %+v", f.Erasures)
		}
		if rows := ce.statistics(); len(rows) != 1 || rows[0].SecondsToFirstSupport == nil || *rows[0].SecondsToFirstSupport <= 0 {
			t.Fatalf("statistics before deletion: %+v", rows)
		}
		if got := ce.linked(rep, ce.analyst); !slices.Equal(got, []linkedCase{{"Robin", "14-17"}}) {
			t.Fatalf("linked before deletion: %+v", got)
		}

		ce.delete(id)

		// What the store keeps of it: codes, dates and scores; no key,
		// no details, no alias, no region, no links.
		sc, err := db.Case(ctx, id)
		if err != nil || !sc.IsDeleted() || sc.WrappedKey != nil || sc.Details != nil || sc.Alias != "" || sc.Region != "" {
			t.Fatalf("stored deleted case %+v %v", sc, err)
		}

		// The file says so, and shows what is left, nothing else.
		rec := ce.get("/api/v1/cases/"+id, ce.caseworker.token)
		noSecrets(t, "deleted file", rec.Body.String())
		for _, s := range []string{"Robin", "FR-IDF", rep} {
			if strings.Contains(rec.Body.String(), s) {
				t.Errorf("the deleted case's file holds %q: %s", s, rec.Body)
			}
		}
		f = ce.file(id)
		if !f.Deleted || f.Alias != "" || f.Region != "" || f.SafetyPlan || len(f.Reports) != 0 || f.AgeBand != "14-17" ||
			!slices.Equal(f.Needs, []string{"safety", "emotional"}) || f.Opened == "" {
			t.Fatalf("deleted file %+v", f)
		}
		for _, c := range f.Consents {
			if c.Standing {
				t.Errorf("a consent of a deleted case stands: %+v", c)
			}
		}
		if len(f.CheckIns) != 1 || f.CheckIns[0].Percent != 25 || len(f.Referrals) != 1 || len(f.Holds) != 1 ||
			len(f.Erasures) != 2 || f.Erasures[1].Kind != "delete" || f.Erasures[1].Target != "" || f.Erasures[1].Decision != "done" {
			t.Errorf("what is left: %+v", f)
		}

		// The list too; and the case is gone from statistics and links.
		var list caseList
		ce.read("/api/v1/cases", ce.caseworker, &list)
		if list.Total != 1 || len(list.Cases) != 1 || !list.Cases[0].Deleted || list.Cases[0].Alias != "" || list.Cases[0].Region != "" {
			t.Fatalf("list %+v", list)
		}
		if rows := ce.statistics(); len(rows) != 0 {
			t.Fatalf("statistics after deletion: %+v", rows)
		}
		for _, m := range []member{ce.analyst, ce.liaison} {
			if got := ce.linked(rep, m); len(got) != 0 {
				t.Fatalf("linked after deletion: %+v", got)
			}
		}
	})
}

// TestCasesAudited checks that every read that shows a case is written
// to the audit log under the reader's name, by support: opening a file,
// exporting the statistics, each linked case shown. The list opens no
// case and is not.
func TestCasesAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ce := newCaseAPI(t, db)
		rep := ce.report("FR")
		id, other := ce.open("Robin"), ce.open("Sam")
		for _, c := range []string{id, other} {
			ce.consent(c, canopy.PurposeInvestigation, 0)
			ce.consent(c, canopy.PurposeStatistics, 0)
			ce.link(c, rep)
		}
		ce.withdraw(other, canopy.PurposeInvestigation)

		views := func(from int64) []audit.Entry {
			return slices.DeleteFunc(ce.entriesSince(from), func(e audit.Entry) bool { return e.Action != audit.ActionCaseView })
		}
		for _, tc := range []struct {
			target string
			who    member
			want   []map[string]string // the details of each case.view
			ids    []string
		}{
			{"/api/v1/cases/" + id, ce.caseworker, []map[string]string{{"part": "case"}}, []string{id}},
			{"/api/v1/cases/statistics", ce.caseworker, []map[string]string{{"part": "statistics", "rows": "2"}}, []string{""}},
			{"/api/v1/reports/" + rep + "/cases", ce.liaison, []map[string]string{{"part": "link", "report": rep}}, []string{id}},
			{"/api/v1/cases", ce.caseworker, []map[string]string{{"part": "list", "rows": "2"}}, []string{""}},
		} {
			for range 2 { // every request, not just the first
				before := ce.log.Size()
				var v any
				ce.read(tc.target, tc.who, &v)
				got := views(before)
				if len(got) != len(tc.want) {
					t.Fatalf("%s: %d entries, want %d: %+v", tc.target, len(got), len(tc.want), got)
				}
				for i, e := range got {
					wantKind := audit.KindCase
					if tc.ids[i] == "" {
						wantKind = ""
					}
					if e.Actor != audit.Staff(tc.who.account.ID) || e.Outcome != audit.OK || e.ID != tc.ids[i] || e.Kind != wantKind ||
						!maps.Equal(e.Details, tc.want[i]) {
						t.Errorf("%s: entry %+v", tc.target, e)
					}
				}
			}
		}
	})
}

// TestCasesPaging checks the list's paging, and that every bad value of
// limit or offset is a 400 naming each.
func TestCasesPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ce := newCaseAPI(t, db)
		var ids []string
		for i := range 5 {
			ids = append(ids, ce.open(fmt.Sprintf("Child %d", i)))
		}
		slices.Reverse(ids) // newest first
		page := func(query string) caseList {
			t.Helper()
			var l caseList
			ce.read("/api/v1/cases"+query, ce.caseworker, &l)
			if l.Cases == nil {
				t.Fatalf("%s: cases is null", query)
			}
			return l
		}
		idsOf := func(l caseList) []string {
			var out []string
			for _, c := range l.Cases {
				out = append(out, c.ID)
			}
			return out
		}
		for _, tc := range []struct {
			query         string
			limit, offset int
			want          []string
		}{
			{"", 100, 0, ids},
			{"?limit=2", 2, 0, ids[:2]},
			{"?limit=2&offset=2", 2, 2, ids[2:4]},
			{"?offset=4", 100, 4, ids[4:]},
			{"?offset=5", 100, 5, nil},
			{"?offset=2147483647", 100, 2147483647, nil},
			{"?limit=1000&offset=0", 1000, 0, ids},
			{"?limit=1&lang=fr", 1, 0, ids[:1]},
		} {
			l := page(tc.query)
			if l.Total != 5 || l.Limit != tc.limit || l.Offset != tc.offset || !slices.Equal(idsOf(l), tc.want) {
				t.Errorf("%q: total %d, limit %d, offset %d, %q; want %q", tc.query, l.Total, l.Limit, l.Offset, idsOf(l), tc.want)
			}
		}
		c := page("?limit=1").Cases[0]
		if c.Alias != "Child 4" || c.AgeBand != "14-17" || !slices.Equal(c.Languages, []string{"ar", "fr"}) || c.Region != "FR-IDF" ||
			!slices.Equal(c.Needs, []string{"safety", "emotional"}) || c.Opened == "" || c.Updated == "" || c.Deleted || c.Held {
			t.Errorf("case %+v", c)
		}

		tooMany := func(field string, n int) string { return field + " " + intake.KeyTooMany + " " + strconv.Itoa(n) }
		size := ce.log.Size()
		for _, tc := range []struct {
			query  string
			errors []string // field, code and, for too_many, the bound
		}{
			{"?limit=0", []string{"limit " + intake.KeyInvalid}},
			{"?limit=-1", []string{"limit " + intake.KeyInvalid}},
			{"?limit=", []string{"limit " + intake.KeyInvalid}},
			{"?limit=ten", []string{"limit " + intake.KeyInvalid}},
			{"?limit=1.5", []string{"limit " + intake.KeyInvalid}},
			{"?limit=1e2", []string{"limit " + intake.KeyInvalid}},
			{"?limit=%2B5", []string{"limit " + intake.KeyInvalid}},
			{"?limit=%205", []string{"limit " + intake.KeyInvalid}},
			{"?limit=0x10", []string{"limit " + intake.KeyInvalid}},
			{"?limit=99999999999999999999", []string{"limit " + intake.KeyInvalid}},
			{"?limit=1001", []string{tooMany("limit", 1000)}},
			{"?limit=9223372036854775807", []string{tooMany("limit", 1000)}},
			{"?limit=1&limit=2", []string{"limit " + intake.KeyDuplicate}},
			{"?offset=-1", []string{"offset " + intake.KeyInvalid}},
			{"?offset=", []string{"offset " + intake.KeyInvalid}},
			{"?offset=one", []string{"offset " + intake.KeyInvalid}},
			{"?offset=2147483648", []string{tooMany("offset", 2147483647)}},
			{"?offset=0&offset=0", []string{"offset " + intake.KeyDuplicate}},
			{"?limit=0&offset=-1", []string{"limit " + intake.KeyInvalid, "offset " + intake.KeyInvalid}},
			{"?offset=x&limit=2000", []string{tooMany("limit", 1000), "offset " + intake.KeyInvalid}},
			{"?limit=5&lang=xx", []string{"lang " + intake.KeyLanguage}},
		} {
			rec := ce.do(call{method: "GET", target: "/api/v1/cases" + tc.query, conforms: -1,
				header: map[string]string{"Authorization": "Bearer " + ce.caseworker.token}})
			if rec.Code != 400 {
				t.Errorf("%s: %d %s", tc.query, rec.Code, rec.Body)
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
			if p.Code != canopy.EINVALID || !slices.Equal(got, tc.errors) {
				t.Errorf("%s: %s errors %q, want %q", tc.query, p.Code, got, tc.errors)
			}
		}
		if n := ce.log.Size(); n != size {
			t.Errorf("refused pages grew the log from %d to %d", size, n)
		}
		// The problem is translated.
		rec := ce.do(call{method: "GET", target: "/api/v1/cases?limit=0&lang=fr", header: map[string]string{"Authorization": "Bearer " + ce.caseworker.token}})
		if rec.Code != 400 || rec.Header().Get("Content-Language") != "fr" {
			t.Errorf("in French: %d %v %s", rec.Code, rec.Header(), rec.Body)
		}
	})
}

// TestCasesUnavailable checks the case routes of an API without support
// or without triage.
func TestCasesUnavailable(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	svc := &support.Service{DB: db}
	routes := []string{"/api/v1/cases", "/api/v1/cases/statistics", "/api/v1/cases/" + canopy.NewID(), "/api/v1/reports/" + canopy.NewID() + "/cases"}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []int
	}{
		{"nothing", Config{}, []int{503, 503, 503, 503}},
		{"no staff", Config{Support: svc}, []int{503, 503, 503, 503}},
		{"no support", Config{Staff: &staff.Service{DB: db}}, []int{503, 503, 503, 503}},
		{"no triage", Config{Support: svc, Staff: &staff.Service{DB: db}}, []int{401, 401, 401, 503}},
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
}

// TestRecordIDPattern keeps the document's pattern for ids, which a path
// parameter is checked against, in step with the ids the node makes.
func TestRecordIDPattern(t *testing.T) {
	s := mustDoc(t).get("components", "schemas", "RecordID")
	re := regexp.MustCompile(s["pattern"].(string))
	for range 100 {
		id := canopy.NewID()
		if !re.MatchString(id) || len(id) > int(s["maxLength"].(float64)) {
			t.Fatalf("id %q does not match the document's RecordID", id)
		}
		r := httptest.NewRequest("GET", "/api/v1/cases/"+id, nil)
		r.SetPathValue("id", id)
		if pathID(r) != id {
			t.Fatalf("pathID refuses %q", id)
		}
	}
}
