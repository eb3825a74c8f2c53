package workspace

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// The takedown tests' addresses (testDNS and testGeo place them): one at
// the French hosting company of tdHost, one served from France by no
// host on the list, and one served from Belgium, a peer's.
const (
	tdHosted   = "https://files.hoster-fr.example/a/1.jpg"
	tdUnplaced = "https://nohost-fr.example/b"
	tdAbroad   = "https://be-host.example/c"
	tdHostName = "Hébergeur FR"
)

// tdHostForm is the host form of tdHost, as a supervisor fills it in.
func tdHostForm() url.Values {
	return url.Values{"id": {"hoster-fr"}, "name": {tdHostName}, "kind": {canopy.HostHosting}, "jurisdictions": {"FR"},
		"networks": {"203.0.113.0/25"}, "method": {canopy.NoticeByEmail}, "email": {"abuse@hoster-fr.example"}, "language": {"fr"},
		"active": {"yes"}}
}

// tdHost puts the French hosting company on the list, once.
func tdHost(e *env) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.db.Host(ctx, "hoster-fr"); err == nil {
		return
	}
	err := e.takedown.PutHosts(ctx, audit.System, []*canopy.Host{{ID: "hoster-fr", Name: tdHostName, Kind: canopy.HostHosting,
		Jurisdictions: []string{"FR"}, Networks: []string{"203.0.113.0/25"}, Method: canopy.NoticeByEmail, Email: "abuse@hoster-fr.example",
		Language: "fr", Active: true}})
	if err != nil {
		e.t.Fatal(err)
	}
}

// tdReport files a report about the three addresses, which the analyst
// assesses for takedown. With prepare, its notice is drafted, as the node
// does beside the assessment.
func tdReport(e *env, prepare bool) string {
	e.t.Helper()
	tdHost(e)
	ctx := context.Background()
	rc, err := e.intake.Submit(ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver, Category: "csam",
		Description: secretDescription, URLs: []string{tdHosted, tdUnplaced, tdAbroad}})
	if err != nil {
		e.t.Fatal(err)
	}
	analyst := e.members[canopy.RoleAnalyst].Account
	if err := e.triage.Claim(ctx, analyst, rc.ReportID); err != nil {
		e.t.Fatal(err)
	}
	if err := e.triage.Assess(ctx, analyst, rc.ReportID, canopy.Assessment{Category: "csam", Imagery: canopy.ImageryBaseline,
		Outcome: canopy.OutcomeTakedown, Reasons: "hosted in France; baseline"}); err != nil {
		e.t.Fatal(err)
	}
	if prepare {
		if err := e.takedown.PrepareAssessed(ctx, rc.ReportID); err != nil {
			e.t.Fatal(err)
		}
	}
	e.clock.add(time.Minute)
	return rc.ReportID
}

// tdSent is a takedown report whose notice the host has; it returns the
// report and its address's takedown id.
func tdSent(e *env) (string, string) {
	e.t.Helper()
	ctx := context.Background()
	id := tdReport(e, true)
	if _, err := e.takedown.Send(ctx, e.members[canopy.RoleAnalyst].Account, id); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.takedown.Tick(ctx); err != nil {
		e.t.Fatal(err)
	}
	n, it := tdItem(e, id)
	if n.Status != canopy.NoticeSent || it.Status != canopy.TakedownNotified {
		e.t.Fatalf("after delivery: %+v %+v", n.Notice, it)
	}
	return id, it.ID
}

// tdItem returns a report's notice and its address.
func tdItem(e *env, id string) (takedown.NoticeView, canopy.Takedown) {
	e.t.Helper()
	p, err := e.takedown.Plan(context.Background(), e.members[canopy.RoleSupervisor].Account, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(p.Notices) != 1 || len(p.Notices[0].Items) != 1 {
		e.t.Fatalf("plan of %s: %+v", id, p)
	}
	return p.Notices[0], p.Notices[0].Items[0]
}

// alsoFor: the page opens to a second permission too.
func alsoFor(p access.Permission) func(*account) int {
	return func(c *account) int {
		if c != nil && access.Can(c.Role, p) {
			return http.StatusOK
		}
		return 0 // the matrix
	}
}

// TestTakedownPages follows a report through takedown in the pages: a
// supervisor adds the host (mistakes first); the analyst prepares the
// notice, sees the addresses only once the report is opened, sends it
// in one action, records what the host said (mistakes first); the host
// is escalated when it lets 72 hours pass, which the board and a liaison
// see; the analyst records the removal and the scorecard counts it.
// Both databases.
func TestTakedownPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()

		// The host list: empty, then a mistake, then the host.
		sup := e.login(canopy.RoleSupervisor)
		resp, body := sup.get("/staff/takedown/hosts")
		mustStatus(t, "hosts", resp, body, http.StatusOK)
		if !strings.Contains(body, `aria-current="page">Takedown</a>`) || !strings.Contains(body, "The list is empty") {
			t.Errorf("empty hosts page:\n%s", body)
		}
		bad := tdHostForm()
		bad.Set("id", "Hoster FR!")
		bad.Set("name", "")
		bad.Set("jurisdictions", "XX")
		bad.Set("email", "Abuse <abuse@hoster-fr.example>")
		bad.Set("remind_after", "a day")
		resp, body = sup.post("/staff/takedown/hosts/new", bad)
		mustStatus(t, "bad host", resp, body, http.StatusUnprocessableEntity)
		for _, want := range []string{
			`<a href="#id">Id: ` + esc(messageOf("error.takedown.host_id")),
			`<a href="#name">Name: ` + esc(messageOf("error.required")),
			`<a href="#jurisdictions">Jurisdictions: ` + esc(messageOf("error.takedown.country")),
			`<a href="#email">Abuse e-mail address: ` + esc(messageOf("error.takedown.email")),
			`<a href="#remind_after">Remind after: ` + esc(messageOf("error.takedown.hours")),
			`value="Hoster FR!"`, `id="remind_after-error"`, `aria-invalid="true"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("bad host page lacks %s", want)
			}
		}
		clock := tdHostForm()
		clock.Set("remind_after", "72")
		clock.Set("escalate_after", "48")
		resp, body = sup.post("/staff/takedown/hosts/new", clock)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, esc(messageOf("error.takedown.remind_before_escalate"))) {
			t.Errorf("reminder after the escalation: %d", resp.StatusCode)
		}
		resp, body = sup.post("/staff/takedown/hosts/new", tdHostForm())
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/takedown/hosts/hoster-fr?done=host_added" {
			t.Fatalf("add host: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		resp, body = sup.post("/staff/takedown/hosts/new", tdHostForm())
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, esc(messageOf("error.takedown.host_exists"))) {
			t.Errorf("same id again: %d", resp.StatusCode)
		}
		_, body = sup.get("/staff/takedown/hosts/hoster-fr?done=host_added")
		for _, want := range []string{tdHostName, esc(hostNotices["host_added"]), "203.0.113.0/25", `id="active" name="active" value="yes" checked`} {
			if !strings.Contains(body, want) {
				t.Errorf("host page lacks %s", want)
			}
		}
		// Off and on again, with its own clock.
		off := tdHostForm()
		off.Del("active")
		if resp, body := sup.post("/staff/takedown/hosts/hoster-fr", off); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("deactivate: %d\n%s", resp.StatusCode, body)
		}
		if h, err := db.Host(ctx, "hoster-fr"); err != nil || h.Active {
			t.Fatalf("deactivated host: %+v %v", h, err)
		}
		if _, body := sup.get("/staff/takedown/hosts"); !strings.Contains(body, "<strong>Inactive</strong>") {
			t.Error("the list does not say the host is inactive")
		}
		on := tdHostForm()
		on.Set("remind_after", "12")
		if resp, _ := sup.post("/staff/takedown/hosts/hoster-fr", on); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("activate: %d", resp.StatusCode)
		}
		if h, _ := db.Host(ctx, "hoster-fr"); !h.Active || h.RemindAfter != 12*time.Hour || h.UpdatedBy != "staff:"+e.members[canopy.RoleSupervisor].ID {
			t.Fatalf("activated host: %+v", h)
		}
		on.Set("remind_after", "")
		sup.post("/staff/takedown/hosts/hoster-fr", on)

		// The report, assessed for takedown; nobody prepared it yet.
		id := tdReport(e, false)
		an := e.login(canopy.RoleAnalyst)
		page := "/staff/reports/" + id
		_, body = an.get(page)
		for _, want := range []string{`id="takedown-title"`, "No notice is prepared for this report yet.", `action="` + page + `/takedown/prepare"`,
			"One address is served from this node", "One address is served abroad", esc("Ask a supervisor or an administrator to add its host")} {
			if !strings.Contains(body, want) {
				t.Errorf("report before preparing lacks %s", want)
			}
		}
		resp, body = an.post(page+"/takedown/prepare", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=takedown_prepared" {
			t.Fatalf("prepare: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		_, body = an.get(page + "?done=takedown_prepared")
		for _, want := range []string{esc(takedownDone["takedown_prepared"]), "Notice to " + tdHostName, noticeStatusNames[canopy.NoticeDraft],
			"Send 1 notice</button>", "1. Address 1"} {
			if !strings.Contains(body, want) {
				t.Errorf("prepared report lacks %s", want)
			}
		}
		for _, never := range []string{tdHosted, tdUnplaced, tdAbroad} {
			if strings.Contains(body, never) {
				t.Errorf("the unopened report shows %s", never)
			}
		}
		if _, body := sup.get(page); !strings.Contains(body, `href="/staff/takedown/hosts/new?report=`+id+`"`) {
			t.Error("a supervisor is not offered to add the missing host")
		}
		resp, body = an.post(page+"/open", nil)
		mustStatus(t, "open", resp, body, http.StatusOK)
		for _, want := range []string{`<th scope="row">1. <code class="url">` + tdHosted + `</code>`, `<li><code class="url">` + tdUnplaced + `</code> (served from FR)`,
			`<li><code class="url">` + tdAbroad + `</code> (served from BE)`} {
			if !strings.Contains(body, want) {
				t.Errorf("opened report lacks %s", want)
			}
		}

		// Sent in one action; delivered by e-mail.
		resp, _ = an.post(page+"/takedown/send", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=takedown_sent" {
			t.Fatalf("send: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body = an.post(page+"/takedown/send", nil)
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, esc(messageOf("error.takedown.nothing_to_send"))) {
			t.Errorf("send twice: %d\n%s", resp.StatusCode, body)
		}
		if _, err := e.takedown.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if msgs := e.smtp.Messages(); len(msgs) != 1 || msgs[0].To[0] != "abuse@hoster-fr.example" {
			t.Fatalf("mail: %+v", msgs)
		}
		notice, item := tdItem(e, id)
		notified := item.Notified
		form := page + "/takedowns/" + item.ID
		_, body = an.get(page)
		for _, want := range []string{noticeStatusNames[canopy.NoticeSent], notice.Reference, `action="` + form + `"`, "Notified " + when(notified),
			"by Test analyst"} {
			if !strings.Contains(body, want) {
				t.Errorf("sent report lacks %s", want)
			}
		}
		if strings.Contains(body, "/takedown/send") {
			t.Error("nothing waits, yet the send button is there")
		}

		// What the host said: mistakes, each beside its field.
		for _, c := range []struct {
			form  url.Values
			field string
			key   string
		}{
			{url.Values{"status": {canopy.TakedownRefused}}, "reason", "error.required"},
			{url.Values{"status": {canopy.TakedownRemoved}, "at": {"yesterday"}}, "at", "error.takedown.when"},
			{url.Values{"status": {canopy.TakedownRemoved}, "at": {"2030-01-01 00:00"}}, "at", "error.takedown.future"},
			{url.Values{"status": {canopy.TakedownRemoved}, "at": {notified.Add(-time.Hour).Format("2006-01-02 15:04")}}, "at", "error.takedown.before_notice"},
			{url.Values{"status": {"gone"}}, "status", "error.unknown_code"},
		} {
			resp, body := an.post(form, c.form)
			target := c.field + "-" + item.ID
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<a href="#`+target+`">`) ||
				!strings.Contains(body, `id="`+target+`-error"`) || !strings.Contains(body, esc(messageOf(c.key))) ||
				!strings.Contains(body, `<details class="record" open>`) {
				t.Errorf("%v: %d\n%s", c.form, resp.StatusCode, errorSummary(body))
			}
		}
		if resp, _ := an.post("/staff/reports/"+tdReport(e, false)+"/takedowns/"+item.ID, url.Values{"status": {canopy.TakedownRemoved}}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an address recorded through another report: %d", resp.StatusCode)
		}
		resp, _ = an.post(form, url.Values{"status": {canopy.TakedownAcknowledged}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=takedown_recorded" {
			t.Fatalf("acknowledge: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}

		// The host lets 72 hours pass: reminded twice, then escalated.
		for range 3 {
			e.clock.add(24*time.Hour + time.Minute)
			if _, err := e.takedown.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, it := tdItem(e, id); it.Escalated.IsZero() {
			t.Fatalf("not escalated: %+v", it)
		}
		an = e.login(canopy.RoleAnalyst) // the session ended meanwhile
		_, body = an.get("/staff/takedown?state=escalated")
		if !strings.Contains(body, notice.Reference) || !strings.Contains(body, `href="/staff/reports/`+id+`#takedown-title"`) ||
			!strings.Contains(body, "1 escalated") {
			t.Errorf("escalated board:\n%s", body)
		}
		li := e.login(canopy.RoleLiaison)
		resp, body = li.get("/staff/takedown")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Escalated takedowns</h1>") || !strings.Contains(body, notice.Reference) ||
			strings.Contains(body, `name="state" value="all"`) || !strings.Contains(body, `href="/staff/takedown?state=escalated" aria-current="page"`) {
			t.Errorf("liaison's board: %d\n%s", resp.StatusCode, body)
		}
		_, body = li.get(page)
		if !strings.Contains(body, "Escalated</strong>") || strings.Contains(body, `action="`+form+`"`) || strings.Contains(body, "/takedown/prepare") {
			t.Errorf("liaison's report page:\n%s", body)
		}

		// The analyst records the removal, at the time the host gave.
		removed := notified.Add(70 * time.Hour)
		resp, body = an.post(form, url.Values{"status": {canopy.TakedownRemoved}, "at": {removed.Format("2006-01-02 15:04:05")}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("remove: %d\n%s", resp.StatusCode, errorSummary(body))
		}
		_, body = an.get(page)
		for _, want := range []string{"Removed " + when(removed) + ", confirmed by Test analyst", eventNames[canopy.EventNoticeSent],
			eventNames[canopy.EventTakedownEscalate], "an address at host hoster-fr: removed", eventNames[canopy.EventContentRemoved]} {
			if !strings.Contains(body, want) {
				t.Errorf("report after removal lacks %s", want)
			}
		}
		for state, want := range map[string]int{"open": 0, "escalated": 0, "drafts": 0, "failed": 0, "all": 1} {
			_, body := an.get("/staff/takedown?state=" + state + "&host=hoster-fr")
			if got := strings.Count(body, notice.Reference); got != want {
				t.Errorf("board %s shows %d notices, want %d", state, got, want)
			}
		}

		// The scorecard: removed in 70 hours, so within 72 but not 24.
		resp, body = an.get("/staff/takedown/scores")
		mustStatus(t, "scores", resp, body, http.StatusOK)
		row := regexp.MustCompile(`(?s)<th scope="row">` + tdHostName + `</th>(.*?)</tr>`).FindStringSubmatch(body)
		if row == nil {
			t.Fatalf("no score for the host:\n%s", body)
		}
		cells := regexp.MustCompile(`<td>([^<]*)</td>`).FindAllStringSubmatch(row[1], -1)
		var got []string
		for _, c := range cells {
			got = append(got, c[1])
		}
		want := []string{"1", "1", "0", "1", "2 d 22 h", "2 d 22 h", "0% (0 of 1)", "100% (1 of 1)"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("score cells %q, want %q", got, want)
		}
		resp, body = an.get("/staff/takedown/scores?from=2026-12-01&to=2026-11-01")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, esc(messageOf("error.takedown.period"))) {
			t.Errorf("a period backwards: %d", resp.StatusCode)
		}
		resp, body = an.get("/staff/takedown/scores?from=last+week&to=2026-11-01")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<a href="#from">First day: `+esc(messageOf("error.takedown.date"))) {
			t.Errorf("a date in words: %d", resp.StatusCode)
		}
		resp, body = an.get("/staff/takedown/scores?from=2020-01-01&to=2020-12-31")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "No address was notified to any host from 1 Jan 2020 to 31 Dec 2020.") {
			t.Errorf("an empty period: %d", resp.StatusCode)
		}
	})
}

// TestTakedownAccess: who sees which takedown link, and what the pages
// refuse.
func TestTakedownAccess(t *testing.T) {
	e := newEnv(t)
	tdHost(e)
	browsers := map[canopy.Role]*browser{}
	for role, want := range map[canopy.Role]string{
		canopy.RoleAnalyst:       `<a href="/staff/takedown">Takedown</a>`,
		canopy.RoleSupervisor:    `<a href="/staff/takedown">Takedown</a>`,
		canopy.RoleAdministrator: `<a href="/staff/takedown/hosts">Takedown hosts</a>`,
		canopy.RoleLiaison:       `<a href="/staff/takedown?state=escalated">Escalated takedowns</a>`,
		canopy.RoleCaseworker:    "",
		canopy.RoleAuditor:       "",
	} {
		b := e.login(role)
		browsers[role] = b
		_, body := b.get("/staff/account")
		if want != "" && !strings.Contains(body, want) || want == "" && strings.Contains(body, "/staff/takedown") {
			t.Errorf("%s: nav lacks %q or has a takedown link", role, want)
		}
		// Only those who keep the list see its form.
		_, body = b.get("/staff/takedown/hosts/hoster-fr")
		if form := strings.Contains(body, `action="/staff/takedown/hosts/hoster-fr"`); form != access.Can(role, access.HostManage) {
			t.Errorf("%s: the host's form shown: %v", role, form)
		}
	}
	b := browsers[canopy.RoleAnalyst]
	if _, body := b.get("/staff/takedown/hosts/hoster-fr"); !strings.Contains(body, "<code class=\"break\">abuse@hoster-fr.example</code>") {
		t.Error("an analyst does not see the host's address")
	}
	if resp, _ := b.get("/staff/takedown/hosts/nobody"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("no such host: %d", resp.StatusCode)
	}
	admin := browsers[canopy.RoleAdministrator]
	f := tdHostForm()
	f.Set("id", "new")
	if resp, body := admin.post("/staff/takedown/hosts/new", f); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, esc(messageOf("error.takedown.host_new"))) {
		t.Errorf("a host called new: %d", resp.StatusCode)
	}
	// A host added from a report goes back to it.
	f.Set("id", "from-report")
	f.Set("report", "06ABC")
	if resp, _ := admin.post("/staff/takedown/hosts/new", f); resp.Header.Get("Location") != "/staff/reports/06ABC?done=host_added#takedown-title" {
		t.Errorf("back to the report: %s", resp.Header.Get("Location"))
	}
}

// TestTakedownWords: the timeline's takedown and withdrawal events say
// what happened, a host is named as one, and the scorecard's figures read
// as people say them.
func TestTakedownWords(t *testing.T) {
	for _, c := range []struct {
		kind string
		data map[string]string
		want string
	}{
		{canopy.EventNoticeSent, map[string]string{"host": "ovh", "urls": "2"}, "host ovh has the notice, 2 addresses"},
		{canopy.EventTakedownEscalate, map[string]string{"host": "ovh", "urls": "1"}, "1 address at host ovh still up after the host's time"},
		{canopy.EventTakedownStatus, map[string]string{"host": "ovh", "status": canopy.TakedownAcknowledged}, "an address at host ovh: acknowledged by the host"},
		{canopy.EventSharingWithdrawn, map[string]string{"direction": "out", "peer": "be", "reason": canopy.WithdrawalConsent}, "peer be was told: the child's consent was withdrawn"},
		{canopy.EventSharingWithdrawn, map[string]string{"direction": "in", "peer": "fr", "reason": canopy.WithdrawalDeleted},
			"the personal details peer fr shared were removed: the child's support case was deleted"},
		{canopy.EventSharingWithdrawn, map[string]string{"direction": "out", "reason": canopy.WithdrawalNoConsent},
			"not to be shared abroad in full: the child's case has no consent to sharing abroad"},
	} {
		if got := timelineEntryOf(canopy.Event{Kind: c.kind, Data: c.data}).Detail; got != c.want {
			t.Errorf("%s %v: %q, want %q", c.kind, c.data, got, c.want)
		}
		if eventNames[c.kind] == "" {
			t.Errorf("event %s has no name", c.kind)
		}
	}
	p := &page{}
	if got := p.Who("host:social"); got != "Host social" {
		t.Errorf("Who(host:social) = %q", got)
	}
	for _, a := range []audit.Action{audit.ActionNoticePrepare, audit.ActionNoticeSend, audit.ActionNoticeDeliver, audit.ActionTakedownUpdate,
		audit.ActionTakedownEscalate, audit.ActionHostChange} {
		if actionNames[string(a)] == "" {
			t.Errorf("action %s has no name", a)
		}
	}
	row := scoreRowOf(takedown.Score{Name: "H", Notified: 3, Removed: 2, Median: 90 * time.Minute, P90: 50 * time.Hour,
		Within24: 2.0 / 3, Due24: 3, Within72: -1})
	if row.Median != "1 h 30 min" || row.P90 != "2 d 2 h" || row.Within24 != "67% (2 of 3)" || !strings.HasPrefix(row.Within72, "Not known yet") {
		t.Errorf("score in words: %+v", row)
	}
	if row := scoreRowOf(takedown.Score{Notified: 1, Within24: -1, Within72: -1}); row.Median != "Not known yet" || row.P90 != "Not known yet" {
		t.Errorf("nothing removed: %+v", row)
	}
	for in, want := range map[string]string{"": "0001-01-01 00:00", "2026-11-27 14:30": "2026-11-27 14:30", "2026-11-27T14:30": "2026-11-27 14:30"} {
		if got, ok := parseWhen(in); !ok || got.Format("2006-01-02 15:04") != want {
			t.Errorf("parseWhen(%q) = %v %v", in, got, ok)
		}
	}
	for _, in := range []string{"2026-11-27", "27/11/2026 14:30", "now"} {
		if _, ok := parseWhen(in); ok {
			t.Errorf("parseWhen(%q) read it", in)
		}
	}
}

// TestBrowserTakedown drives the takedown pages in Chromium with scripts
// off, on a phone-sized screen, as a supervisor: the board, the host form
// with a mistake, the report's panel closed and opened, the hosts and
// the scorecard. axe checks each page and fails on any violation, and no
// page is wider than the screen.
func TestBrowserTakedown(t *testing.T) {
	ctx := browsertest.New(t, false)
	e := newEnv(t)
	sent, _ := tdSent(e)
	tdReport(e, true) // a draft on the board too
	origin := e.http.URL
	tab := browsertest.Tab{T: t, Ctx: ctx, ScriptsOff: true, All: true}
	must, check, text := tab.Must, tab.Check, tab.Text
	// Each click below loads a page (scripts are off): browsertest.Load
	// waits for it, and WaitVisible then only says it is the page meant.
	// An opened report shows a .notice of its own (the opening is
	// audited), so a .notice alone cannot tell the page a record loads
	// from the page it was sent from.
	m := e.members[canopy.RoleSupervisor]
	must(chromedp.Navigate(origin+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), m.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`))), chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(m.secret, e.clock.now())),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login/factor"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/staff/takedown"]`)),
		browsertest.Load(chromedp.Click(chromedp.CSS(`nav a[href="/staff/takedown"]`))), chromedp.WaitVisible(chromedp.CSS("#board-caption")))
	check("board")
	must(chromedp.Click(chromedp.CSS("#state-drafts")), browsertest.Load(chromedp.Click(chromedp.CSS(`form.filters button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS("#board-caption")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "state=drafts") {
		t.Fatalf("the filter loaded %s", loc)
	}
	if s := text("#board-caption"); !strings.HasPrefix(s, "1 notice,") {
		t.Fatalf("drafts: %q", s)
	}
	check("board of drafts")

	// A host, with a mistake first.
	must(chromedp.Navigate(origin+"/staff/takedown/hosts/new"), chromedp.WaitVisible(chromedp.CSS("#id")))
	check("new host")
	must(chromedp.SendKeys(chromedp.CSS("#id"), "social"), chromedp.SendKeys(chromedp.CSS("#name"), "Social"),
		chromedp.Click(chromedp.CSS("#kind-platform")), chromedp.SendKeys(chromedp.CSS("#jurisdictions"), "FR"),
		chromedp.SendKeys(chromedp.CSS("#domains"), "social.example"), chromedp.Click(chromedp.CSS("#method-webhook")),
		chromedp.SendKeys(chromedp.CSS("#webhook"), "http://social.example/notices"),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/takedown/hosts/new"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	if s := text("#webhook-error"); !strings.Contains(s, "https://") {
		t.Fatalf("webhook error: %q", s)
	}
	check("new host with a mistake")
	must(chromedp.SetValue(chromedp.CSS("#webhook"), "https://social.example/notices"),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/takedown/hosts/new"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/staff/takedown/hosts/social"]`)))
	check("host")
	if h, err := e.db.Host(context.Background(), "social"); err != nil || h.Method != canopy.NoticeByWebhook || h.Kind != canopy.HostPlatform {
		t.Fatalf("host added in the browser: %+v %v", h, err)
	}
	must(chromedp.Navigate(origin+"/staff/takedown/hosts"), chromedp.WaitVisible(chromedp.CSS("#hosts-caption")))
	check("hosts")

	// The report's panel, closed and opened; what the host said.
	must(chromedp.Navigate(origin+"/staff/reports/"+sent), chromedp.WaitVisible(chromedp.CSS("#takedown-title")))
	check("report with the takedown panel")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`form[action$="/open"] button`))), chromedp.WaitVisible(chromedp.CSS("#description")))
	if s := text("#takedown-title ~ article table"); !strings.Contains(s, tdHosted) {
		t.Fatalf("opened panel: %q", s)
	}
	must(chromedp.Click(chromedp.CSS("details.record summary")),
		browsertest.Load(chromedp.Click(chromedp.CSS(`details.record button[value="refused"]`))), chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	check("report with a record mistake")
	must(browsertest.Load(chromedp.Click(chromedp.CSS(`details.record button[value="removed"]`))), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if s := text(".notice"); !strings.Contains(s, "What became of the address is recorded") {
		t.Fatalf("after recording: %q", s)
	}
	check("report after recording")

	must(chromedp.Navigate(origin+"/staff/takedown/scores"), chromedp.WaitVisible(chromedp.CSS("#scores-caption")))
	check("scorecard")

	// The indicators dashboard, with the notices just sent counted.
	if _, err := (&indicators.Roller{DB: e.srv.support.DB, GapWait: -1}).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	must(chromedp.Navigate(origin+"/staff/dashboard"), chromedp.WaitVisible(chromedp.CSS("#first_look-caption")))
	check("indicators")
}
