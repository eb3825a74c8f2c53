// Package browsertest drives Debian's headless Chromium from Go tests and
// checks pages with axe-core, which ships inside it so nothing is fetched
// at test time. The portal's and the workspace's browser tests share it.
// Without Chromium a test is skipped, except under CI (CI=true), where
// that is a failure.
package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

//go:embed axe.min.js
var axeSource string

// New starts headless Chromium for one test and returns its tab, with
// scripts on or off, in a window of width×height (a small phone by
// default).
func New(t *testing.T, scripts bool, size ...int) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	path := os.Getenv("CANOPY_CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(name)
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is required under CI (apt-get install chromium)")
		}
		t.Skip("chromium not found; set CANOPY_CHROMIUM")
	}
	w, h := 390, 844
	if len(size) == 2 {
		w, h = size[0], size[1]
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		// The network is closed: background fetches would only fail.
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(w, h))
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !scripts}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// loadWait bounds Load: a click that loads no page fails after it, not
// when the whole test runs out of time.
const loadWait = 30 * time.Second

// Load runs the steps, which make the tab load a page (a click on a link
// or on a form's button: a submission, its redirect and the page it ends
// on), and returns once that page has fired its load event. Wait for the
// page a click loads with Load, not with WaitVisible alone: the old page
// stays in the tab until the new one commits, so an element both pages
// have (a form, a notice) is "visible" at once, and what runs next runs
// against a page about to go: axe injected there is gone when it runs
// ("axe is not defined"), or the evaluation dies with it ("Inspected
// target navigated"). Load listens before the steps run, so it can
// neither miss the page nor take the old one for it. A step that loads
// nothing (a form scripts send in the background) does not belong in it.
func Load(steps ...chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		lctx, cancel := context.WithTimeout(ctx, loadWait)
		defer cancel()
		_, err := chromedp.RunResponse(lctx, steps...)
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no page loaded within %v of the steps", loadWait)
		}
		return chromedp.Void{}, err
	}
}

type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// CheckAxe runs axe-core in the current page and fails the test on any
// serious or critical violation of WCAG 2.x A and AA; lesser ones are
// logged. axe needs scripts, so in a tab that has them off it switches
// them on for the check and off again after; the page itself was rendered
// without them.
func CheckAxe(t *testing.T, ctx context.Context, page string, scriptsOff bool) {
	t.Helper()
	checkAxe(t, ctx, page, scriptsOff, false)
}

// CheckAxeAll is CheckAxe failing on every violation, minor and moderate
// ones and axe's best practices included: for the pages a child in
// distress uses, where "moderate" is not small.
func CheckAxeAll(t *testing.T, ctx context.Context, page string, scriptsOff bool) {
	t.Helper()
	checkAxe(t, ctx, page, scriptsOff, true)
}

func checkAxe(t *testing.T, ctx context.Context, page string, scriptsOff, all bool) {
	t.Helper()
	if scriptsOff {
		chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		defer chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	}
	// axe is put in the page and run in one evaluation, so both happen in
	// the same document. A page that loads meanwhile still ends the check:
	// the test checked before the page it meant had loaded (see Load).
	run := axeSource + `;
		axe.run(document, {runOnly: {type: "tag", values: ["wcag2a","wcag2aa","wcag21a","wcag21aa","wcag22aa","best-practice"]}, resultTypes: ["violations"]})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => ({target: n.target, html: n.html}))})))`
	before, _ := chromedp.Run(ctx, chromedp.Location())
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		if after, _ := chromedp.Run(ctx, chromedp.Location()); after != before {
			t.Fatalf("%s: axe: %v: the tab went from %s to %s during the check; wait for the page with browsertest.Load first", page, err, before, after)
		}
		t.Fatalf("%s: axe: %v", page, err)
	}
	for _, v := range out {
		b, _ := json.Marshal(v.Nodes)
		if all || v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: axe %s (%s): %s at %s", page, v.ID, v.Impact, v.Help, b)
		} else {
			t.Logf("%s: axe %s (%s): %s at %s", page, v.ID, v.Impact, v.Help, b)
		}
	}
}

// WiderThanScreen lists what sticks out of the screen sideways, on
// either side (right-to-left pages overflow to the left); tables and
// charts that scroll inside a .table-wrap frame do not count. Measuring
// needs scripts: a tab with them off has them on for the time of it.
func WiderThanScreen(t *testing.T, ctx context.Context, scriptsOff bool) []string {
	t.Helper()
	if scriptsOff {
		chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		defer chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	}
	const wider = `document.documentElement.scrollWidth <= window.innerWidth ? [] :
		Array.from(document.querySelectorAll("body *")).filter(e => { const r = e.getBoundingClientRect(); return (r.right > window.innerWidth + 1 || r.left < -1) && !e.closest(".table-wrap") })
			.slice(0, 10).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "")).concat(["the page"])`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](wider))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Tab is a test's browser tab with the steps every browser test takes:
// run steps or fail, read an element's text, check a page.
type Tab struct {
	T          *testing.T
	Ctx        context.Context
	ScriptsOff bool
	// All fails Check on violations of every impact (CheckAxeAll), not
	// only serious and critical ones.
	All bool
	// Before runs before each Check when set, such as scrolling back to
	// the top of the page.
	Before func()
}

// Must runs steps and fails the test if one fails.
func (b Tab) Must(steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		b.T.Fatal(err)
	}
}

// Text is the text of the element sel selects, its spaces folded.
func (b Tab) Text(sel string) string {
	b.T.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.T.Fatal(err)
	}
	return strings.Join(strings.Fields(s), " ")
}

// Check runs axe on the page shown and fails the test on a violation, or
// on anything wider than the screen.
func (b Tab) Check(page string) {
	b.T.Helper()
	if b.Before != nil {
		b.Before()
	}
	checkAxe(b.T, b.Ctx, page, b.ScriptsOff, b.All)
	if wide := WiderThanScreen(b.T, b.Ctx, b.ScriptsOff); len(wide) > 0 {
		b.T.Errorf("%s: wider than a phone's screen: %v", page, wide)
	}
}
