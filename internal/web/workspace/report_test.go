package workspace

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestOpeningIsAudited: a report page shows no content until it is
// opened; opening writes report.view to the audit log, and the auditor's
// page for the report lists who opened it. Run on both databases.
func TestOpeningIsAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		id := e.submit("sextortion", "FR", "urgent")
		other := e.submit("grooming", "BE")
		analyst := e.members[canopy.RoleAnalyst]
		b := e.login(canopy.RoleAnalyst)

		resp, body := b.get("/staff/reports/" + id)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, categoryName("sextortion")) || !strings.Contains(body, "Urgent") {
			t.Fatalf("report page: %d\n%s", resp.StatusCode, body)
		}
		for _, s := range []string{secretDescription, "abuse.example", "predator_99", "ChatApp"} {
			if strings.Contains(body, s) {
				t.Fatalf("the unopened page shows %q", s)
			}
		}
		before := openings(t, e, id)

		resp, body = b.post("/staff/reports/"+id+"/open", nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("open: %d\n%s", resp.StatusCode, body)
		}
		for _, s := range []string{secretDescription, "https://abuse.example/gallery/42", "predator_99", "ChatApp"} {
			if !strings.Contains(body, s) {
				t.Fatalf("the opened page lacks %q", s)
			}
		}
		// Addresses are text, never links or anything a browser loads.
		if regexp.MustCompile(`(href|src|action)="[^"]*abuse\.example`).MatchString(body) {
			t.Fatal("a reported address is a link")
		}
		after := openings(t, e, id)
		if len(after) != len(before)+1 || after[len(after)-1].Actor != audit.Staff(analyst.ID) {
			t.Fatalf("openings %v then %v", before, after)
		}
		// The page is not kept opened: loading it again shows nothing.
		if _, body := b.get("/staff/reports/" + id); strings.Contains(body, secretDescription) {
			t.Fatal("the content outlived the opening")
		}

		auditor := e.login(canopy.RoleAuditor)
		resp, body = auditor.get("/staff/audit/reports/" + id)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, analyst.Name) || !strings.Contains(body, analyst.Email) ||
			strings.Contains(body, "Nobody has opened") {
			t.Fatalf("who opened: %d\n%s", resp.StatusCode, body)
		}
		for _, s := range []string{secretDescription, categoryName("sextortion")} {
			if strings.Contains(body, s) {
				t.Fatalf("the auditor's page shows %q", s)
			}
		}
		if _, body := auditor.get("/staff/audit/reports/" + other); !strings.Contains(body, "Nobody has opened") {
			t.Fatalf("an unopened report has openings:\n%s", body)
		}
		resp, body = auditor.get("/staff/audit?action=report.view&record=" + id)
		if resp.StatusCode != http.StatusOK || strings.Count(body, "<td>Report opened</td>") != 1 || !strings.Contains(body, analyst.Name) {
			t.Fatalf("filtered log: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := auditor.get("/staff/audit/opened?report=" + strings.ToUpper(id)); resp.Header.Get("Location") != "/staff/audit/reports/"+id {
			t.Fatalf("lookup went to %s", resp.Header.Get("Location"))
		}
	})
}

func openings(t *testing.T, e *env, id string) []audit.Entry {
	t.Helper()
	es, err := e.srv.openings(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestReportActions(t *testing.T) {
	e := newEnv(t)
	id := e.submit("other", "FR")
	analyst := e.login(canopy.RoleAnalyst)
	supervisor := e.login(canopy.RoleSupervisor)
	page := "/staff/reports/" + id

	// Assessing needs the claim first: a conflict, explained.
	resp, body := analyst.post(page+"/assess", validAssessment())
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Claim the report before you assess it") ||
		!strings.Contains(body, `href="`+page+`"`) {
		t.Fatalf("assess before claiming: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = analyst.post(page+"/claim", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=claimed" {
		t.Fatalf("claim: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := analyst.get(page + "?done=claimed"); !strings.Contains(body, "You have claimed this report") || !strings.Contains(body, "Test analyst") {
		t.Fatalf("after claiming:\n%s", body)
	}

	// A wrong assessment comes back with every problem tied to its field.
	bad := url.Values{"category": {"csam"}, "industry_class": {"A1"}, "outcome": {"delete"}, "reasons": {"kept as typed"}, "flags": {"ai_generated"}}
	resp, body = analyst.post(page+"/assess", bad)
	summary := errorSummary(body)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(summary, `href="#imagery-none"`) ||
		!strings.Contains(summary, `href="#outcome-refer"`) || !strings.Contains(body, "kept as typed") ||
		!strings.Contains(body, `id="flag-ai_generated" name="flags" value="ai_generated" checked`) ||
		!strings.Contains(body, `<fieldset aria-describedby="outcome-error">`) {
		t.Fatalf("bad assessment: %d\n%s", resp.StatusCode, body)
	}
	good := url.Values{"category": {"csam"}, "imagery": {"baseline"}, "industry_class": {"A1"}, "age_band": {"7-10"},
		"outcome": {"takedown"}, "reasons": {"hosted image matches"}, "flags": {"ai_generated"}}
	if resp, body := analyst.post(page+"/assess", good); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("assessment: %d\n%s", resp.StatusCode, body)
	}
	_, body = analyst.get(page)
	for _, s := range []string{"Latest assessment", "Notify the host for takedown", "A1: prepubescent", "7 to 10 years", categoryName("csam")} {
		if !strings.Contains(body, s) {
			t.Fatalf("the assessment lacks %q:\n%s", s, body)
		}
	}
	if strings.Contains(body, "hosted image matches") {
		t.Fatal("the reasons are on the unopened page")
	}

	// A supervisor reopens it, and must say why.
	resp, body = supervisor.post(page+"/review", url.Values{"decision": {"reopen"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), "Reason for reopening: Please fill this in.") {
		t.Fatalf("reopen without a reason: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := supervisor.post(page+"/review", url.Values{"decision": {"reopen"}, "reason": {"check the age band again"}}); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != page+"?done=reopened" {
		t.Fatalf("reopen: %d", resp.StatusCode)
	}
	if resp, body := supervisor.post(page+"/review", url.Values{"decision": {"confirm"}}); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, "Only a decided report can be reviewed") {
		t.Fatalf("review of an open report: %d\n%s", resp.StatusCode, body)
	}

	// Messages.
	if resp, body := analyst.post(page+"/message", url.Values{"body": {"  "}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(errorSummary(body), `href="#body"`) {
		t.Fatalf("empty message: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := analyst.post(page+"/message", url.Values{"body": {"Are you safe now?"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("message: %d", resp.StatusCode)
	}
	_, body = analyst.post(page+"/open", nil)
	for _, s := range []string{"Are you safe now?", "check the age band again", "hosted image matches", "Reopened by a supervisor"} {
		if !strings.Contains(body, s) {
			t.Fatalf("the opened page lacks %q:\n%s", s, body)
		}
	}

	// Merging.
	dup := e.submit("other", "FR")
	dupPage := "/staff/reports/" + dup
	for into, want := range map[string]string{"": "Please fill this in.", "nosuchreport": "There is no report with this id", dup: "cannot be merged into itself"} {
		resp, body := analyst.post(dupPage+"/merge", url.Values{"into": {into}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), want) {
			t.Fatalf("merge into %q: %d\n%s", into, resp.StatusCode, errorSummary(body))
		}
	}
	if resp, _ := analyst.post(dupPage+"/merge", url.Values{"into": {" " + strings.ToUpper(id) + " "}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge: %d", resp.StatusCode)
	}
	_, body = analyst.get(dupPage)
	if !strings.Contains(body, "Merged") || !strings.Contains(body, `href="/staff/reports/`+id+`"`) {
		t.Fatalf("merged report:\n%s", body)
	}
	if resp, body := analyst.post(dupPage+"/claim", nil); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "no longer open") {
		t.Fatalf("claiming a merged report: %d\n%s", resp.StatusCode, body)
	}
}

// TestJurisdictions: a member limited to some countries cannot tell that
// a report about another exists.
func TestJurisdictions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	de := e.submit("trafficking", "DE")
	fr := e.submit("grooming", "FR")
	a, tok, err := e.staff.Invite(ctx, audit.Staff(e.members[canopy.RoleAdministrator].ID),
		staff.AccountInput{Email: "fr@example.org", Name: "French analyst", Role: canopy.RoleAnalyst, Jurisdictions: []string{"FR"}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.staff.AcceptInvite(ctx, tok, password)
	if err != nil {
		t.Fatal(err)
	}
	e.members["fr"] = e.enrolTOTP(sess)
	if e.members["fr"].ID != a.ID {
		t.Fatal("wrong account")
	}
	e.clock.add(time.Minute)
	e.route(de) // abroad, with no rule: unrouted, and still Germany's
	b := e.login("fr")
	_, body := b.get("/staff/")
	if !strings.Contains(body, fr) || strings.Contains(body, de) || !strings.Contains(body, "0 reports are routed abroad") {
		t.Fatalf("queue:\n%s", body)
	}
	if _, body := b.get("/staff/unrouted"); strings.Contains(body, de) {
		t.Fatalf("unrouted:\n%s", body)
	}
	if _, body := e.login(canopy.RoleAnalyst).get("/staff/unrouted"); !strings.Contains(body, de) {
		t.Fatalf("an analyst for every jurisdiction does not see the unrouted report:\n%s", body)
	}
	for _, p := range []string{"/staff/reports/" + de, "/staff/reports/" + de + "/open", "/staff/reports/" + de + "/claim"} {
		var resp *http.Response
		if strings.HasSuffix(p, de) {
			resp, body = b.get(p)
		} else {
			resp, body = b.post(p, nil)
		}
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, categoryName("trafficking")) || strings.Contains(body, de) {
			t.Fatalf("%s: %d\n%s", p, resp.StatusCode, body)
		}
	}
}

func TestQueuePage(t *testing.T) {
	e := newEnv(t)
	old := e.submit("grooming", "DE")
	e.clock.add(25 * time.Hour)
	urgent := e.submit("sextortion", "", "urgent", "financial")
	e.clock.add(3*time.Hour + 11*time.Minute) // submit added a minute
	b := e.login(canopy.RoleAnalyst)
	resp, body := b.get("/staff/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("queue: %d", resp.StatusCode)
	}
	iu, io := strings.Index(body, urgent), strings.Index(body, old)
	if iu < 0 || io < 0 || iu > io {
		t.Fatalf("urgent report not first:\n%s", body)
	}
	row := body[iu:io]
	for _, s := range []string{"⚠</span> Urgent", "3 h 12 min", "Overdue by 2 h 12 min", "Unknown", en.T("flag.financial.name"), "Nobody"} {
		if !strings.Contains(row, s) {
			t.Fatalf("urgent row lacks %q:\n%s", s, row)
		}
	}
	if !strings.Contains(body[io:], "Overdue by 4 h 13 min") || !strings.Contains(body[io:], "1 d 4 h") {
		t.Fatalf("old row:\n%s", body[io:])
	}
	if !regexp.MustCompile(`Open reports</dt><dd>2</dd>`).MatchString(body) || !breached(body, "2") {
		t.Fatalf("totals:\n%s", body)
	}

	// Claimed reports name who has them; a long queue pages and still
	// counts every breach.
	if resp, _ := b.post("/staff/reports/"+old+"/claim", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("claim")
	}
	for range 55 {
		e.submit("other", "FR")
	}
	_, body = b.get("/staff/")
	if !strings.Contains(body, "<td>Test analyst</td>") || !strings.Contains(body, `href="/staff/?page=2"`) || !strings.Contains(body, "Page 1 of 2") ||
		!strings.Contains(body, "Open reports</dt><dd>57</dd>") || !breached(body, "2") {
		t.Fatalf("long queue:\n%s", body)
	}
	e.clock.add(24 * time.Hour)
	_, body = b.get("/staff/?page=2")
	if !strings.Contains(body, `href="/staff/?page=1"`) || !breached(body, "57") {
		t.Fatalf("page 2:\n%s", body)
	}
}

// breached reports whether the queue's total of breaches is n, marked by
// the icon as well as the colour.
func breached(body, n string) bool {
	return regexp.MustCompile(`Past their first-look deadline</dt><dd><img [^>]*alt=""[^>]*> ` + n + `</dd>`).MatchString(body)
}

func TestDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{
		20 * time.Second:                        "under 1 min",
		45 * time.Minute:                        "45 min",
		3*time.Hour + 12*time.Minute:            "3 h 12 min",
		2 * time.Hour:                           "2 h",
		52 * time.Hour:                          "2 d 4 h",
		48 * time.Hour:                          "2 d",
		-(90 * time.Minute):                     "1 h 30 min",
		23*time.Hour + 59*time.Minute:           "23 h 59 min",
		24*time.Hour + 59*time.Minute:           "1 d",
		time.Hour + 59*time.Second:              "1 h",
		time.Hour + time.Minute + 5*time.Second: "1 h 1 min",
	} {
		if got := dur(d); got != want {
			t.Errorf("dur(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestMatchShownOnTimeline checks that a known-content match shows the
// analyst the bank, category and distance.
func TestMatchShownOnTimeline(t *testing.T) {
	e := timelineEntryOf(canopy.Event{Kind: canopy.EventMatched, Data: map[string]string{
		"bank": "hotline-fr", "category": "csam", "algorithm": "pdq", "distance": "4"}})
	for _, want := range []string{"bank hotline-fr", "algorithm pdq", "distance 4", "category: "} {
		if !strings.Contains(e.Detail, want) {
			t.Errorf("detail %q lacks %q", e.Detail, want)
		}
	}
}

// TestEveryCategoryHasAStaffTerm keeps the staff terms in step with the
// taxonomy.
func TestEveryCategoryHasAStaffTerm(t *testing.T) {
	for _, c := range canopy.Categories {
		if categoryTerms[c.Code] == "" {
			t.Errorf("category %s has no staff term", c.Code)
		}
	}
}
