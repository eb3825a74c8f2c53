package workspace

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/preview"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// What a test writes into an investigation's sealed parts: it shows on
// the pages of those who may work on it, and never in a refusal or the
// access log.
const (
	invTitle = "Operation zebra-lantern"
	invNote  = "the suspect moved to zebra-street"
	invWhy   = "seized from device 3 zebra-why"
	invFile  = "zebra-photo.png"
	invTask  = "ask the host for zebra-logs"
)

func (e *env) analyst() *canopy.Account { return e.members[canopy.RoleAnalyst].Account }

// testPNG is a small colour image: its preview blurred and grey and its
// preview as it is differ.
func testPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for y := range 64 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{R: uint8(x * 8 % 256), G: uint8(y * 4), B: uint8((x ^ y) * 3), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testInvestigation is an investigation an analyst opened in France.
func testInvestigation(e *env) string {
	e.t.Helper()
	inv, err := e.srv.evidence.Open(context.Background(), e.analyst(), invTitle, "FR")
	if err != nil {
		e.t.Fatal(err)
	}
	return inv.ID
}

// testItem is an investigation with an image in it, and the image.
func testItem(e *env) (string, string) {
	e.t.Helper()
	id := testInvestigation(e)
	it, err := e.srv.evidence.Acquire(context.Background(), e.analyst(), id, invFile, bytes.NewReader(testPNG(e.t)), invWhy)
	if err != nil {
		e.t.Fatal(err)
	}
	return id, it.ID
}

// linkedInvestigation is an investigation linked to a new report, and the report.
func linkedInvestigation(e *env) (string, string) {
	e.t.Helper()
	id, rep := testInvestigation(e), freshReport(e)
	if err := e.srv.evidence.LinkReport(context.Background(), e.analyst(), id, rep); err != nil {
		e.t.Fatal(err)
	}
	return id, rep
}

// taskInvestigation is an investigation with task 1, not done.
func taskInvestigation(e *env) string {
	e.t.Helper()
	id := testInvestigation(e)
	if _, err := e.srv.evidence.AddTask(context.Background(), e.analyst(), id, invTask, "", time.Time{}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func closedInvestigation(e *env) string {
	e.t.Helper()
	id := testInvestigation(e)
	if err := e.srv.evidence.Close(context.Background(), e.analyst(), id, "work done"); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// heldInvestigation is an investigation a supervisor put under a legal hold.
func heldInvestigation(e *env) string {
	e.t.Helper()
	id := testInvestigation(e)
	if err := e.srv.evidence.PlaceHold(context.Background(), e.members[canopy.RoleSupervisor].Account, id, "Court order 17"); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// upload is the evidence upload form as a browser sends it.
type upload struct {
	why, name string
	data      []byte
}

// mpart is one part of a multipart form; a part with a file name is
// a file.
type mpart struct {
	name, value, file string
	data              io.Reader
}

// sendEvidence sends the upload form in its order: the form token, the
// reason, the file.
func (b *browser) sendEvidence(path string, u upload) (*http.Response, string) {
	b.e.t.Helper()
	return b.multipart(path, mpart{name: "csrf", value: b.formToken()}, mpart{name: "why", value: u.why},
		mpart{name: "file", file: u.name, data: bytes.NewReader(u.data)})
}

// multipart sends parts as multipart/form-data, streamed as they are
// written.
func (b *browser) multipart(path string, parts ...mpart) (*http.Response, string) {
	b.e.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, p := range parts {
			if p.data == nil {
				if err := mw.WriteField(p.name, p.value); err != nil {
					pw.CloseWithError(err)
					return
				}
				continue
			}
			w, err := mw.CreateFormFile(p.name, p.file)
			if err == nil {
				_, err = io.Copy(w, p.data)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest("POST", b.e.http.URL+path, pr)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// items returns an investigation's items as the store holds them.
func (e *env) items(id string) []store.SealedEvidence {
	e.t.Helper()
	items, err := e.db.InvestigationEvidence(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

// custody returns an item's chain of custody, as the analyst sees it.
func (e *env) custody(inv, item string) []canopy.CustodyEntry {
	e.t.Helper()
	items, err := e.srv.evidence.Items(context.Background(), e.analyst(), inv)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == item {
			return it.Custody
		}
	}
	e.t.Fatalf("no item %s in %s", item, inv)
	return nil
}

// redirectTo checks that resp sends the browser to path with the notice done.
func redirectTo(t *testing.T, where string, resp *http.Response, body, path, done string) {
	t.Helper()
	mustStatus(t, where, resp, body, http.StatusSeeOther)
	want := path
	if done != "" {
		want += "?done=" + done
	}
	if got := resp.Header.Get("Location"); got != want {
		t.Fatalf("%s: redirect to %q, want %q", where, got, want)
	}
}

// thumbnail is the preview the evidence service makes of file.
func thumbnail(t *testing.T, file []byte, mode preview.Mode) []byte {
	t.Helper()
	b, _, err := preview.Thumbnail(bytes.NewReader(file), preview.Options{Mode: mode, Width: evidence.PreviewBox, Height: evidence.PreviewBox})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var itemPathRE = regexp.MustCompile(`^/staff/evidence/([0-9a-z-]+)\?done=acquired$`)

// TestInvestigationPages walks an analyst through an investigation over
// HTTP: open it (a mistake first), link a report, add a task and mark it
// done and not done, write a note, add an image, look at its preview
// blurred, reveal it for a minute and see it blur again, download the
// original, check its hashes, hand it over, close and reopen; then a
// supervisor places a hold, under which destruction is refused, and
// lifts it, and the analyst destroys the file.
func TestInvestigationPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		rep := freshReport(e)
		b := e.login(canopy.RoleAnalyst)
		liaison := e.members[canopy.RoleLiaison]

		resp, body := b.get("/staff/investigations")
		mustStatus(t, "list", resp, body, http.StatusOK)
		if !strings.Contains(body, `aria-current="page">Investigations</a>`) || !strings.Contains(body, "There are no open investigations") {
			t.Fatalf("empty list:\n%s", body)
		}

		// Open: without a title first.
		resp, body = b.post("/staff/investigations", url.Values{"title": {"  "}})
		mustStatus(t, "open without a title", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#new-title"`) || !strings.Contains(body, `id="new-title-error"`) {
			t.Fatalf("no field error:\n%s", body)
		}
		resp, body = b.post("/staff/investigations", url.Values{"title": {invTitle}, "jurisdiction": {"FR"}})
		mustStatus(t, "open", resp, body, http.StatusSeeOther)
		loc := resp.Header.Get("Location")
		id := strings.TrimSuffix(strings.TrimPrefix(loc, "/staff/investigations/"), "?done=opened")
		if !strings.HasSuffix(loc, "?done=opened") || id == "" {
			t.Fatalf("redirect to %q", loc)
		}
		page := "/staff/investigations/" + id
		resp, body = b.get(page + "?done=opened")
		mustStatus(t, "investigation", resp, body, http.StatusOK)
		for _, want := range []string{"<h1>" + invTitle + "</h1>", esc(investigationNotices["opened"]), "Opened the investigation",
			"Test analyst", "No report is linked", "No evidence has been added", `enctype="multipart/form-data"`, "Close the investigation"} {
			if !strings.Contains(body, want) {
				t.Errorf("investigation page lacks %q", want)
			}
		}
		if strings.Contains(body, "Place a legal hold") {
			t.Error("an analyst is offered the legal hold")
		}
		resp, body = b.get("/staff/investigations")
		if !strings.Contains(body, `<a href="`+page+`">`+invTitle+`</a>`) {
			t.Fatalf("list lacks the investigation:\n%s", body)
		}

		// The forms, each with a mistake first; the page keeps what was typed.
		for _, c := range []struct {
			name, path string
			form       url.Values
			status     int
			want       []string
			done       string
		}{
			{"link nothing", "/reports", url.Values{"report": {""}}, http.StatusUnprocessableEntity, []string{`href="#link-report"`, "Please fill this in"}, ""},
			{"link an unknown report", "/reports", url.Values{"report": {"no-such-report"}}, http.StatusUnprocessableEntity,
				[]string{esc(messageOf("error.report.not_found")), `value="no-such-report"`}, ""},
			{"link", "/reports", url.Values{"report": {rep}}, 0, nil, "linked"},
			{"task without a title", "/tasks", url.Values{"title": {""}, "due": {"2026-12-31"}}, http.StatusUnprocessableEntity,
				[]string{`href="#task-title"`, `value="2026-12-31"`}, ""},
			{"task with a wrong date", "/tasks", url.Values{"title": {invTask}, "due": {"31/12/2026"}}, http.StatusUnprocessableEntity,
				[]string{esc(investigationMessages["error.investigation.due"]), `value="` + invTask + `"`}, ""},
			{"task for a caseworker", "/tasks", url.Values{"title": {invTask}, "assignee": {e.members[canopy.RoleCaseworker].ID}}, http.StatusUnprocessableEntity,
				[]string{esc(investigationMessages["error.investigation.assignee"])}, ""},
			{"task", "/tasks", url.Values{"title": {invTask}, "assignee": {liaison.ID}, "due": {"2026-12-31"}}, 0, nil, "task"},
			{"done", "/tasks/1", url.Values{"done": {"yes"}}, 0, nil, "task_done"},
			{"not done", "/tasks/1", url.Values{"done": {"no"}}, 0, nil, "task_undone"},
			{"no such task", "/tasks/9", url.Values{"done": {"yes"}}, http.StatusConflict, []string{esc(investigationMessages["error.investigation.task_not_found"])}, ""},
			{"empty note", "/notes", url.Values{"note": {""}}, http.StatusUnprocessableEntity, []string{`href="#note-note"`}, ""},
			{"note", "/notes", url.Values{"note": {invNote}}, 0, nil, "note"},
		} {
			resp, body := b.post(page+c.path, c.form)
			if c.done != "" {
				redirectTo(t, c.name, resp, body, page, c.done)
				continue
			}
			mustStatus(t, c.name, resp, body, c.status)
			for _, want := range c.want {
				if !strings.Contains(body, want) {
					t.Errorf("%s: page lacks %q", c.name, want)
				}
			}
		}
		resp, body = b.get(page)
		for _, want := range []string{`href="/staff/reports/` + rep + `"`, invTask, "Test liaison", "31 Dec 2026", "Mark done", invNote,
			"Linked report", "Added task 1", "Marked task 1, " + invTask + " as done", "Marked task 1, " + invTask + " as not done again", "Added a note"} {
			if !strings.Contains(body, want) {
				t.Errorf("investigation page lacks %q", want)
			}
		}

		// Evidence: an image, through the streamed form.
		file := testPNG(t)
		resp, body = b.sendEvidence(page+"/evidence", upload{why: invWhy, name: invFile, data: file})
		mustStatus(t, "upload", resp, body, http.StatusSeeOther)
		m := itemPathRE.FindStringSubmatch(resp.Header.Get("Location"))
		if m == nil {
			t.Fatalf("upload sent to %q", resp.Header.Get("Location"))
		}
		item := m[1]
		sum, md := sha256.Sum256(file), md5.Sum(file)
		itemPage := "/staff/evidence/" + item
		resp, body = b.get(itemPage + "?done=acquired")
		mustStatus(t, "item", resp, body, http.StatusOK)
		for _, want := range []string{"<h1>" + invFile + "</h1>", "Its SHA-256 is " + hex.EncodeToString(sum[:]), hex.EncodeToString(md[:]),
			"image/png", fileSize(int64(len(file))), "Acquired", invWhy, `<img src="/staff/evidence/` + item + `/preview" alt="Preview of the image, blurred and grey">`,
			"Reveal for one minute", "Download the original", "Check its hashes", "Record a handover", "Destroy the file"} {
			if !strings.Contains(body, want) {
				t.Errorf("item page lacks %q", want)
			}
		}
		if resp.Header.Get("Refresh") != "" {
			t.Error("a blurred image's page refreshes")
		}

		// The preview: blurred and grey until revealed.
		getPreview := func(where string) []byte {
			t.Helper()
			resp, body := b.get(itemPage + "/preview")
			mustStatus(t, where, resp, "", http.StatusOK)
			if resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s: headers %v", where, resp.Header)
			}
			return []byte(body)
		}
		blurred, revealed := thumbnail(t, file, preview.Protected), thumbnail(t, file, preview.Revealed)
		if bytes.Equal(blurred, revealed) {
			t.Fatal("the test image blurs to itself")
		}
		if got := getPreview("preview"); !bytes.Equal(got, blurred) {
			t.Fatal("the first preview is not the blurred one")
		}
		resp, body = b.post(itemPage+"/reveal", url.Values{"why": {""}})
		mustStatus(t, "reveal without a reason", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#reveal-why"`) {
			t.Fatalf("reveal without a reason:\n%.2000s", body)
		}
		resp, body = b.post(itemPage+"/reveal", url.Values{"why": {"compare with the report"}})
		redirectTo(t, "reveal", resp, body, itemPage, "revealed")
		chain := e.custody(id, item)
		if last := chain[len(chain)-1]; last.Action != canopy.CustodyRevealed || last.Why != "compare with the report" || last.Actor != e.analyst().ID {
			t.Fatalf("reveal's custody step: %+v\n%+v", last, chain)
		}
		resp, body = b.get(itemPage + "?done=revealed")
		if got := resp.Header.Get("Refresh"); got != "61; url="+itemPage {
			t.Errorf("revealed page's Refresh: %q", got)
		}
		for _, want := range []string{"Hide now",
			"until 09:", `data-seconds-left="60"`, `alt="Preview of the image, as it is"`} {
			if !strings.Contains(body, want) {
				t.Errorf("revealed page lacks %q", want)
			}
		}
		if got := getPreview("revealed preview"); !bytes.Equal(got, revealed) {
			t.Fatalf("the revealed preview is not the image as it is (blurred: %v, %d bytes, want %d)", bytes.Equal(got, blurred), len(got), len(revealed))
		}
		e.clock.add(61 * time.Second)
		if got := getPreview("preview after a minute"); !bytes.Equal(got, blurred) {
			t.Fatal("a minute later the preview is not blurred again")
		}
		if resp, body = b.get(itemPage); resp.Header.Get("Refresh") != "" || strings.Contains(body, "Hide now") {
			t.Fatal("a minute later the page still says the image is revealed")
		}
		b.post(itemPage+"/reveal", url.Values{"why": {"once more"}})
		resp, body = b.post(itemPage+"/hide", nil)
		redirectTo(t, "hide", resp, body, itemPage, "hidden")
		if got := getPreview("preview after hiding"); !bytes.Equal(got, blurred) {
			t.Fatal("after hiding the preview is not blurred")
		}

		// The original, with a reason.
		resp, body = b.post(itemPage+"/file", url.Values{"why": {""}})
		mustStatus(t, "download without a reason", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#file-why"`) {
			t.Fatalf("download without a reason:\n%.2000s", body)
		}
		resp, body = b.post(itemPage+"/file", url.Values{"why": {"for the prosecutor's copy"}})
		mustStatus(t, "download", resp, "", http.StatusOK)
		h := resp.Header
		if !bytes.Equal([]byte(body), file) || h.Get("Content-Type") != "application/octet-stream" ||
			h.Get("Content-Disposition") != `attachment; filename="`+invFile+`"` || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Cache-Control") != "no-store" || h.Get("Content-Length") != fmt.Sprint(len(file)) {
			t.Fatalf("download: %d bytes, headers %v", len(body), h)
		}
		chain = e.custody(id, item)
		if last := chain[len(chain)-1]; last.Action != canopy.CustodyViewed || last.Why != "for the prosecutor's copy" {
			t.Fatalf("download's custody step: %+v", last)
		}

		// Its hashes, and a handover.
		resp, body = b.post(itemPage+"/verify", nil)
		redirectTo(t, "verify", resp, body, itemPage, "verified")
		resp, body = b.post(page+"/transfer", url.Values{"items": {item}, "item": {item}, "to": {""}, "why": {"request 42"}})
		mustStatus(t, "handover without a recipient", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#transfer-to"`) || !strings.Contains(body, "request 42") {
			t.Fatalf("handover without a recipient:\n%.3000s", body)
		}
		resp, body = b.post(page+"/transfer", url.Values{"items": {item}, "item": {item}, "to": {"Parquet de Paris"}, "why": {"request 42"}})
		redirectTo(t, "handover from the item", resp, body, itemPage, "transferred")
		resp, body = b.post(page+"/transfer", url.Values{"items": {"no-such-item"}, "to": {"Parquet de Paris"}, "why": {"request 43"}})
		mustStatus(t, "handover of nothing", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, esc(investigationMessages["error.evidence.transfer_items"])) || !strings.Contains(body, `href="#transfer-item-`+item+`"`) {
			t.Fatalf("handover of nothing:\n%.3000s", body)
		}
		resp, body = b.post(page+"/transfer", url.Values{"to": {"Parquet de Paris"}, "why": {"request 43"}})
		redirectTo(t, "handover of everything", resp, body, page, "transferred")
		var actions []string
		for _, c := range e.custody(id, item) {
			actions = append(actions, c.Action)
		}
		if got := strings.Join(actions, " "); !strings.HasPrefix(got, "acquired viewed") || !strings.HasSuffix(got, "viewed verified transferred transferred") ||
			!strings.Contains(got, "revealed") {
			t.Fatalf("custody: %s", got)
		}
		// The bundle, signed, to download.
		resp, body = b.post(page+"/bundle", nil)
		mustStatus(t, "bundle", resp, "", http.StatusOK)
		if h := resp.Header; h.Get("Content-Type") != "application/zip" || h.Get("Cache-Control") != "no-store" ||
			h.Get("Content-Disposition") != `attachment; filename="`+evidence.ZipFolder(id)+`.zip"` {
			t.Fatalf("bundle headers %v", h)
		}
		zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		found := false
		for _, f := range zr.File {
			names = append(names, f.Name)
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			found = found || bytes.Equal(got, file)
		}
		if !found || !slices.Contains(names, evidence.ZipFolder(id)+"/manifest.json") {
			t.Fatalf("bundle holds %v, the file %v", names, found)
		}
		chain = e.custody(id, item)
		if last := chain[len(chain)-1]; last.Action != canopy.CustodyExported {
			t.Fatalf("bundle's custody step: %+v", last)
		}

		resp, body = b.get(itemPage)
		for _, want := range []string{"Revealed unblurred", "Hashes checked", "Handed over", "to Parquet de Paris: request 42", "compare with the report",
			"Exported in an evidence bundle"} {
			if !strings.Contains(body, want) {
				t.Errorf("custody table lacks %q", want)
			}
		}

		// Closing and opening again; nothing is added to a closed investigation.
		resp, body = b.post(page+"/close", url.Values{"why": {""}})
		mustStatus(t, "close without a reason", resp, body, http.StatusUnprocessableEntity)
		resp, body = b.post(page+"/close", url.Values{"why": {"charges filed"}})
		redirectTo(t, "close", resp, body, page, "closed")
		resp, body = b.get(page)
		if !strings.Contains(body, "This investigation was closed on") || !strings.Contains(body, "charges filed") ||
			strings.Contains(body, `enctype="multipart/form-data"`) || !strings.Contains(body, "Open the investigation again") {
			t.Fatalf("closed investigation:\n%s", body)
		}
		resp, body = b.sendEvidence(page+"/evidence", upload{why: invWhy, name: "late.png", data: file})
		mustStatus(t, "upload to a closed investigation", resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.investigation.closed"])) || len(e.items(id)) != 1 {
			t.Fatalf("upload to a closed investigation:\n%.2000s", body)
		}
		resp, body = b.post(page+"/close", url.Values{"why": {"again"}})
		mustStatus(t, "close twice", resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.investigation.closed_already"])) {
			t.Fatalf("close twice:\n%.2000s", body)
		}
		resp, body = b.post(page+"/reopen", url.Values{"why": {"new lead"}})
		redirectTo(t, "reopen", resp, body, page, "reopened")

		// A legal hold: a supervisor's, which the analyst cannot place.
		resp, body = b.post(page+"/hold", url.Values{"why": {"mine"}})
		mustStatus(t, "an analyst's hold", resp, body, http.StatusForbidden)
		sup := e.login(canopy.RoleSupervisor)
		resp, body = sup.get(page)
		if !strings.Contains(body, "Place a legal hold") {
			t.Fatalf("a supervisor is not offered the hold:\n%s", body)
		}
		resp, body = sup.post(page+"/hold", url.Values{"why": {"Court order 17"}})
		redirectTo(t, "hold", resp, body, page, "held")
		resp, body = sup.post(page+"/hold", url.Values{"why": {"Court order 18"}})
		mustStatus(t, "hold twice", resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.investigation.held_already"])) || !strings.Contains(body, "Court order 18") {
			t.Fatalf("hold twice:\n%.2000s", body)
		}
		resp, body = b.get(itemPage + "/destroy")
		mustStatus(t, "destroy under a hold", resp, body, http.StatusOK)
		if !strings.Contains(body, "A legal hold stands on this investigation") || !strings.Contains(body, "Court order 17") ||
			!strings.Contains(body, "Test supervisor") {
			t.Fatalf("destruction page under a hold:\n%s", body)
		}
		resp, body = b.post(itemPage+"/destroy", url.Values{"why": {"order 5"}})
		mustStatus(t, "destroy under a hold", resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.investigation.held"])) || !strings.Contains(body, "Court order 17") ||
			!strings.Contains(body, "placed by Test supervisor") {
			t.Fatalf("destruction under a hold:\n%s", body)
		}
		if !e.items(id)[0].Destroyed.IsZero() {
			t.Fatal("destroyed under a hold")
		}
		resp, body = sup.post(page+"/hold/lift", url.Values{"why": {""}})
		mustStatus(t, "lift without a reason", resp, body, http.StatusUnprocessableEntity)
		resp, body = sup.post(page+"/hold/lift", url.Values{"why": {"order ended"}})
		redirectTo(t, "lift", resp, body, page, "lifted")

		// Destruction: confirmed, with a reason.
		resp, body = b.get(itemPage + "/destroy")
		mustStatus(t, "destroy form", resp, body, http.StatusOK)
		resp, body = b.post(itemPage+"/destroy", url.Values{"why": {""}})
		mustStatus(t, "destroy without a reason", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, `href="#destroy-why"`) {
			t.Fatalf("destroy without a reason:\n%s", body)
		}
		resp, body = b.post(itemPage+"/destroy", url.Values{"why": {"order 5 of the court"}})
		redirectTo(t, "destroy", resp, body, itemPage, "destroyed")
		resp, body = b.get(itemPage + "?done=destroyed")
		if !strings.Contains(body, "This file was destroyed on") || !strings.Contains(body, hex.EncodeToString(sum[:])) ||
			strings.Contains(body, "Download the original") || strings.Contains(body, "/preview") {
			t.Fatalf("destroyed item:\n%s", body)
		}
		resp, body = b.get(itemPage + "/preview")
		mustStatus(t, "preview of a destroyed file", resp, body, http.StatusConflict)
		resp, body = b.post(itemPage+"/file", url.Values{"why": {"again"}})
		mustStatus(t, "download of a destroyed file", resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.evidence.destroyed"])) {
			t.Fatalf("download of a destroyed file:\n%s", body)
		}

		// The timeline says it all in words, with names.
		resp, body = b.get(page)
		for _, want := range []string{"Added evidence", "Recorded the handover of", "Exported the item with SHA-256 " + shortHash(hex.EncodeToString(sum[:])) + " in a signed evidence bundle",
			"Closed the investigation", "Opened the investigation again",
			"Placed a legal hold", "Lifted the legal hold", "Destroyed the file of", "order 5 of the court", "Test supervisor"} {
			if !strings.Contains(body, want) {
				t.Errorf("timeline lacks %q", want)
			}
		}
		if _, err := e.srv.evidence.Items(ctx, e.analyst(), id); err != nil {
			t.Fatal(err)
		}

		// The access log names routes, never what was typed or seen.
		logs := e.logs.String()
		for _, secret := range []string{invTitle, invNote, invWhy, invFile, invTask, "charges filed", "Court order 17", "Parquet", id, item, rep} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
		if !strings.Contains(logs, `route="POST /staff/investigations/{id}/evidence"`) || !strings.Contains(logs, `route="GET /staff/evidence/{id}/preview"`) {
			t.Errorf("the access log lacks the evidence routes:\n%.2000s", logs)
		}
	})
}

// TestEvidenceUploadRefused: an upload without a valid form token first
// is refused before its file is read, one without a reason or a file
// is shown again with the field's problem, one too large is refused
// with 413; none stores anything.
func TestEvidenceUploadRefused(t *testing.T) {
	e := newEnv(t)
	b := e.login(canopy.RoleAnalyst)
	id := testInvestigation(e)
	path := "/staff/investigations/" + id + "/evidence"
	file := testPNG(t)
	// The file sent is 64 MiB; read counts what the client could send
	// of it before the server answered.
	const big = 64 << 20
	var read atomic.Int64
	counted := func() io.Reader {
		return &countingReader{r: io.MultiReader(bytes.NewReader(file), io.LimitReader(&patternReader{}, big)), n: &read}
	}
	for _, c := range []struct {
		name   string
		parts  func() []mpart
		status int
		want   string
		max    int64 // the node's limit, when not the default
	}{
		{"no form token", func() []mpart {
			return []mpart{{name: "why", value: invWhy}, {name: "file", file: invFile, data: counted()}}
		}, http.StatusForbidden, "This form has expired", 0},
		{"a wrong form token", func() []mpart {
			return []mpart{{name: "csrf", value: "bm90IGEgdG9rZW4"}, {name: "why", value: invWhy}, {name: "file", file: invFile, data: counted()}}
		}, http.StatusForbidden, "This form has expired", 0},
		{"the form token after the file", func() []mpart {
			return []mpart{{name: "why", value: invWhy}, {name: "file", file: invFile, data: counted()}, {name: "csrf", value: b.formToken()}}
		}, http.StatusForbidden, "This form has expired", 0},
		{"no reason", func() []mpart {
			return []mpart{{name: "csrf", value: b.formToken()}, {name: "why", value: " "}, {name: "file", file: invFile, data: counted()}}
		}, http.StatusUnprocessableEntity, `href="#upload-why"`, 0},
		{"no file", func() []mpart {
			return []mpart{{name: "csrf", value: b.formToken()}, {name: "why", value: invWhy}, {name: "file", file: "", data: strings.NewReader("")}}
		}, http.StatusUnprocessableEntity, esc(investigationMessages["error.evidence.file"]), 0},
		{"too large", func() []mpart {
			return []mpart{{name: "csrf", value: b.formToken()}, {name: "why", value: invWhy}, {name: "file", file: invFile, data: counted()}}
		}, http.StatusRequestEntityTooLarge, "This node takes evidence files of up to 64 KiB", 64 << 10},
	} {
		read.Store(0)
		e.srv.maxUpload = DefaultMaxEvidence
		if c.max > 0 {
			e.srv.maxUpload = c.max
		}
		resp, body := b.multipart(path, c.parts()...)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want %d with %q\n%.2000s", c.name, resp.StatusCode, c.status, c.want, body)
		}
		if n := len(e.items(id)); n != 0 {
			t.Fatalf("%s: %d items stored", c.name, n)
		}
		// The connection's buffers take some of what the client sends,
		// but the server does not read the file it refuses.
		if c.status == http.StatusForbidden || c.status == http.StatusUnprocessableEntity {
			n := read.Load()
			t.Logf("%s: the client sent %d KiB of %d MiB", c.name, n>>10, big>>20)
			if n >= big/2 {
				t.Errorf("%s: the server read the file (%d bytes) before refusing", c.name, n)
			}
		}
	}
	e.srv.maxUpload = DefaultMaxEvidence
	if got := e.srv.maxUpload; got != 16<<30 {
		t.Fatalf("default limit %d", got)
	}
	// After all that, a proper upload still works.
	resp, body := b.sendEvidence(path, upload{why: invWhy, name: invFile, data: file})
	mustStatus(t, "upload", resp, body, http.StatusSeeOther)
	if n := len(e.items(id)); n != 1 {
		t.Fatalf("%d items", n)
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestEvidenceUploadMemory streams 256 MiB through the upload form, made
// on the fly, and checks the heap never grows by more than a small part
// of it on the way: the file goes from the request to the blob store in
// bounded memory. Both ends are in this process, so what it measures is
// the client's copy as well as the server's.
func TestEvidenceUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const size = 256 << 20
	e := newEnv(t)
	b := e.login(canopy.RoleAnalyst)
	id := testInvestigation(e)

	// The file: a pattern that is not an image, hashed as it is sent.
	sum := sha256.New()
	src := io.TeeReader(io.LimitReader(&patternReader{}, size), sum)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	})
	resp, body := b.multipart("/staff/investigations/"+id+"/evidence", mpart{name: "csrf", value: b.formToken()},
		mpart{name: "why", value: invWhy}, mpart{name: "file", file: "capture.bin", data: src})
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	mustStatus(t, "upload", resp, body, http.StatusSeeOther)

	items := e.items(id)
	if len(items) != 1 || items[0].Size != size || items[0].SHA256 != hex.EncodeToString(sum.Sum(nil)) {
		t.Fatalf("stored %+v", items)
	}
	grew := int64(peak.Load()) - int64(before.HeapInuse)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("256 MiB streamed: heap in use grew by at most %d KiB; %d MiB allocated in all", grew>>10, alloc>>20)
	if grew > 32<<20 {
		t.Errorf("the heap grew by %d MiB while streaming 256 MiB", grew>>20)
	}
	if alloc > 32<<20 {
		t.Errorf("%d MiB allocated while streaming 256 MiB: the file is copied, not streamed", alloc>>20)
	}
}

// TestEvidenceUploadSlow: an upload that takes longer than the server's
// read and write deadlines, meant for forms, still passes while its
// bytes keep coming.
func TestEvidenceUploadSlow(t *testing.T) {
	if testing.Short() {
		t.Skip("takes three seconds")
	}
	e := newEnv(t)
	b := e.login(canopy.RoleAnalyst)
	id := testInvestigation(e)
	hs := httptest.NewUnstartedServer(e.srv)
	hs.Config.ReadTimeout, hs.Config.WriteTimeout = time.Second, time.Second
	hs.Start()
	t.Cleanup(hs.Close)
	e.http = hs // the browser's cookies hold for it: they are the host's, whatever the port
	resp, body := b.multipart("/staff/investigations/"+id+"/evidence", mpart{name: "csrf", value: b.formToken()},
		mpart{name: "why", value: invWhy}, mpart{name: "file", file: "slow.bin", data: &slowReader{left: 30 << 15}})
	mustStatus(t, "slow upload", resp, body, http.StatusSeeOther)
	if items := e.items(id); len(items) != 1 || items[0].Size != 30<<15 {
		t.Fatalf("stored %+v", items)
	}
}

// slowReader gives its left bytes 32 KiB at a time, every 100 ms.
type slowReader struct{ left int }

func (s *slowReader) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	time.Sleep(100 * time.Millisecond)
	n := min(len(p), s.left, 32<<10)
	clear(p[:n])
	s.left -= n
	return n, nil
}

// patternReader is an endless stream of bytes that no sniffer takes for
// an image.
type patternReader struct{ n byte }

func (p *patternReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = p.n
		p.n = p.n*31 + 7
	}
	return len(b), nil
}

// TestInvestigationJurisdiction: a member who works in Belgium neither
// sees nor reaches an investigation in France, and each refusal is
// audited.
func TestInvestigationJurisdiction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, item := testItem(e)
	be := e.memberOf(canopy.RoleAnalyst, "BE")
	b := e.loginAs(be)

	resp, body := b.get("/staff/investigations?status=all")
	mustStatus(t, "list", resp, body, http.StatusOK)
	if strings.Contains(body, invTitle) || strings.Contains(body, id) {
		t.Fatal("the list shows an investigation of another jurisdiction")
	}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/staff/investigations/" + id, nil},
		{"POST", "/staff/investigations/" + id + "/notes", url.Values{"note": {invNote}}},
		{"POST", "/staff/investigations/" + id + "/close", url.Values{"why": {invWhy}}},
		{"GET", "/staff/evidence/" + item, nil},
		{"GET", "/staff/evidence/" + item + "/preview", nil},
		{"POST", "/staff/evidence/" + item + "/reveal", url.Values{"why": {invWhy}}},
		{"POST", "/staff/evidence/" + item + "/file", url.Values{"why": {invWhy}}},
		{"POST", "/staff/evidence/" + item + "/verify", nil},
		{"POST", "/staff/evidence/" + item + "/destroy", url.Values{"why": {invWhy}}},
	} {
		var resp *http.Response
		var body string
		if c.method == "GET" {
			resp, body = b.get(c.path)
		} else {
			resp, body = b.post(c.path, c.form)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404\n%.1000s", c.method, c.path, resp.StatusCode, body)
		}
		for _, secret := range []string{invTitle, invFile, invWhy} {
			if strings.Contains(body, secret) {
				t.Errorf("%s %s: the refusal shows %q", c.method, c.path, secret)
			}
		}
	}
	resp, body = b.sendEvidence("/staff/investigations/"+id+"/evidence", upload{why: invWhy, name: invFile, data: testPNG(t)})
	mustStatus(t, "upload", resp, body, http.StatusNotFound)
	if n := len(e.items(id)); n != 1 {
		t.Fatalf("%d items after a refused upload", n)
	}
	denied := 0
	es, _ := e.audit.Entries(ctx, 0, 100_000)
	for _, en := range es {
		if en.Action == audit.ActionPermissionDenied && en.Actor == audit.Staff(be.ID) && en.Details["scope"] == "jurisdiction" {
			denied++
		}
	}
	if denied < 9 {
		t.Fatalf("%d refusals audited", denied)
	}
}

// memberOf adds a member of staff with role in the given jurisdictions,
// enrolled and ready to sign in.
func (e *env) memberOf(role canopy.Role, jurisdictions ...string) *account {
	e.t.Helper()
	ctx := context.Background()
	admin := e.members[canopy.RoleAdministrator]
	email := strings.ToLower(string(role)+"-"+strings.Join(jurisdictions, "-")) + "@example.org"
	_, tok, err := e.staff.Invite(ctx, audit.Staff(admin.ID), staff.AccountInput{Email: email, Name: string(role) + " of " +
		strings.Join(jurisdictions, ", "), Role: role, Jurisdictions: jurisdictions})
	if err != nil {
		e.t.Fatal(err)
	}
	sess, err := e.staff.AcceptInvite(ctx, tok, password)
	if err != nil {
		e.t.Fatal(err)
	}
	m := e.enrolTOTP(sess)
	e.clock.add(30 * time.Second)
	return m
}

// TestInvestigationPurged: once retention purged an investigation, its
// page says what was destroyed, when, and what remains, and offers
// nothing to do.
func TestInvestigationPurged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		id, item := testItem(e)
		if err := e.srv.evidence.AddNote(ctx, e.analyst(), id, invNote); err != nil {
			t.Fatal(err)
		}
		if err := e.srv.evidence.Close(ctx, e.analyst(), id, "work done"); err != nil {
			t.Fatal(err)
		}
		e.clock.add(time.Hour)
		done, err := e.srv.evidence.PurgeClosed(ctx, e.clock.now(), 10)
		if err != nil || len(done) != 1 {
			t.Fatalf("purge: %v %v", done, err)
		}
		b := e.login(canopy.RoleLiaison)
		resp, body := b.get("/staff/investigations/" + id)
		mustStatus(t, "purged investigation", resp, body, http.StatusOK)
		for _, want := range []string{"<h1>Purged investigation</h1>", "Retention destroyed this investigation's files and its key on 27 Nov 2026",
			"What remains", "Name destroyed", esc("Retention destroyed every file and the investigation's key"), "The node"} {
			if !strings.Contains(body, want) {
				t.Errorf("purged page lacks %q", want)
			}
		}
		for _, gone := range []string{invTitle, invNote, invFile, "work done", "<form method=\"post\" action=\"/staff/investigations/" + id} {
			if strings.Contains(body, gone) {
				t.Errorf("purged page shows %q", gone)
			}
		}
		resp, body = b.get("/staff/evidence/" + item)
		mustStatus(t, "purged item", resp, body, http.StatusOK)
		file := testPNG(t)
		sum := sha256.Sum256(file)
		for _, want := range []string{hex.EncodeToString(sum[:]), "Acquired", "Destroyed", "Retention"} {
			if !strings.Contains(body, want) {
				t.Errorf("purged item lacks %q", want)
			}
		}
		if strings.Contains(body, invWhy) || strings.Contains(body, "Download the original") {
			t.Error("a purged item shows its reasons or offers its file")
		}
		resp, body = b.post("/staff/investigations/"+id+"/notes", url.Values{"note": {"late"}})
		mustStatus(t, "note on a purged investigation", resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.investigation.destroyed"])) {
			t.Fatalf("note on a purged investigation:\n%s", body)
		}
	})
}

// TestEvidenceTampered: a file changed in storage raises an alarm on
// every access (a check, a download, a handover, a bundle, a preview),
// never a 500 nor a byte of it, and its custody records a mismatch.
func TestEvidenceTampered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, item := testItem(e)
	sealed, err := e.db.Evidence(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.blobs.Delete(ctx, sealed.BlobKey); err != nil {
		t.Fatal(err)
	}
	if _, err := e.blobs.Put(ctx, sealed.BlobKey, bytes.NewReader(bytes.Repeat([]byte("x"), 4096))); err != nil {
		t.Fatal(err)
	}
	b := e.login(canopy.RoleLiaison)
	itemPage := "/staff/evidence/" + item
	for _, c := range []struct {
		name string
		do   func() (*http.Response, string)
	}{
		{"verify", func() (*http.Response, string) { return b.post(itemPage+"/verify", nil) }},
		{"download", func() (*http.Response, string) { return b.post(itemPage+"/file", url.Values{"why": {"copy"}}) }},
		{"handover", func() (*http.Response, string) {
			return b.post("/staff/investigations/"+id+"/transfer", url.Values{"to": {"Parquet"}, "why": {"request"}})
		}},
		{"bundle", func() (*http.Response, string) { return b.post("/staff/investigations/"+id+"/bundle", nil) }},
	} {
		resp, body := c.do()
		mustStatus(t, c.name, resp, body, http.StatusConflict)
		if !strings.Contains(body, esc(investigationMessages["error.evidence.tampered"])) || !strings.Contains(body, `role="alert"`) ||
			resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: no alarm\n%.3000s", c.name, body)
		}
	}
	resp, body := b.get(itemPage + "/preview")
	mustStatus(t, "preview", resp, body, http.StatusConflict)
	_, body = b.get(itemPage)
	if strings.Count(body, "Mismatch") < 3 {
		t.Fatalf("custody does not show the mismatches:\n%s", body)
	}
}

// TestInvestigationWords: every kind of timeline line and custody step
// is worded, and sizes and file names read well.
func TestInvestigationWords(t *testing.T) {
	d := &evidence.Detail{Items: []evidence.Item{{EvidenceItem: canopy.EvidenceItem{ID: "i1", SHA256: strings.Repeat("ab", 32)}, Name: "a.png"}},
		Tasks: []canopy.InvestigationTask{{N: 1, Title: "call"}}}
	for _, kind := range canopy.InvestigationEventKinds {
		d.Timeline = append(d.Timeline, canopy.InvestigationEvent{Kind: kind, Ref: map[string]string{
			canopy.InvestigationTaskDone: "1", canopy.InvestigationAcquired: "i1", canopy.InvestigationTransferred: "i1 i2"}[kind]})
	}
	for _, l := range timelineOf(d) {
		if l.Text == l.Kind || l.Text == "" {
			t.Errorf("%s is not worded", l.Kind)
		}
	}
	lines := timelineOf(d)
	if lines[0].Kind != canopy.InvestigationPurgedEvent {
		t.Error("the timeline is not newest first")
	}
	for _, l := range lines {
		switch l.Kind {
		case canopy.InvestigationTaskDone:
			if l.Text != "Marked task 1, call as done" {
				t.Errorf("task done: %q", l.Text)
			}
		case canopy.InvestigationAcquired:
			if l.Link != "a.png" || l.Href != "/staff/evidence/i1" {
				t.Errorf("acquired: %+v", l)
			}
		case canopy.InvestigationTransferred:
			if l.Text != "Recorded the handover of 2 items" {
				t.Errorf("transferred: %q", l.Text)
			}
		}
	}
	for _, a := range canopy.CustodyActions {
		if _, ok := custodyNames[a]; !ok {
			t.Errorf("custody action %s is not worded", a)
		}
	}
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		5 << 20: "5 MiB", 16 << 30: "16 GiB", 4_000_000_000: "3.7 GiB"} {
		if got := fileSize(n); got != want {
			t.Errorf("fileSize(%d) = %q, want %q", n, got, want)
		}
	}
	for name, want := range map[string]string{"photo.png": "photo.png", "../../etc/passwd": "_.._etc_passwd", `a"b;c.jpg`: "a_b_c.jpg",
		"": "evidence-x", "é.png": "_.png", ".hidden": "hidden"} {
		if got := attachmentName(name, "x"); got != want {
			t.Errorf("attachmentName(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestReportPageInvestigations: a report's page shows the investigations
// it is in and offers the open ones it is not in; adding it from there
// links it and comes back with a notice; an investigation of another
// jurisdiction is neither shown nor reachable; a caseworker sees no such
// section.
func TestReportPageInvestigations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newBareEnv(t, db)
		e.enrolAll()
		ctx := context.Background()
		rep := freshReport(e)
		inv := testInvestigation(e)
		b := e.login(canopy.RoleAnalyst)

		resp, body := b.get("/staff/reports/" + rep)
		mustStatus(t, "report page", resp, body, http.StatusOK)
		if !strings.Contains(body, `id="investigations-title"`) || !strings.Contains(body, "This report is in no investigation you can see") ||
			!strings.Contains(body, `<option value="`+inv+`">`+invTitle+`</option>`) {
			t.Fatalf("the section before the link:\n%s", body)
		}
		resp, body = b.post("/staff/reports/"+rep+"/investigation", url.Values{})
		mustStatus(t, "no investigation chosen", resp, body, http.StatusUnprocessableEntity)
		resp, body = b.post("/staff/reports/"+rep+"/investigation", url.Values{"investigation": {inv}})
		redirectTo(t, "add", resp, body, "/staff/reports/"+rep, "investigation_linked")
		resp, body = b.get("/staff/reports/" + rep + "?done=investigation_linked")
		mustStatus(t, "report page after", resp, body, http.StatusOK)
		if !strings.Contains(body, "The report is added to the investigation") ||
			!strings.Contains(body, `<a href="/staff/investigations/`+inv+`">`+invTitle+`</a>`) || strings.Contains(body, `<option value="`+inv+`"`) {
			t.Fatalf("the section after the link:\n%s", body)
		}
		if d, err := e.srv.evidence.Investigation(ctx, e.analyst(), inv); err != nil || len(d.Reports) != 1 || d.Reports[0].ReportID != rep {
			t.Fatalf("the investigation's reports: %+v %v", d, err)
		}

		// Another jurisdiction's investigation: not offered, not reachable.
		other, err := e.srv.evidence.Open(ctx, e.analyst(), "Operation Gull", "BE")
		if err != nil {
			t.Fatal(err)
		}
		liaison := e.loginAs(e.memberOf(canopy.RoleLiaison, "FR"))
		resp, body = liaison.get("/staff/reports/" + rep)
		mustStatus(t, "the liaison's report page", resp, body, http.StatusOK)
		if strings.Contains(body, "Operation Gull") || !strings.Contains(body, invTitle) {
			t.Fatalf("the liaison's section:\n%s", body)
		}
		resp, body = liaison.post("/staff/reports/"+rep+"/investigation", url.Values{"investigation": {other.ID}})
		mustStatus(t, "another jurisdiction's", resp, body, http.StatusNotFound)
		if strings.Contains(body, "Operation Gull") {
			t.Fatal("the refusal names the investigation")
		}

		cw := e.login(canopy.RoleCaseworker)
		resp, body = cw.get("/staff/reports/" + rep)
		if strings.Contains(body, `id="investigations-title"`) || strings.Contains(body, invTitle) {
			t.Fatalf("a caseworker sees the section: %d\n%s", resp.StatusCode, body)
		}
	})
}
