package workspace

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

// What a test writes into a case's sealed parts: it must show only where
// a caseworker asked for it, and never after a redaction or a deletion.
const (
	caseChildName = "Amira zebra-name"
	casePlanLine  = "Call Aunt Salma zebra-plan"
	caseNote      = "slept badly zebra-note"
)

// caseworker is the test caseworker's account.
func (e *env) caseworker() *canopy.Account { return e.members[canopy.RoleCaseworker].Account }

// testCase opens a case as the caseworker would, with a name among its
// details and the child's consent to support and to investigation.
func testCase(e *env) string {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.srv.support.OpenCase(ctx, e.caseworker(), support.NewCase{
		Profile: support.Profile{Alias: "Robin", AgeBand: "14-17", Languages: []string{"ar", "fr"}, Region: "FR-IDF"},
		Needs:   []string{canopy.NeedEmotional}, Details: canopy.CaseDetails{Name: caseChildName}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range []string{canopy.PurposeSupport, canopy.PurposeInvestigation} {
		if _, err := e.srv.support.GiveConsent(ctx, e.caseworker(), c.ID, support.NewConsent{Purpose: p,
			GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal}); err != nil {
			e.t.Fatal(err)
		}
	}
	return c.ID
}

// testService is a service of the directory to refer to.
func testService(e *env) string {
	e.t.Helper()
	at := e.clock.now()
	err := e.db.PutDirectory(context.Background(), []*canopy.Provider{{ID: "maison", Name: "Maison des enfants", Active: true, Updated: at, UpdatedBy: "system"}},
		[]*canopy.ServiceOffer{{ID: "maison-ecoute", ProviderID: "maison", Name: "Écoute", Needs: []string{canopy.ServiceCounselling},
			Country: "FR", Ages: canopy.AgeRange{Min: 6, Max: 21}, Active: true, Updated: at, UpdatedBy: "system"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return "maison-ecoute"
}

// testReferral is a case referred to a service.
func testReferral(e *env) (string, string) {
	e.t.Helper()
	id := testCase(e)
	r, err := e.srv.support.Refer(context.Background(), e.caseworker(), id, testService(e), canopy.NeedEmotional)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, r.ID
}

// testPlan is a case with a safety plan in Arabic.
func testPlan(e *env) string {
	e.t.Helper()
	id := testCase(e)
	err := e.srv.support.SavePlan(context.Background(), e.caseworker(), id, canopy.SafetyPlan{Language: "ar",
		TrustedAdults: []string{casePlanLine}, Emergency: []string{"112"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// heldCase is a case under a legal hold.
func heldCase(e *env) string {
	e.t.Helper()
	id := testCase(e)
	if err := e.srv.support.PlaceHold(context.Background(), e.members[canopy.RoleAdministrator].Account, id, "Court order 17"); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// linkedCase is a case linked to a new report, and the report.
func linkedCase(e *env) (string, string) {
	e.t.Helper()
	id, rep := testCase(e), freshReport(e)
	if err := e.srv.support.LinkReport(context.Background(), e.caseworker(), id, rep); err != nil {
		e.t.Fatal(err)
	}
	return id, rep
}

// mustStatus fails the test unless resp has status want.
func mustStatus(t *testing.T, where string, resp *http.Response, body string, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: %d, want %d\n%.1500s", where, resp.StatusCode, want, body)
	}
}

// caseLocation returns the case a redirect points to, and its notice.
func caseLocation(t *testing.T, resp *http.Response) (string, string) {
	t.Helper()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.Path, "/staff/cases/") {
		t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	return strings.TrimPrefix(u.Path, "/staff/cases/"), u.Query().Get("done")
}

// TestCaseworkerPages walks a caseworker through a case over HTTP: open
// it (a mistake first), read it, reveal its details, record consent,
// needs, a referral and its steps, a safety plan printed in two
// languages, and check-ins on both scales.
func TestCaseworkerPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		testService(e)
		rep := freshReport(e)
		b := e.login(canopy.RoleCaseworker)

		resp, body := b.get("/staff/cases")
		mustStatus(t, "cases", resp, body, http.StatusOK)
		if !strings.Contains(body, `aria-current="page">Cases</a>`) || !strings.Contains(body, "There are no open support cases") {
			t.Fatalf("empty list:\n%s", body)
		}
		resp, body = b.get("/staff/cases/new")
		mustStatus(t, "new case form", resp, body, http.StatusOK)

		form := url.Values{"alias": {""}, "age_band": {"14-17"}, "languages": {"ar, fr"}, "region": {"Île-de-France"},
			"needs": {canopy.NeedEmotional, canopy.NeedSafety}, "name": {caseChildName}, "birth_date": {"2011-03-04"}}
		resp, body = b.post("/staff/cases", form)
		mustStatus(t, "open without alias", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#alias"`) || !strings.Contains(body, `value="`+caseChildName+`"`) {
			t.Fatalf("error page does not keep the form or link the field:\n%s", body)
		}
		form.Set("alias", "Robin")
		resp, body = b.post("/staff/cases", form)
		mustStatus(t, "open", resp, body, http.StatusSeeOther)
		id, done := caseLocation(t, resp)
		if done != "opened" {
			t.Fatalf("notice %q", done)
		}

		// The page: pseudonymous until the details are asked for.
		resp, body = b.get("/staff/cases/" + id + "?done=opened")
		mustStatus(t, "case page", resp, body, http.StatusOK)
		for _, want := range []string{"<h1>Case Robin</h1>", esc(caseNotices["opened"]), "Île-de-France", "Show the identifying details",
			"Support:</strong> not given", "Record the child's consent to support to refer them"} {
			if !strings.Contains(body, want) {
				t.Errorf("case page lacks %q", want)
			}
		}
		if strings.Contains(body, caseChildName) {
			t.Fatal("the case page shows the child's name before it is asked for")
		}
		resp, body = b.post("/staff/cases/"+id+"/reveal", nil)
		mustStatus(t, "reveal", resp, body, http.StatusOK)
		if !strings.Contains(body, caseChildName) || !strings.Contains(body, "2011-03-04") {
			t.Fatalf("revealed page lacks the details:\n%s", body)
		}
		parts := map[string]int{}
		es, _ := e.audit.Entries(ctx, 0, 100_000)
		for _, en := range es {
			if en.Action == audit.ActionCaseView && en.ID == id {
				parts[en.Details["part"]]++
			}
		}
		if parts["case"] != 2 || parts["details"] != 1 {
			t.Fatalf("openings audited: %v", parts)
		}

		// Consent, needs, a link and a referral.
		steps := []struct {
			path string
			form url.Values
			done string
		}{
			{"/consents", url.Values{"purpose": {"support"}, "given_by": {"child"}, "method": {"verbal"}}, "consent"},
			{"/consents", url.Values{"purpose": {"investigation"}, "given_by": {"guardian"}, "method": {"written"},
				"expires": {e.clock.now().AddDate(1, 0, 0).Format(time.DateOnly)}}, "consent"},
			{"/needs", url.Values{"needs": {canopy.NeedLegal, canopy.NeedEmotional}}, "needs"},
			{"/links", url.Values{"report": {rep}}, "linked"},
			{"/referrals", url.Values{"service": {"maison-ecoute"}, "need": {canopy.NeedEmotional}}, "referred"},
			{"/profile", url.Values{"alias": {"Sky"}, "age_band": {"14-17"}, "languages": {"ar fr"}, "region": {""}}, "profile"},
			{"/details", url.Values{"name": {caseChildName}, "contact": {"text only"}}, "details"},
		}
		for _, s := range steps {
			resp, body := b.post("/staff/cases/"+id+s.path, s.form)
			mustStatus(t, s.path, resp, body, http.StatusSeeOther)
			if _, done := caseLocation(t, resp); done != s.done {
				t.Fatalf("%s: notice %q, want %q", s.path, done, s.done)
			}
			e.clock.add(time.Hour)
		}
		_, body = b.get("/staff/cases/" + id)
		for _, want := range []string{"<h1>Case Sky</h1>", "Support:</strong> given", "Investigation:</strong> given", "Maison des enfants: Écoute",
			rep, "No service has met the child yet", `id="status-`} {
			if !strings.Contains(body, want) {
				t.Errorf("case page lacks %q", want)
			}
		}
		f, err := e.srv.support.Case(ctx, e.caseworker(), id)
		if err != nil || len(f.Referrals) != 1 {
			t.Fatalf("referrals %+v %v", f, err)
		}
		ref := f.Referrals[0].ID

		// A step in the future is refused beside its field; then first
		// contact, today.
		resp, body = b.post("/staff/cases/"+id+"/referrals/"+ref, url.Values{"status": {"first_contact"}, "on": {"2099-01-01"}})
		mustStatus(t, "step in the future", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#on-`+ref+`"`) || !strings.Contains(body, `id="on-error"`) {
			t.Fatalf("step error:\n%s", body)
		}
		resp, body = b.post("/staff/cases/"+id+"/referrals/"+ref, url.Values{"status": {"first_contact"}, "on": {e.clock.now().Format(time.DateOnly)}})
		mustStatus(t, "step", resp, body, http.StatusSeeOther)
		_, body = b.get("/staff/cases/" + id)
		if !strings.Contains(body, "Time to first support:</strong> ") || !strings.Contains(body, "from the first linked report") {
			t.Fatalf("no time to first support:\n%s", body)
		}

		// Withdrawal of consent to support takes the referral form away.
		resp, body = b.post("/staff/cases/"+id+"/consents/withdraw", url.Values{"purpose": {"support"}})
		mustStatus(t, "withdraw", resp, body, http.StatusSeeOther)
		_, body = b.get("/staff/cases/" + id)
		if strings.Contains(body, `action="/staff/cases/`+id+`/referrals"`) || !strings.Contains(body, "Support:</strong> not given") {
			t.Fatal("the referral form is offered after consent to support was withdrawn")
		}
		if strings.Contains(body, `href="/staff/cases/`+id+`/plan"`) || strings.Contains(body, `href="/staff/cases/`+id+`/checkin"`) ||
			!strings.Contains(body, "nothing new can be added for support") {
			t.Fatal("plan and check-in are offered after consent to support was withdrawn")
		}
		resp, body = b.post("/staff/cases/"+id+"/referrals", url.Values{"service": {"maison-ecoute"}})
		mustStatus(t, "refer without consent", resp, body, http.StatusConflict)
		resp, body = b.post("/staff/cases/"+id+"/checkin", url.Values{"scale": {"who5"}, "item0": {"3"}, "item1": {"3"}, "item2": {"3"}, "item3": {"3"}, "item4": {"3"}})
		mustStatus(t, "check-in without consent", resp, body, http.StatusConflict)
		resp, body = b.post("/staff/cases/"+id+"/consents", url.Values{"purpose": {"support"}, "given_by": {"child"}, "method": {"verbal"}})
		mustStatus(t, "consent again", resp, body, http.StatusSeeOther)

		// The safety plan, and its printable page in its language and
		// in English.
		resp, body = b.get("/staff/cases/" + id + "/plan")
		mustStatus(t, "plan form", resp, body, http.StatusOK)
		if !strings.Contains(body, `<option value="ar" lang="ar" selected>العربية</option>`) {
			t.Fatalf("the plan does not default to the child's language:\n%s", body)
		}
		plan := url.Values{"language": {"ar"}, "warning_signs": {"I feel sick\r\n\r\nMy phone buzzes at night"}, "trusted_adults": {casePlanLine},
			"safe_places": {"Grandma's kitchen"}, "online": {"Block and tell"}, "emergency": {"112"}}
		resp, body = b.post("/staff/cases/"+id+"/plan", with(plan, "language", "xx"))
		mustStatus(t, "plan in no language", resp, body, http.StatusUnprocessableEntity)
		resp, body = b.post("/staff/cases/"+id+"/plan", plan)
		mustStatus(t, "plan", resp, body, http.StatusSeeOther)
		resp, body = b.get("/staff/cases/" + id + "/plan/print")
		mustStatus(t, "print", resp, body, http.StatusOK)
		for _, want := range []string{`<html lang="ar" dir="rtl">`, "<title>خطتي للأمان</title>", casePlanLine,
			"أشخاص بالغون أثق بهم", "<li dir=\"auto\">My phone buzzes at night</li>"} {
			if !strings.Contains(body, want) {
				t.Errorf("printed plan in Arabic lacks %q", want)
			}
		}
		_, body = b.get("/staff/cases/" + id + "/plan/print?lang=en")
		if !strings.Contains(body, `<html lang="en" dir="ltr">`) || !strings.Contains(body, "Adults I trust, and how I can reach them") {
			t.Errorf("printed plan in English:\n%s", body)
		}
		_, body = b.get("/staff/cases/" + id + "/plan/print?lang=fr")
		if !strings.Contains(body, `<html lang="fr" dir="ltr">`) || !strings.Contains(body, "Mon plan de sécurité") {
			t.Errorf("printed plan in French:\n%s", body)
		}

		// Check-ins: a WHO-5 with an answer missing, then whole; and the
		// faces.
		resp, body = b.get("/staff/cases/" + id + "/checkin")
		mustStatus(t, "check-in form", resp, body, http.StatusOK)
		if !strings.Contains(body, "I have felt cheerful and in good spirits") {
			t.Fatalf("a 14-17 check-in is not the WHO-5:\n%s", body)
		}
		who5 := url.Values{"scale": {"who5"}, "item0": {"2"}, "item1": {"2"}, "item2": {"2"}, "item3": {"2"}, "note": {caseNote}}
		resp, body = b.post("/staff/cases/"+id+"/checkin", who5)
		mustStatus(t, "incomplete check-in", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#item-0-5"`) || !strings.Contains(body, caseNote) {
			t.Fatalf("incomplete check-in:\n%s", body)
		}
		who5.Set("item4", "2")
		resp, body = b.post("/staff/cases/"+id+"/checkin", who5)
		mustStatus(t, "check-in", resp, body, http.StatusSeeOther)
		e.clock.add(12 * time.Hour) // within the session's idle time
		_, body = b.get("/staff/cases/" + id + "/checkin?scale=faces")
		if !strings.Contains(body, "Very happy") {
			t.Fatalf("faces form:\n%s", body)
		}
		resp, body = b.post("/staff/cases/"+id+"/checkin", url.Values{"scale": {"faces"}, "item0": {"4"}})
		mustStatus(t, "faces check-in", resp, body, http.StatusSeeOther)
		_, body = b.get("/staff/cases/" + id)
		for _, want := range []string{`<svg role="img" aria-labelledby="trend-title trend-desc"`, "2 check-ins from", "first 40, latest 75",
			caseNote, "Happy", `<strong class="badge">Low</strong>`} {
			if !strings.Contains(body, want) {
				t.Errorf("well-being lacks %q", want)
			}
		}
		if strings.Contains(e.logs.String(), caseChildName) || strings.Contains(e.logs.String(), caseNote) {
			t.Fatal("the log holds what a case says")
		}
	})
}

// TestCaseReadPathsFollowConsent: every read path of a case's data that
// others may reach stops as soon as consent is withdrawn or the case is
// deleted: the report page analysts and liaisons see, and the statistics
// export. Redaction and deletion reach the case's own pages and the
// printable plan.
func TestCaseReadPathsFollowConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, rep := linkedCase(e)
	cw := e.login(canopy.RoleCaseworker)
	analyst, liaison := e.login(canopy.RoleAnalyst), e.login(canopy.RoleLiaison)
	shows := func(b *browser) bool {
		t.Helper()
		resp, body := b.get("/staff/reports/" + rep)
		mustStatus(t, "report page", resp, body, http.StatusOK)
		return strings.Contains(body, `<h2 id="cases-title">Support cases</h2>`) && strings.Contains(body, "Robin, 14 to 17 years")
	}
	if !shows(analyst) || !shows(liaison) {
		t.Fatal("the report page does not show the linked case with consent to investigation")
	}
	if _, body := analyst.get("/staff/reports/" + rep); strings.Contains(body, caseChildName) || strings.Contains(body, id) {
		t.Fatal("the report page shows more of the case than its alias and age band")
	}
	resp, body := cw.post("/staff/cases/"+id+"/consents/withdraw", url.Values{"purpose": {"investigation"}})
	mustStatus(t, "withdraw", resp, body, http.StatusSeeOther)
	if shows(analyst) || shows(liaison) {
		t.Fatal("the report page shows the case after consent to investigation was withdrawn")
	}
	if _, err := e.srv.support.GiveConsent(ctx, e.caseworker(), id, support.NewConsent{Purpose: canopy.PurposeInvestigation,
		GivenBy: canopy.ConsentByGuardian, Method: canopy.ConsentWritten, Expires: e.clock.now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !shows(analyst) {
		t.Fatal("consent given again does not show")
	}
	e.clock.add(time.Hour)
	if shows(analyst) {
		t.Fatal("the report page shows the case after its consent expired")
	}

	// The export follows consent to statistics.
	export := func() [][]string {
		t.Helper()
		resp, body := cw.get("/staff/cases/export.csv")
		mustStatus(t, "export", resp, body, http.StatusOK)
		if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Fatalf("export headers %v", resp.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) == 0 || rows[0][0] != "opened_month" {
			t.Fatalf("export %q: %v", body, err)
		}
		for _, secret := range []string{"Robin", id, "FR-IDF", caseChildName} {
			if strings.Contains(body, secret) {
				t.Fatalf("the export names the case: %q", secret)
			}
		}
		return rows[1:]
	}
	if rows := export(); len(rows) != 0 {
		t.Fatalf("exported without consent: %v", rows)
	}
	resp, body = cw.post("/staff/cases/"+id+"/consents", url.Values{"purpose": {"statistics"}, "given_by": {"child"}, "method": {"online"}})
	mustStatus(t, "consent to statistics", resp, body, http.StatusSeeOther)
	if rows := export(); len(rows) != 1 || rows[0][1] != "14-17" {
		t.Fatalf("export with consent: %v", rows)
	}
	cw.post("/staff/cases/"+id+"/consents/withdraw", url.Values{"purpose": {"statistics"}})
	if rows := export(); len(rows) != 0 {
		t.Fatalf("exported after withdrawal: %v", rows)
	}

	// Redaction reaches the pages and the printed plan.
	if err := e.srv.support.SavePlan(ctx, e.caseworker(), id, canopy.SafetyPlan{Language: "fr", TrustedAdults: []string{casePlanLine}}); err != nil {
		t.Fatal(err)
	}
	if _, body := cw.get("/staff/cases/" + id + "/plan/print"); !strings.Contains(body, casePlanLine) {
		t.Fatal("the printed plan lacks its words")
	}
	for _, target := range []string{"name", "plan"} {
		resp, body := cw.post("/staff/cases/"+id+"/erase", url.Values{"kind": {"redact"}, "target": {target}, "asked_by": {"child"},
			"decision": {"carry"}, "reason": {"child_wishes"}})
		mustStatus(t, "redact "+target, resp, body, http.StatusSeeOther)
		if _, done := caseLocation(t, resp); done != "redacted" {
			t.Fatalf("redact %s: %q", target, done)
		}
	}
	_, body = cw.post("/staff/cases/"+id+"/reveal", nil)
	if strings.Contains(body, caseChildName) || !strings.Contains(body, "Redacted on") {
		t.Fatalf("the name shows after its redaction:\n%s", body)
	}
	if _, body := cw.get("/staff/cases/" + id + "/plan/print"); strings.Contains(body, casePlanLine) {
		t.Fatal("the printed plan shows redacted words")
	}

	// Deletion: nothing more anywhere, and what is left says so.
	e.srv.support.GiveConsent(ctx, e.caseworker(), id, support.NewConsent{Purpose: canopy.PurposeInvestigation, GivenBy: "child", Method: "verbal"})
	e.srv.support.GiveConsent(ctx, e.caseworker(), id, support.NewConsent{Purpose: canopy.PurposeStatistics, GivenBy: "child", Method: "verbal"})
	if !shows(analyst) || len(export()) != 1 {
		t.Fatal("consent given again does not show")
	}
	resp, body = cw.post("/staff/cases/"+id+"/erase", url.Values{"kind": {"delete"}, "asked_by": {"guardian"}, "decision": {"carry"}, "reason": {"no_longer_needed"}})
	mustStatus(t, "delete", resp, body, http.StatusSeeOther)
	if _, done := caseLocation(t, resp); done != "deleted" {
		t.Fatalf("delete: %q", done)
	}
	if shows(analyst) || shows(liaison) || len(export()) != 0 {
		t.Fatal("a deleted case still shows")
	}
	resp, body = cw.get("/staff/cases/" + id)
	mustStatus(t, "deleted case", resp, body, http.StatusOK)
	if !strings.Contains(body, "<h1>Deleted case</h1>") || strings.Contains(body, "Robin") || strings.Contains(body, `action="/staff/cases/`+id+`/reveal"`) {
		t.Fatalf("deleted case page:\n%s", body)
	}
	if _, body := cw.get("/staff/cases?state=all"); strings.Contains(body, "Robin") || !strings.Contains(body, "Deleted case") {
		t.Fatal("the list shows a deleted case's alias")
	}
	for _, path := range []string{"/plan/print", "/plan", "/checkin", "/erase"} {
		if resp, body := cw.get("/staff/cases/" + id + path); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "This case was deleted") {
			t.Errorf("%s of a deleted case: %d\n%.500s", path, resp.StatusCode, body)
		}
	}
	if resp, _ := cw.post("/staff/cases/"+id+"/reveal", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("reveal of a deleted case: %d", resp.StatusCode)
	}
}

// TestLegalHoldPages: an administrator places a hold through the page;
// the caseworker sees it on the case and a deletion is stopped, recorded
// and audited; once lifted, the deletion goes through.
func TestLegalHoldPages(t *testing.T) {
	e := newEnv(t)
	id := testCase(e)
	admin, cw := e.login(canopy.RoleAdministrator), e.login(canopy.RoleCaseworker)
	resp, body := admin.get("/staff/cases/holds")
	mustStatus(t, "holds", resp, body, http.StatusOK)
	if strings.Contains(body, "Robin") {
		t.Fatal("the holds page shows a case's alias")
	}
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"case": {""}, "reason": {"x"}}, `href="#case"`},
		{url.Values{"case": {"nope"}, "reason": {"x"}}, esc(messageOf("error.case.not_found"))},
		{url.Values{"case": {id}, "reason": {" "}}, `href="#reason"`},
	} {
		resp, body := admin.post("/staff/cases/holds", c.form)
		mustStatus(t, "bad hold", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, c.want) {
			t.Errorf("hold %v: lacks %q", c.form, c.want)
		}
	}
	resp, body = admin.post("/staff/cases/holds", url.Values{"case": {strings.ToUpper(id)}, "reason": {"Court order 2026/17"}})
	mustStatus(t, "place", resp, body, http.StatusSeeOther)
	resp, body = admin.post("/staff/cases/holds", url.Values{"case": {id}, "reason": {"again"}})
	mustStatus(t, "place twice", resp, body, http.StatusConflict)

	_, body = cw.get("/staff/cases/" + id)
	if !strings.Contains(body, "A legal hold stands") || !strings.Contains(body, "Court order 2026/17") {
		t.Fatalf("the hold is not visible on the case:\n%s", body)
	}
	del := url.Values{"kind": {"delete"}, "asked_by": {"child"}, "decision": {"carry"}, "reason": {"child_wishes"}}
	resp, body = cw.post("/staff/cases/"+id+"/erase", del)
	mustStatus(t, "delete under hold", resp, body, http.StatusSeeOther)
	if _, done := caseLocation(t, resp); done != "held" {
		t.Fatalf("delete under hold: %q", done)
	}
	_, body = cw.get("/staff/cases/" + id + "?done=held")
	if !strings.Contains(body, "Stopped by a legal hold") || !strings.Contains(body, "<h1>Case Robin</h1>") {
		t.Fatalf("held deletion not recorded:\n%s", body)
	}
	es, _ := e.audit.Entries(context.Background(), 0, 100_000)
	denied := slices.ContainsFunc(es, func(en audit.Entry) bool {
		return en.Action == audit.ActionCaseDestroy && en.Outcome == audit.Denied && en.ID == id
	})
	if !denied {
		t.Fatal("the stopped deletion is not audited")
	}

	resp, body = admin.post("/staff/cases/holds/lift", url.Values{"case": {id}, "lift_reason": {""}})
	mustStatus(t, "lift without reason", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `href="#lift_reason-`+id+`"`) {
		t.Fatalf("lift error:\n%s", body)
	}
	resp, body = admin.post("/staff/cases/holds/lift", url.Values{"case": {id}, "lift_reason": {"Order ended"}})
	mustStatus(t, "lift", resp, body, http.StatusSeeOther)
	_, body = admin.get("/staff/cases/holds?done=lifted")
	if !strings.Contains(body, "Order ended") || !strings.Contains(body, caseHoldNotices["lifted"]) {
		t.Fatalf("holds after lifting:\n%s", body)
	}
	resp, _ = cw.post("/staff/cases/"+id+"/erase", del)
	if _, done := caseLocation(t, resp); done != "deleted" {
		t.Fatalf("delete after lifting: %q", done)
	}
}

// TestEraseForm: the redaction form lists only what holds something and
// keeps what was typed beside its problems.
func TestEraseForm(t *testing.T) {
	e := newEnv(t)
	id := testPlan(e)
	cw := e.login(canopy.RoleCaseworker)
	resp, body := cw.get("/staff/cases/" + id + "/erase")
	mustStatus(t, "erase form", resp, body, http.StatusOK)
	for _, want := range []string{`<option value="name">Name</option>`, `<option value="plan">Safety plan</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("erase form lacks %q", want)
		}
	}
	if strings.Contains(body, `value="checkin:`) {
		t.Error("the erase form offers a check-in the case does not have")
	}
	resp, body = cw.post("/staff/cases/"+id+"/erase", url.Values{"kind": {"redact"}, "target": {"name"}, "decision": {"carry"}, "note": {"typed note"}})
	mustStatus(t, "erase without reason", resp, body, http.StatusUnprocessableEntity)
	for _, want := range []string{`href="#asked_by-child"`, `href="#reason"`, "typed note"} {
		if !strings.Contains(body, want) {
			t.Errorf("erase errors lack %q", want)
		}
	}
}

func TestCaseTrend(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if newTrend(nil) != nil {
		t.Fatal("a trend of nothing")
	}
	tr := newTrend([]canopy.CheckIn{
		{N: 1, At: at, Scale: canopy.ScaleWHO5, Score: 25},
		{N: 2, At: at.Add(24 * time.Hour), Scale: canopy.ScaleFaces, Score: 1},
		{N: 3, At: at.Add(48 * time.Hour), Scale: canopy.ScaleWHO5, Score: 13},
	})
	if tr.Line != fmt.Sprintf("70,%d 130,%d 190,%d", trendTop, trendTop+trendHeight, trendTop+trendHeight-52*trendHeight/100) || tr.LowY != trendTop+trendHeight/2 {
		t.Fatalf("trend %+v", tr)
	}
	if !strings.Contains(tr.Summary, "3 check-ins") || !strings.Contains(tr.Summary, "first 100, latest 52") {
		t.Fatalf("summary %q", tr.Summary)
	}
}

// TestCasePagesAreLabelled holds the case pages to what TestPagesAreLabelled
// asks of the others: a title, one h1, a skip link and a main landmark,
// and a label for every control; the printable plan to a title, one h1,
// a main landmark and its language.
func TestCasePagesAreLabelled(t *testing.T) {
	e := newEnv(t)
	id := testPlan(e)
	ctx := context.Background()
	if _, err := e.srv.support.RecordCheckIn(ctx, e.caseworker(), id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{2}, Note: caseNote}); err != nil {
		t.Fatal(err)
	}
	testReferral(e)
	heldCase(e)
	pages := map[canopy.Role][]string{
		canopy.RoleCaseworker: {"/staff/cases", "/staff/cases/new", "/staff/cases/" + id, "/staff/cases/" + id + "/plan",
			"/staff/cases/" + id + "/checkin", "/staff/cases/" + id + "/checkin?scale=faces", "/staff/cases/" + id + "/erase"},
		canopy.RoleAdministrator: {"/staff/cases/holds"},
	}
	label := regexp.MustCompile(`<label for="([^"]+)"`)
	control := regexp.MustCompile(`<(?:input|select|textarea)\s[^>]*\bid="([^"]+)"`)
	ids := regexp.MustCompile(`\sid="([^"]+)"`)
	check := func(role canopy.Role, p, body string) {
		t.Helper()
		if strings.Count(body, "<h1") != 1 || !strings.Contains(body, `<main id="main"`) || !regexp.MustCompile(`<title>[^<]+</title>`).MatchString(body) {
			t.Errorf("%s as %s: missing title, h1 or main", p, role)
		}
		labelled := map[string]bool{}
		for _, m := range label.FindAllStringSubmatch(body, -1) {
			labelled[m[1]] = true
		}
		for _, m := range control.FindAllStringSubmatch(body, -1) {
			if !labelled[m[1]] && !strings.Contains(m[0], `type="hidden"`) {
				t.Errorf("%s as %s: control %q has no label", p, role, m[1])
			}
		}
		seen := map[string]bool{}
		for _, m := range ids.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				t.Errorf("%s as %s: id %q twice", p, role, m[1])
			}
			seen[m[1]] = true
		}
	}
	for role, paths := range pages {
		b := e.login(role)
		for _, p := range paths {
			resp, body := b.get(p)
			mustStatus(t, p, resp, body, http.StatusOK)
			check(role, p, body)
			if !strings.Contains(body, `href="#main"`) {
				t.Errorf("%s: no skip link", p)
			}
		}
		if role == canopy.RoleCaseworker {
			resp, body := b.post("/staff/cases/"+id+"/reveal", nil)
			mustStatus(t, "reveal", resp, body, http.StatusOK)
			check(role, "revealed case", body)
			for _, lang := range canopy.Languages {
				p := "/staff/cases/" + id + "/plan/print?lang=" + lang
				resp, body := b.get(p)
				mustStatus(t, p, resp, body, http.StatusOK)
				check(role, p, body)
				if !strings.Contains(body, `<html lang="`+lang+`"`) {
					t.Errorf("%s: not in %s", p, lang)
				}
			}
		}
	}
}

// TestCaseAssignAndClose: the caseworker assigns a case, closes it for a
// reason, finds it under the closed cases, and opens it again; a closed
// case offers no new work.
func TestCaseAssignAndClose(t *testing.T) {
	e := newEnv(t)
	id := testCase(e)
	cw := e.login(canopy.RoleCaseworker)
	me := e.caseworker()

	resp, body := cw.post("/staff/cases/"+id+"/assign", url.Values{"assignee": {e.members[canopy.RoleAnalyst].Account.ID}})
	mustStatus(t, "assign to an analyst", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `href="#assignee"`) || !strings.Contains(body, esc(caseMessages["error.case.assignee"])) {
		t.Fatalf("assignment error:\n%s", body)
	}
	resp, body = cw.post("/staff/cases/"+id+"/assign", url.Values{"assignee": {""}})
	mustStatus(t, "unassign", resp, body, http.StatusSeeOther)
	if _, body := cw.get("/staff/cases?mine=1"); strings.Contains(body, "/staff/cases/"+id) {
		t.Fatal("an unassigned case is listed as mine")
	}
	resp, body = cw.post("/staff/cases/"+id+"/assign", url.Values{"assignee": {me.ID}})
	mustStatus(t, "assign", resp, body, http.StatusSeeOther)
	if _, body := cw.get("/staff/cases?mine=1"); !strings.Contains(body, "/staff/cases/"+id) {
		t.Fatal("an assigned case is not listed as mine")
	}

	resp, body = cw.post("/staff/cases/"+id+"/close", url.Values{"reason": {"bored"}})
	mustStatus(t, "close for no known reason", resp, body, http.StatusUnprocessableEntity)
	resp, body = cw.post("/staff/cases/"+id+"/close", url.Values{"reason": {canopy.CaseClosedSupported}})
	mustStatus(t, "close", resp, body, http.StatusSeeOther)
	_, body = cw.get("/staff/cases/" + id)
	for _, want := range []string{"This case was closed on", esc(closeReasonNames[canopy.CaseClosedSupported]), `action="/staff/cases/` + id + `/reopen"`} {
		if !strings.Contains(body, want) {
			t.Errorf("closed case page lacks %q", want)
		}
	}
	for _, form := range []string{"/needs", "/links", "/profile", "/close", "/assign"} {
		if strings.Contains(body, `action="/staff/cases/`+id+form+`"`) {
			t.Errorf("a closed case offers %s", form)
		}
	}
	resp, body = cw.post("/staff/cases/"+id+"/needs", url.Values{"needs": {canopy.NeedLegal}})
	mustStatus(t, "needs of a closed case", resp, body, http.StatusConflict)
	if _, body := cw.get("/staff/cases"); strings.Contains(body, "/staff/cases/"+id) {
		t.Error("the open cases list a closed one")
	}
	if _, body := cw.get("/staff/cases?state=closed"); !strings.Contains(body, "/staff/cases/"+id) {
		t.Error("the closed cases do not list it")
	}
	resp, body = cw.post("/staff/cases/"+id+"/reopen", nil)
	mustStatus(t, "reopen", resp, body, http.StatusSeeOther)
	if _, body := cw.get("/staff/cases"); !strings.Contains(body, "/staff/cases/"+id) {
		t.Error("a reopened case is not listed as open")
	}
}
