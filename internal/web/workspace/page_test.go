package workspace

import (
	"context"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
)

// TestNoInlineCode holds the templates to the Content-Security-Policy: no
// inline script or style, no event-handler attributes, no javascript:
// links. The browser would refuse them anyway; this catches them before a
// page silently breaks.
func TestNoInlineCode(t *testing.T) {
	script := regexp.MustCompile(`<script[^>]*>`)
	bad := []*regexp.Regexp{
		regexp.MustCompile(`<script[^>]*>[^<]`), // inline code
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	}
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFiles.ReadFile(p)
		for _, tag := range script.FindAll(b, -1) {
			if !strings.Contains(string(tag), ` src="`) {
				t.Errorf("%s: script without src: %s", p, tag)
			}
		}
		for _, re := range bad {
			if loc := re.FindIndex(b); loc != nil {
				t.Errorf("%s: %q", p, b[loc[0]:min(loc[1]+20, len(b))])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestColourContrast checks the stylesheet's colour pairs against WCAG 2.2
// AA: 4.5:1 for text, 3:1 for borders and focus rings that carry meaning.
func TestColourContrast(t *testing.T) {
	css, err := staticFiles.ReadFile("static/staff.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-f]{6});`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"ink", "bg", 4.5}, {"ink", "surface", 4.5}, {"muted", "bg", 4.5}, {"muted", "surface", 4.5},
		{"accent", "surface", 4.5}, {"accent", "bg", 4.5}, {"accent-dark", "bg", 4.5}, {"on-accent", "accent", 4.5}, {"on-accent", "accent-dark", 4.5},
		{"danger", "surface", 4.5}, {"danger", "danger-bg", 4.5}, {"urgent", "surface", 4.5}, {"urgent", "urgent-bg", 4.5},
		{"ink", "urgent-bg", 4.5}, {"breach", "surface", 4.5}, {"breach", "breach-bg", 4.5}, {"ink", "breach-bg", 4.5},
		{"ink", "ok-bg", 4.5}, {"muted", "ok-bg", 4.5}, {"accent", "ok-bg", 4.5}, {"accent", "urgent-bg", 4.5},
		{"line", "surface", 3}, {"line", "bg", 3}, {"focus-ink", "focus", 3}, {"focus", "focus-ink", 3},
	}
	for _, p := range pairs {
		fg, bg := vars[p.fg], vars[p.bg]
		if fg == "" || bg == "" {
			t.Errorf("no colour --%s or --%s", p.fg, p.bg)
			continue
		}
		if r := contrast(fg, bg); r < p.min {
			t.Errorf("--%s on --%s: %.2f:1, want %.1f:1", p.fg, p.bg, r, p.min)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}

// TestRefusalsAudited: the pages this package guards itself write their
// refusals to the audit log, as internal/triage does for reports.
func TestRefusalsAudited(t *testing.T) {
	e := newEnv(t)
	b := e.login(canopy.RoleAnalyst)
	for _, p := range []string{"/staff/accounts", "/staff/audit"} {
		if resp, _ := b.get(p); resp.StatusCode != 403 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	es, err := e.audit.Entries(context.Background(), 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range es {
		if en.Action == audit.ActionPermissionDenied && en.Actor == audit.Staff(e.members[canopy.RoleAnalyst].ID) {
			got = append(got, en.Details["permission"])
		}
	}
	if strings.Join(got, ",") != "account.manage,audit.read" {
		t.Fatalf("refusals audited: %v", got)
	}
}

// TestPagesAreLabelled: every page has a title, one h1, a skip link
// and a main landmark, and forms' controls have labels.
func TestPagesAreLabelled(t *testing.T) {
	e := newEnv(t)
	id := e.submit("grooming", "FR")
	e.peer("be", "BE")
	referred := e.referFrom(e.peer("nl", "NL"), "csam")
	pages := map[canopy.Role][]string{
		canopy.RoleAnalyst: {"/staff/", "/staff/reports/" + id, "/staff/reports/" + referred, "/staff/unrouted", "/staff/account",
			"/staff/accounts", "/staff/nothing"},
		canopy.RoleAdministrator: {"/staff/accounts", "/staff/network", "/staff/network/peers/be", "/staff/network/peers/be/remove"},
		canopy.RoleAuditor:       {"/staff/audit", "/staff/audit/reports/" + id},
	}
	label := regexp.MustCompile(`<label for="([^"]+)"`)
	control := regexp.MustCompile(`<(?:input|select|textarea)\s[^>]*\bid="([^"]+)"`)
	hiddenInput := regexp.MustCompile(`type="hidden"`)
	for role, paths := range pages {
		b := e.login(role)
		for _, p := range paths {
			_, body := b.get(p)
			if strings.Count(body, "<h1") != 1 || !strings.Contains(body, `<main id="main"`) || !strings.Contains(body, `href="#main"`) ||
				!regexp.MustCompile(`<title>[^<]+</title>`).MatchString(body) {
				t.Errorf("%s as %s: missing title, h1, main or skip link", p, role)
			}
			labelled := map[string]bool{}
			for _, m := range label.FindAllStringSubmatch(body, -1) {
				labelled[m[1]] = true
			}
			for _, m := range control.FindAllStringSubmatch(body, -1) {
				if !labelled[m[1]] && !hiddenInput.MatchString(m[0]) {
					t.Errorf("%s as %s: control %q has no label", p, role, m[1])
				}
			}
		}
	}
}
