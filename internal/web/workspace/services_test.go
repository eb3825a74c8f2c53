package workspace

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/web/browsertest"
)

// dirTestProvider adds a provider with a fresh id and returns the id.
func dirTestProvider(e *env) string {
	e.t.Helper()
	e.n++
	p, err := e.srv.support.AddProvider(context.Background(), audit.System, canopy.Provider{ID: fmt.Sprintf("ngo-%d", e.n), Name: "Enfance Lyon"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

// dirTestService adds a provider with one service and returns both ids.
func dirTestService(e *env) (string, string) {
	e.t.Helper()
	p := dirTestProvider(e)
	o, err := e.srv.support.AddServiceOffer(context.Background(), audit.System, canopy.ServiceOffer{ID: p + "-talk", ProviderID: p,
		Needs: []string{canopy.ServiceCounselling}, Country: "FR", Languages: []string{"fr"}, Ages: canopy.AgeRange{Min: 6, Max: 17}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p, o.ID
}

// dirServiceForm is a valid service form.
func dirServiceForm() url.Values {
	return url.Values{"name": {"Écoute jeunes"}, "needs": {"counselling", "legal"}, "description": {"Parler en confiance."},
		"country": {"fr"}, "regions": {"Lyon\r\nRhône"}, "languages": {"fr ar"}, "min_age": {"11"}, "max_age": {"21"},
		"access": {"step_free", "remote"}, "hours": {"Lun–Ven 9h–18h"}, "free": {"yes"}, "capacity": {"waitlist"}}
}

// dirTestCSV is a directory file of one provider and one service.
var dirTestCSV = strings.Join(support.DirectoryColumns, ",") + "\n" +
	"csv-ngo,CSV NGO,,119,,yes,csv-line,,helpline,,FR,,fr,0,21,,,yes,,,,yes,,,yes\n"

// TestServicesPages: a caseworker keeps the directory through the pages:
// adds a provider and a service, makes mistakes and corrects them,
// deactivates and activates, imports a file (refused whole when a line
// is bad) and exports it. Each change is audited. Both databases.
func TestServicesPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		b := e.login(canopy.RoleCaseworker)
		cw := e.members[canopy.RoleCaseworker]

		resp, body := b.get("/staff/services")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `aria-current="page">Services</a>`) || !strings.Contains(body, "The directory is empty") {
			t.Fatalf("services page: %d\n%s", resp.StatusCode, body)
		}

		// A provider: a mistake first, then the right form.
		resp, body = b.post("/staff/services/providers", url.Values{"id": {"Bad Id!"}, "name": {""}, "website": {"javascript:alert(1)"}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad provider: %d", resp.StatusCode)
		}
		for _, want := range []string{`<a href="#id">Id: ` + esc(messageOf(support.KeyDirectoryID)), `<a href="#name">Name: `, `<a href="#website">Web address: `,
			`value="Bad Id!"`, `id="website-error"`, `aria-invalid="true"`} {
			if !strings.Contains(body, want) {
				t.Errorf("bad provider page lacks %s", want)
			}
		}
		resp, _ = b.post("/staff/services/providers", url.Values{"id": {"ngo-lyon"}, "name": {"Enfance Lyon"}, "website": {"enfance-lyon.example"}, "phone": {"04 72 00 00 00"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/services/providers/ngo-lyon?done=provider_added" {
			t.Fatalf("add provider: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body = b.post("/staff/services/providers", url.Values{"id": {"ngo-lyon"}, "name": {"Again"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, esc(messageOf(support.KeyProviderExists))) {
			t.Errorf("same id again: %d", resp.StatusCode)
		}
		_, body = b.get("/staff/services/providers/ngo-lyon?done=provider_added")
		for _, want := range []string{"<h1>Enfance Lyon</h1>", "The provider is added", "No service yet", `id="p-name"`, `id="s-name"`, `id="s-needs-medical"`} {
			if !strings.Contains(body, want) {
				t.Errorf("provider page lacks %s", want)
			}
		}
		ids := regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(body, -1)
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id[1]] {
				t.Errorf("provider page: id %q twice", id[1])
			}
			seen[id[1]] = true
		}

		// A service: the form's mistakes, each beside its field and in the
		// summary, what was typed kept; the change-provider form untouched.
		bad := dirServiceForm()
		bad.Set("id", "lyon talk")
		bad.Set("country", "XX")
		bad.Set("min_age", "twelve")
		bad["needs"] = nil
		bad.Set("languages", "french")
		resp, body = b.post("/staff/services/providers/ngo-lyon/services", bad)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bad service: %d", resp.StatusCode)
		}
		for _, want := range []string{`<a href="#s-min_age">Youngest age: ` + esc(messageOf("error.directory.age_number")), `id="s-min_age-error"`,
			`value="twelve"`, `value="lyon talk"`, `Parler en confiance.</textarea>`, `id="s-access-step_free" name="access" value="step_free" checked`} {
			if !strings.Contains(body, want) {
				t.Errorf("bad service page lacks %s", want)
			}
		}
		if strings.Contains(body, `id="p-name-error"`) {
			t.Error("the service's errors show on the provider's form")
		}
		// With a good age, the service's own checks speak.
		bad.Set("min_age", "12")
		_, body = b.post("/staff/services/providers/ngo-lyon/services", bad)
		for _, want := range []string{`<a href="#s-id">Id: `, `<a href="#s-needs-medical">Kinds of help: `, `<a href="#s-country">Country: `, `<a href="#s-languages">Languages: `} {
			if !strings.Contains(body, want) {
				t.Errorf("bad service page lacks %s", want)
			}
		}
		good := dirServiceForm()
		good.Set("id", "lyon-talk")
		resp, _ = b.post("/staff/services/providers/ngo-lyon/services", good)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/services/providers/ngo-lyon/services/lyon-talk?done=service_added" {
			t.Fatalf("add service: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		o, err := e.srv.support.ServiceOffer(ctx, "lyon-talk")
		if err != nil || o.Country != "FR" || !slices.Equal(o.Regions, []string{"Lyon", "Rhône"}) || !slices.Equal(o.Languages, []string{"fr", "ar"}) ||
			o.Ages != (canopy.AgeRange{Min: 11, Max: 21}) || !o.Free || o.Confidential || o.Capacity != "waitlist" || !o.Active {
			t.Fatalf("service stored %+v %v", o, err)
		}

		// Its page, a change, and the state buttons.
		resp, body = b.get("/staff/services/providers/ngo-lyon/services/lyon-talk")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Écoute jeunes</h1>") || !strings.Contains(body, "Lyon\nRhône</textarea>") ||
			!strings.Contains(body, `<option value="waitlist" selected>`) {
			t.Fatalf("service page: %d\n%s", resp.StatusCode, body)
		}
		if resp, _ := b.get("/staff/services/providers/other/services/lyon-talk"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a service under the wrong provider: %d", resp.StatusCode)
		}
		change := dirServiceForm()
		change.Set("max_age", "17")
		change.Set("capacity", "")
		resp, _ = b.post("/staff/services/providers/ngo-lyon/services/lyon-talk", change)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("change service: %d", resp.StatusCode)
		}
		change.Set("max_age", "5")
		resp, body = b.post("/staff/services/providers/ngo-lyon/services/lyon-talk", change)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<a href="#max_age">Oldest age: `+esc(messageOf(support.KeyDirectoryAges))) {
			t.Errorf("ages the wrong way: %d", resp.StatusCode)
		}
		for _, step := range []struct{ path, active, done string }{
			{"/staff/services/providers/ngo-lyon/services/lyon-talk/state", "no", "service_off"},
			{"/staff/services/providers/ngo-lyon/services/lyon-talk/state", "yes", "service_on"},
			{"/staff/services/providers/ngo-lyon/state", "no", "provider_off"},
			{"/staff/services/providers/ngo-lyon/state", "yes", "provider_on"},
		} {
			resp, _ := b.post(step.path, url.Values{"active": {step.active}})
			if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "?done="+step.done) {
				t.Errorf("%s active=%s: %d %s", step.path, step.active, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		resp, _ = b.post("/staff/services/providers/ngo-lyon", url.Values{"name": {"Enfance & Jeunesse Lyon"}, "website": {"https://ej-lyon.example"}})
		if p, _ := e.srv.support.Provider(ctx, "ngo-lyon"); resp.StatusCode != http.StatusSeeOther || p.Name != "Enfance & Jeunesse Lyon" || p.Phone != "" {
			t.Errorf("change provider: %d %+v", resp.StatusCode, p)
		}
		resp, body = b.post("/staff/services/providers/ngo-lyon", url.Values{"name": {""}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<a href="#p-name">Name: `) {
			t.Errorf("empty name: %d", resp.StatusCode)
		}

		// Export, then import: the same file changes nothing; a file with
		// one bad line imports none of its lines.
		resp, csv := b.get("/staff/services/export")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			resp.Header.Get("Content-Disposition") != `attachment; filename=directory-2026-11-27.csv` || !strings.HasPrefix(csv, "provider_id,provider_name,") {
			t.Fatalf("export: %d %v\n%s", resp.StatusCode, resp.Header, csv)
		}
		resp, body = b.upload("/staff/services/import", "directory.csv", csv, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Providers: 0 added, 0 changed, 1 unchanged. Services: 0 added, 0 changed, 1 unchanged.") {
			t.Fatalf("import of the export: %d\n%s", resp.StatusCode, body)
		}
		badFile := dirTestCSV + "csv-ngo,CSV NGO,,119,,yes,csv-2,,helpline,,XX,,fr,0,21,,,maybe,,,,,,,yes\n"
		resp, body = b.upload("/staff/services/import", "bad.csv", badFile, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, esc(messageOf(support.KeyImportInvalid))) ||
			!regexp.MustCompile(`<th scope="row">3</th><td><code>country</code></td>`).MatchString(body) ||
			!regexp.MustCompile(`<th scope="row">3</th><td><code>always_open</code></td><td>Use yes or no.</td>`).MatchString(body) {
			t.Fatalf("bad file: %d\n%s", resp.StatusCode, body)
		}
		if _, err := e.srv.support.Provider(ctx, "csv-ngo"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Error("a bad file was half imported")
		}
		// Pasted, the same file is kept in the box to be corrected.
		resp, body = b.post("/staff/services/import", url.Values{"csv": {badFile}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "csv-2,,helpline,,XX") {
			t.Errorf("pasted bad file: %d", resp.StatusCode)
		}
		resp, body = b.post("/staff/services/import", url.Values{"csv": {dirTestCSV}})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Providers: 1 added") || !strings.Contains(body, "CSV NGO") {
			t.Errorf("pasted file: %d", resp.StatusCode)
		}
		resp, body = b.upload("/staff/services/import", "", "", nil)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `<a href="#file">File: `) {
			t.Errorf("no file: %d", resp.StatusCode)
		}
		// A forged upload is refused like any forged form.
		resp, _ = b.upload("/staff/services/import", "directory.csv", dirTestCSV, url.Values{"csrf": {"forged"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("forged upload: %d", resp.StatusCode)
		}
		resp, _ = b.upload("/staff/services/import", "big.csv", strings.Repeat("x", maxUpload), nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("too big: %d", resp.StatusCode)
		}

		// Every change is in the audit log, by the caseworker, with ids and
		// field names only.
		es, err := e.audit.Entries(ctx, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range es {
			if en.Action != audit.ActionServiceChange {
				continue
			}
			if en.Actor != audit.Staff(cw.ID) {
				t.Errorf("entry by %s", en.Actor)
			}
			got = append(got, strings.Join(strings.Fields(en.ID+" "+en.Details["op"]+" "+en.Details["fields"]+" "+string(en.Outcome)), " "))
		}
		want := []string{"ngo-lyon create ok", "lyon-talk create ok", "lyon-talk update ages,capacity ok", "lyon-talk deactivate active ok",
			"lyon-talk activate active ok", "ngo-lyon deactivate active ok", "ngo-lyon activate active ok", "ngo-lyon update name,website,phone ok",
			"import ok", "import failed", "import failed", "import ok"}
		if !slices.Equal(got, want) {
			t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// upload sends a file as the import form does, multipart, with the
// browser's form token first unless fields has one.
func (b *browser) upload(path, filename, content string, fields url.Values) (*http.Response, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, ok := fields["csrf"]; !ok {
		mw.WriteField("csrf", b.formToken())
	}
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write([]byte(content))
	mw.WriteField("csv", "")
	mw.Close()
	req, err := http.NewRequest("POST", b.e.http.URL+path, &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// TestServicesRefused: the roles without access.ServiceManage are
// refused every page of the directory, and the refusal is audited.
func TestServicesRefused(t *testing.T) {
	e := newEnv(t)
	p, _ := dirTestService(e)
	for _, role := range []canopy.Role{canopy.RoleAnalyst, canopy.RoleSupervisor, canopy.RoleLiaison, canopy.RoleAuditor} {
		b := e.login(role)
		if resp, body := b.get("/staff/services/providers/" + p); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Enfance Lyon") {
			t.Errorf("%s: %d", role, resp.StatusCode)
		}
		if resp, _ := b.upload("/staff/services/import", "x.csv", dirTestCSV, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s import: %d", role, resp.StatusCode)
		}
		if _, body := b.get("/staff/account"); strings.Contains(body, `href="/staff/services"`) {
			t.Errorf("%s sees the Services link", role)
		}
	}
	if _, err := e.srv.support.Provider(context.Background(), "csv-ngo"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
		t.Error("a refused import imported")
	}
	es, _ := e.audit.Entries(context.Background(), 0, 10_000)
	n := 0
	for _, en := range es {
		if en.Action == audit.ActionPermissionDenied && en.Details["permission"] == "service.manage" {
			n++
		}
	}
	if n != 8 {
		t.Errorf("%d refusals audited, want 8", n)
	}
	// The administrator keeps the directory too.
	b := e.login(canopy.RoleAdministrator)
	if resp, _ := b.get("/staff/services"); resp.StatusCode != http.StatusOK {
		t.Errorf("administrator: %d", resp.StatusCode)
	}
}

// TestBrowserServices keeps the directory in Chromium with scripts off,
// on a phone-sized screen, as a caseworker: the list, a provider added
// after a mistake, a service added to it, its page. axe checks each page
// and fails on any violation, and no page is wider than the screen.
func TestBrowserServices(t *testing.T) {
	ctx := browsertest.New(t, false)
	e := newEnv(t)
	origin := e.http.URL
	tab := browsertest.Tab{T: t, Ctx: ctx, ScriptsOff: true, All: true}
	must, check := tab.Must, tab.Check
	// Each click loads a page (scripts are off): browsertest.Load waits
	// for it, and WaitVisible then only says it is the page meant. The
	// provider page has a form[action$="/state"] too, so waiting for one
	// after adding a service let axe run on the provider page as it left.
	m := e.members[canopy.RoleCaseworker]
	must(chromedp.Navigate(origin+"/staff/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), m.Email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login"] button`))), chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), stafftest.Code(m.secret, e.clock.now())),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/login/factor"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/staff/services"]`)),
		browsertest.Load(chromedp.Click(chromedp.CSS(`nav a[href="/staff/services"]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/staff/services/providers"]`)))
	check("services, empty")

	must(chromedp.SendKeys(chromedp.CSS("#id"), "Bad id"), chromedp.SendKeys(chromedp.CSS("#name"), "Enfance Lyon"),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/services/providers"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	check("services, a mistake")
	must(chromedp.SetValue(chromedp.CSS("#id"), "ngo-lyon"),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/services/providers"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/staff/services/providers/ngo-lyon/services"]`)))
	check("provider")
	must(chromedp.SendKeys(chromedp.CSS("#s-name"), "Écoute jeunes"), chromedp.Click(chromedp.CSS("#s-needs-counselling")),
		chromedp.SendKeys(chromedp.CSS("#s-country"), "FR"), chromedp.SendKeys(chromedp.CSS("#s-languages"), "fr ar"),
		chromedp.SendKeys(chromedp.CSS("#s-regions"), "Lyon"),
		browsertest.Load(chromedp.Click(chromedp.CSS(`form[action="/staff/services/providers/ngo-lyon/services"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action^="/staff/services/providers/ngo-lyon/services/"][action$="/state"]`)))
	check("service")
	o, err := e.srv.support.Find(context.Background(), support.FindQuery{Country: "FR", Region: "lyon"})
	if err != nil || o.Total != 1 || o.Found[0].Name() != "Écoute jeunes" {
		t.Fatalf("the finder does not find the service added: %+v %v", o, err)
	}
	must(chromedp.Navigate(origin + "/staff/services"))
	check("services")
}
