package workspace

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/staff/stafftest"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// The RFC 6238 appendix B vectors (SHA-1), cut to six digits, hold the
// test's own TOTP to the standard rather than to internal/staff.
func TestTOTPVectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		if got := stafftest.Code(secret, time.Unix(unix, 0)); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
}

func hidden(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no hidden %q on the page:\n%s", name, body)
	}
	return m[1]
}

// errorSummary is the text of a page's error summary.
func errorSummary(body string) string {
	i := strings.Index(body, `<div class="error-summary"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</div>")
	return body[i : i+j]
}

func TestSetupAndEnrolment(t *testing.T) {
	e := newBareEnv(t, storetest.Open(t, store.SQLite))
	ctx := context.Background()
	b := e.browser()

	// Nothing works before set-up, except the set-up page and assets.
	for _, p := range []string{"/staff/", "/staff/login", "/staff/accounts", "/staff/reports/x"} {
		resp, body := b.get(p)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "no administrator yet") {
			t.Fatalf("%s before set-up: %d\n%s", p, resp.StatusCode, body)
		}
	}
	if resp, _ := b.get(e.srv.assets.URL("staff.css")); resp.StatusCode != http.StatusOK {
		t.Fatalf("stylesheet before set-up: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/staff/setup?token=wrong"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("set-up with a wrong token: %d", resp.StatusCode)
	}

	token, err := e.staff.NewSetupToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := b.get("/staff/setup?token=" + url.QueryEscape(token))
	if resp.StatusCode != http.StatusOK || hidden(t, body, "token") != token {
		t.Fatalf("set-up page: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"token": {token}, "email": {"Chief@Example.org"}, "name": {"Chief"}, "password": {password}, "password2": {password + "!"}}
	resp, body = b.post("/staff/setup", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), "not the same") ||
		!strings.Contains(body, `value="Chief@Example.org"`) {
		t.Fatalf("mismatched passwords: %d\n%s", resp.StatusCode, body)
	}
	form.Set("password", "short")
	form.Set("password2", "short")
	resp, body = b.post("/staff/setup", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), `href="#password"`) ||
		!strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("short password: %d\n%s", resp.StatusCode, body)
	}
	form.Set("password", password)
	form.Set("password2", password)
	resp, body = b.post("/staff/setup", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/enrol" {
		t.Fatalf("set-up: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	checkSessionCookie(t, resp, false)

	// A session at the password stage is good for enrolment, nothing else.
	if resp, _ := b.get("/staff/accounts"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/login" {
		t.Fatalf("accounts before enrolment: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = b.get("/staff/enrol")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("enrol page: %d\n%s", resp.StatusCode, body)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(hidden(t, body, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, staff.TOTPKey(secret)) || !strings.Contains(body, `href="otpauth://totp/`) || !strings.Contains(body, "passkey-register") {
		t.Fatalf("enrol page lacks the key, the link or the passkey button:\n%s", body)
	}
	ticket := hidden(t, body, "ticket")
	wrong := "000000"
	if stafftest.Code(secret, e.clock.now()) == wrong {
		wrong = "111111"
	}
	resp, body = b.post("/staff/enrol", url.Values{"ticket": {ticket}, "secret": {hidden(t, body, "secret")}, "code": {wrong}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), `href="#code"`) ||
		!strings.Contains(body, staff.TOTPKey(secret)) {
		t.Fatalf("wrong code at enrolment: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.post("/staff/enrol", url.Values{"ticket": {hidden(t, body, "ticket")}, "secret": {hidden(t, body, "secret")},
		"code": {stafftest.Code(secret, e.clock.now())}})
	codes := regexp.MustCompile(`<li><code>([0-9A-Z-]+)</code></li>`).FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(codes) != 10 || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(body, `href="/staff/accounts"`) {
		t.Fatalf("recovery codes: %d, %d codes\n%s", resp.StatusCode, len(codes), body)
	}
	if resp, body := b.get("/staff/accounts"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "chief@example.org") {
		t.Fatalf("accounts after enrolment: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/staff/setup?token=" + url.QueryEscape(token)); resp.StatusCode != http.StatusConflict {
		t.Fatalf("set-up page after set-up: %d", resp.StatusCode)
	}

	// A recovery code signs in once.
	e.clock.add(time.Minute)
	b2 := e.browser()
	b2.get("/staff/login")
	b2.post("/staff/login", url.Values{"email": {"chief@example.org"}, "password": {password}})
	b2.token = ""
	b2.get("/staff/login/factor")
	resp, body = b2.post("/staff/login/factor", url.Values{"code": {strings.ToLower(codes[4][1])}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/accounts" {
		t.Fatalf("recovery code: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

func checkSessionCookie(t *testing.T, resp *http.Response, secure bool) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name != sessionCookie {
			continue
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 0 || !c.Expires.IsZero() || c.Secure != secure {
			t.Fatalf("session cookie %+v", c)
		}
		return
	}
	t.Fatalf("no session cookie in %v", resp.Header["Set-Cookie"])
}

func TestSecureCookies(t *testing.T) {
	e := newEnv(t)
	s, err := newServer(Config{Staff: e.staff, Triage: e.triage, Audit: e.audit, Network: e.network, Support: e.srv.support, Takedown: e.takedown, Evidence: e.srv.evidence, Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.startSession(rec, "secret")
	checkSessionCookie(t, rec.Result(), true)
	rec = httptest.NewRecorder()
	s.formToken(rec, httptest.NewRequest("GET", "/staff/login", nil))
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].Name != formCookie || !c[0].Secure || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("form cookie %+v", c)
	}
}

func TestInviteAndPasskeys(t *testing.T) {
	e := newEnv(t)
	admin := e.login(canopy.RoleAdministrator)
	resp, body := admin.post("/staff/accounts/invite", url.Values{"email": {"dana@example.org"}, "name": {"Dana"}, "role": {"analyst"}, "jurisdictions": {"fr, be"}})
	m := regexp.MustCompile(`/staff/invite\?token=([A-Za-z0-9_-]+)`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(body, "BE, FR") {
		t.Fatalf("invitation: %d\n%s", resp.StatusCode, body)
	}
	resp, body = admin.post("/staff/accounts/invite", url.Values{"email": {"dana@example.org"}, "name": {"Dana"}, "role": {"analyst"}, "jurisdictions": {"XX"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), `href="#jurisdictions"`) {
		t.Fatalf("bad jurisdiction: %d\n%s", resp.StatusCode, body)
	}
	resp, body = admin.post("/staff/accounts/invite", url.Values{"email": {"dana@example.org"}, "name": {"Dana"}, "role": {"analyst"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(errorSummary(body), "already an account") {
		t.Fatalf("taken email: %d\n%s", resp.StatusCode, body)
	}

	b := e.browser()
	if resp, body := b.get("/staff/invite?token=" + m[1]); resp.StatusCode != http.StatusOK {
		t.Fatalf("invitation page: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.post("/staff/invite", url.Values{"token": {m[1]}, "password": {password}, "password2": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/enrol" {
		t.Fatalf("accepting: %d\n%s", resp.StatusCode, body)
	}
	b.token = ""
	b.get("/staff/enrol")

	// Enrol with a passkey instead of TOTP, as staff.js does.
	k := newSoftKey()
	begun := func(path string) passkeyBegun {
		t.Helper()
		resp, body := b.postJSON(path, struct{}{})
		var pb passkeyBegun
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &pb) != nil || pb.Ticket == "" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return pb
	}
	pb := begun("/staff/passkey/register/begin")
	resp, body = b.postJSON("/staff/passkey/register/finish", passkeyFinish{Ticket: pb.Ticket, Credential: k.create(challengeOf(t, pb.Options)), Name: "Laptop"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"next":"/staff/"`) {
		t.Fatalf("passkey enrolment: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/staff/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("queue after passkey enrolment: %d", resp.StatusCode)
	}
	b.post("/staff/logout", nil)
	if resp, _ := b.get("/staff/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("queue after sign-out: %d", resp.StatusCode)
	}

	// Sign in again with the password and the passkey.
	b = e.browser()
	b.get("/staff/login")
	b.post("/staff/login", url.Values{"email": {"dana@example.org"}, "password": {password}})
	b.token = ""
	resp, body = b.get("/staff/login/factor")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "passkey-login") || strings.Contains(body, `name="code"`) {
		t.Fatalf("factor page for a passkey-only account: %d\n%s", resp.StatusCode, body)
	}
	pb = begun("/staff/passkey/login/begin")
	bad := newSoftKey() // a key the account does not have
	resp, body = b.postJSON("/staff/passkey/login/finish", passkeyFinish{Ticket: pb.Ticket, Credential: bad.get(challengeOf(t, pb.Options))})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "email, password or code was not right") {
		t.Fatalf("unknown passkey: %d %s", resp.StatusCode, body)
	}
	pb = begun("/staff/passkey/login/begin")
	resp, body = b.postJSON("/staff/passkey/login/finish", passkeyFinish{Ticket: pb.Ticket, Credential: k.get(challengeOf(t, pb.Options))})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"next":"/staff/"`) {
		t.Fatalf("passkey sign-in: %d %s", resp.StatusCode, body)
	}
	resp, body = b.get("/staff/account")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Laptop") || !strings.Contains(body, "last used") {
		t.Fatalf("account page: %d\n%s", resp.StatusCode, body)
	}
	// The only factor cannot be removed.
	resp, body = b.post("/staff/account/passkeys/remove", url.Values{"passkey": {b64(k.id)}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "only second factor") {
		t.Fatalf("removing the last factor: %d\n%s", resp.StatusCode, body)
	}
}

func TestLoginFailuresAreGeneric(t *testing.T) {
	e := newEnv(t)
	analyst := e.members[canopy.RoleAnalyst]
	b := e.browser()
	b.get("/staff/login")
	_, unknown := b.post("/staff/login", url.Values{"email": {"nobody@example.org"}, "password": {password}})
	resp, wrongPassword := b.post("/staff/login", url.Values{"email": {analyst.Email}, "password": {"not my password"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	const generic = "The email, password or code was not right."
	if s := errorSummary(wrongPassword); !strings.Contains(s, generic) || s != errorSummary(unknown) {
		t.Fatalf("wrong password %q, unknown account %q", s, errorSummary(unknown))
	}
	if !strings.Contains(wrongPassword, `value="`+analyst.Email+`"`) || strings.Contains(wrongPassword, "not my password") {
		t.Fatal("the email should stay and the password go")
	}

	resp, _ = b.post("/staff/login", url.Values{"email": {analyst.Email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password: %d", resp.StatusCode)
	}
	b.token = ""
	b.get("/staff/login/factor")
	code := stafftest.Code(analyst.secret, e.clock.now())
	wrong := "123456"
	if wrong == code {
		wrong = "654321"
	}
	resp, body := b.post("/staff/login/factor", url.Values{"code": {wrong}})
	if resp.StatusCode != http.StatusUnauthorized || errorSummary(body) != errorSummary(unknown) {
		t.Fatalf("wrong code: %d %q", resp.StatusCode, errorSummary(body))
	}
	resp, _ = b.post("/staff/login/factor", url.Values{"code": {code}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/" {
		t.Fatalf("right code: %d", resp.StatusCode)
	}
}

func TestLockout(t *testing.T) {
	e := newEnv(t)
	analyst := e.members[canopy.RoleAnalyst]
	b := e.browser()
	b.get("/staff/login")
	for i := 0; i < 5; i++ {
		if resp, _ := b.post("/staff/login", url.Values{"email": {analyst.Email}, "password": {"guess number " + string(rune('a'+i))}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := b.post("/staff/login", url.Values{"email": {analyst.Email}, "password": {password}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(errorSummary(body), "wait") {
		t.Fatalf("locked account: %d\n%s", resp.StatusCode, body)
	}
	e.clock.add(2 * time.Minute)
	if resp, _ := b.post("/staff/login", url.Values{"email": {analyst.Email}, "password": {password}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the lock: %d", resp.StatusCode)
	}
}

func TestForgeryRefused(t *testing.T) {
	e := newEnv(t)
	id := e.submit("grooming", "FR")
	analyst := e.login(canopy.RoleAnalyst)
	supervisor := e.login(canopy.RoleSupervisor)
	claimed := func() bool {
		v, err := e.triage.Report(context.Background(), e.members[canopy.RoleAnalyst].Account, id)
		if err != nil {
			t.Fatal(err)
		}
		return v.State.ClaimedBy != ""
	}
	path := "/staff/reports/" + id + "/claim"
	for name, form := range map[string]url.Values{
		"no token":                {"csrf": {""}},
		"another session's token": {"csrf": {supervisor.token}},
		"a made-up token":         {"csrf": {"AAAA"}},
	} {
		resp, body := analyst.post(path, form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") || claimed() {
			t.Fatalf("%s: %d, claimed %v\n%s", name, resp.StatusCode, claimed(), body)
		}
	}
	resp, body := analyst.post(path, url.Values{}, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "another website") || claimed() {
		t.Fatalf("cross-site: %d\n%s", resp.StatusCode, body)
	}
	// The passkey endpoints take the token in a header.
	req, _ := http.NewRequest("POST", e.http.URL+"/staff/passkey/register/begin", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	if resp, body := analyst.do(req); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error"`) {
		t.Fatalf("passkey call without a token: %d %s", resp.StatusCode, body)
	}
	// The sign-in form is protected too.
	anon := e.browser()
	anon.get("/staff/login")
	if resp, _ := anon.post("/staff/login", url.Values{"csrf": {""}, "email": {"x@example.org"}, "password": {"y"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without a token: %d", resp.StatusCode)
	}
	// With the token, the claim goes through.
	if resp, _ := analyst.post(path, nil); resp.StatusCode != http.StatusSeeOther || !claimed() {
		t.Fatalf("claim with the token: %d", resp.StatusCode)
	}
}
