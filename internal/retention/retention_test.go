package retention_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/clocktest"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/retention"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/triage"
)

var (
	supervisor = &canopy.Account{ID: "su1", Role: canopy.RoleSupervisor}
	caseworker = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}
	admin      = &canopy.Account{ID: "ad1", Role: canopy.RoleAdministrator}
)

// TestPurgeNotIllegal: a report found not illegal is purged once its
// policy's days have passed, and then no path reads its words: not staff
// opening it, not the reporter's follow-up, not a new message; its status
// and timeline stay. A report linked to a support case under a legal
// hold, one still within its days and one still open are kept. Each
// purge is audited without content.
func TestPurgeNotIllegal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		master := make([]byte, seal.KeySize)
		rand.Read(master)
		keys, err := seal.New(master)
		if err != nil {
			t.Fatal(err)
		}
		c := clocktest.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
		log := audittest.Open(t, db)
		log.Now = c.Now
		in := &intake.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		tr := &triage.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		sup := &support.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		ret := &retention.Service{DB: db, Audit: log, Now: c.Now}
		report := func(decide bool) (string, string) {
			t.Helper()
			rc, err := in.Submit(ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver, Category: "grooming",
				Description: "words-secret"})
			if err != nil {
				t.Fatal(err)
			}
			if err := in.AddMessage(ctx, rc.Code, "more words-secret"); err != nil {
				t.Fatal(err)
			}
			if decide {
				if err := tr.Assess(ctx, supervisor, rc.ReportID, canopy.Assessment{Category: "grooming", Outcome: canopy.OutcomeNoFurtherAction,
					Reasons: "not illegal"}); err != nil {
					t.Fatal(err)
				}
			}
			return rc.ReportID, rc.Code
		}
		purged, receipt := report(true)
		held, _ := report(true)
		open, _ := report(false)
		cs, err := sup.OpenCase(ctx, caseworker, support.NewCase{Profile: support.Profile{Alias: "A", AgeBand: "11-13"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sup.GiveConsent(ctx, caseworker, cs.ID, support.NewConsent{Purpose: canopy.PurposeInvestigation,
			GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal}); err != nil {
			t.Fatal(err)
		}
		if err := sup.LinkReport(ctx, caseworker, cs.ID, held); err != nil {
			t.Fatal(err)
		}
		if err := sup.PlaceHold(ctx, admin, cs.ID, "court order"); err != nil {
			t.Fatal(err)
		}

		if err := ret.SetPolicy(ctx, audit.System, "forever", 3); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("a policy of no known kind: %v", err)
		}
		if err := ret.SetPolicy(ctx, audit.System, canopy.RetentionReportNotIllegal, 0); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("a policy of no days: %v", err)
		}
		if n, err := ret.Purge(ctx); err != nil || len(n) != 0 {
			t.Fatalf("a purge with no policy: %v %v", n, err)
		}
		if err := ret.SetPolicy(ctx, audit.System, canopy.RetentionReportNotIllegal, 30); err != nil {
			t.Fatal(err)
		}
		c.Add(29 * 24 * time.Hour)
		recent, _ := report(true) // decided now: within its days
		if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionReportNotIllegal] != 0 {
			t.Fatalf("a purge before the days passed: %v %v", n, err)
		}
		c.Add(2 * 24 * time.Hour)
		n, err := ret.Purge(ctx)
		if err != nil || n[canopy.RetentionReportNotIllegal] != 1 {
			t.Fatalf("purged %v: %v", n, err)
		}

		// No path reads the purged report's words.
		opened, err := tr.Open(ctx, supervisor, purged)
		if err != nil || opened.Content.Description != "" || len(opened.Messages) != 0 {
			t.Fatalf("staff opening a purged report: %+v %v", opened, err)
		}
		f, err := in.Followup(ctx, receipt)
		if err != nil || f.Status != canopy.StatusNoFurtherAction {
			t.Fatalf("the reporter's follow-up: %+v %v", f, err)
		}
		for _, m := range f.Messages {
			if strings.Contains(m.Body, "secret") {
				t.Errorf("the follow-up shows %q", m.Body)
			}
		}
		if err := in.AddMessage(ctx, receipt, "again"); canopy.AsError(err).Key != intake.KeyErased {
			t.Errorf("a message to a purged report: %v", err)
		}
		for _, kept := range []string{held, open, recent} {
			o, err := tr.Open(ctx, supervisor, kept)
			if err != nil || o.Content.Description != "words-secret" {
				t.Errorf("%s was purged: %+v %v", kept, o, err)
			}
		}
		if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionReportNotIllegal] != 0 {
			t.Fatalf("a second purge: %v %v", n, err)
		}
		es, err := log.Entries(ctx, 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		purges := 0
		for _, e := range es {
			if e.Action == audit.ActionRetentionPurge {
				purges++
				if e.ID != purged || e.Details["kind"] != canopy.RetentionReportNotIllegal {
					t.Errorf("purge audited as %+v", e)
				}
			}
		}
		if purges != 1 {
			t.Errorf("%d purges audited, want 1", purges)
		}
	})
}

// TestPurgeClosedCases: a support case closed longer ago than its
// policy's days is deleted (its key destroyed), unless a legal hold
// stands; open cases and recently closed ones stay.
func TestPurgeClosedCases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		master := make([]byte, seal.KeySize)
		rand.Read(master)
		keys, err := seal.New(master)
		if err != nil {
			t.Fatal(err)
		}
		c := clocktest.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
		log := audittest.Open(t, db)
		log.Now = c.Now
		sup := &support.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
		ret := &retention.Service{DB: db, Audit: log, Now: c.Now, Cases: sup}
		open := func(close bool) string {
			t.Helper()
			cs, err := sup.OpenCase(ctx, caseworker, support.NewCase{Profile: support.Profile{Alias: "A", AgeBand: "11-13"},
				Details: canopy.CaseDetails{Name: "A name-secret"}})
			if err != nil {
				t.Fatal(err)
			}
			if close {
				if err := sup.Close(ctx, caseworker, cs.ID, canopy.CaseClosedSupported); err != nil {
					t.Fatal(err)
				}
			}
			return cs.ID
		}
		old, held, stillOpen := open(true), open(true), open(false)
		if err := sup.PlaceHold(ctx, admin, held, "court order"); err != nil {
			t.Fatal(err)
		}
		if err := ret.SetPolicy(ctx, audit.System, canopy.RetentionSupportCase, 365); err != nil {
			t.Fatal(err)
		}
		c.Add(366 * 24 * time.Hour)
		recent := open(true)
		n, err := ret.Purge(ctx)
		if err != nil || n[canopy.RetentionSupportCase] != 1 {
			t.Fatalf("purged %v: %v", n, err)
		}
		f, err := sup.Case(ctx, caseworker, old)
		if err != nil || !f.Case.IsDeleted() || f.Case.Alias != "" {
			t.Fatalf("the old case: %+v %v", f, err)
		}
		if _, err := sup.Details(ctx, caseworker, old); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Errorf("a purged case's details: %v", err)
		}
		for _, id := range []string{held, stillOpen, recent} {
			if d, err := sup.Details(ctx, caseworker, id); err != nil || d.Name != "A name-secret" {
				t.Errorf("case %s was purged: %+v %v", id, d, err)
			}
		}
	})
}

var liaison = &canopy.Account{ID: "li1", Role: canopy.RoleLiaison}

// openDB returns a migrated database of the dialect, and its DSN.
func openDB(t *testing.T, dialect string) (*store.DB, string) {
	t.Helper()
	dsn := storetest.NewDSN(t, dialect)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, dsn
}

// TestPurgeEvidence: an investigation closed longer ago than the
// evidence policy's days is purged: its files destroyed (each destruction
// in its custody, by the node, and audited), its bytes deleted and its key
// gone, and the purge audited without content. One closed more recently,
// one still open, one reopened and one under a legal hold are kept until
// the hold is lifted. A report linked to an investigation outlives its
// not-illegal policy. After the purge no path reads a word of it: every
// reading and every change fails, the investigation opens with every word
// "", and no file of the node and no row of the database holds a word or
// a byte of it in the clear.
func TestPurgeEvidence(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			testPurgeEvidence(t, dialect)
		})
	}
}

func testPurgeEvidence(t *testing.T, dialect string) {
	ctx := context.Background()
	db, dsn := openDB(t, dialect)
	master := make([]byte, seal.KeySize)
	rand.Read(master)
	keys, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	log := audittest.Open(t, db)
	log.Now = c.Now
	blobDir := t.TempDir()
	blobs, err := blob.OpenDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	ev := &evidence.Service{DB: db, Keys: keys, Audit: log, Blobs: blobs, Now: c.Now}
	in := &intake.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
	tr := &triage.Service{DB: db, Keys: keys, Audit: log, Now: c.Now}
	ret := &retention.Service{DB: db, Audit: log, Now: c.Now, Evidence: ev}
	node, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "hotline-fr")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	var mb [6]byte
	rand.Read(mb[:])
	marker := "Zq" + hex.EncodeToString(mb[:])
	words := map[string]string{
		"title": "Operation " + marker + "T", "note": "a note " + marker + "N", "task": "a task " + marker + "K",
		"file name": "photo " + marker + "F.png", "other file name": "chat " + marker + "G.txt", "acquisition": "seized " + marker + "A",
		"viewing": "for the prosecutor " + marker + "V", "recipient": "Europol " + marker + "O", "transfer": "joint analysis " + marker + "W",
		"hold": "order " + marker + "H", "lifting": "order lifted " + marker + "L", "closing": "charged " + marker + "C",
		"reveal": "compare " + marker + "R",
	}
	chatBytes := []byte("the chat log " + marker + "B, every line of it")

	open := func(title string) string {
		t.Helper()
		inv, err := ev.Open(ctx, liaison, title, "")
		must(err)
		return inv.ID
	}
	acquire := func(inv, name string, file []byte, why string) *evidence.Item {
		t.Helper()
		it, err := ev.Acquire(ctx, liaison, inv, name, bytes.NewReader(file), why)
		must(err)
		return it
	}
	png := pngBytes(t)

	// The investigation to purge, with a word in every place one goes.
	purged := open(words["title"])
	must(ev.AddNote(ctx, liaison, purged, words["note"]))
	_, err = ev.AddTask(ctx, liaison, purged, words["task"], "", time.Time{})
	must(err)
	photo := acquire(purged, words["file name"], png, words["acquisition"])
	chat := acquire(purged, words["other file name"], chatBytes, words["acquisition"])
	must(ev.Read(ctx, liaison, chat.ID, words["viewing"], io.Discard))
	_, err = ev.Reveal(ctx, liaison, photo.ID, words["reveal"])
	must(err)
	must(ev.Transfer(ctx, liaison, purged, nil, words["recipient"], words["transfer"]))
	must(ev.PlaceHold(ctx, supervisor, purged, words["hold"]))
	must(ev.LiftHold(ctx, supervisor, purged, words["lifting"]))
	must(ev.Close(ctx, liaison, purged, words["closing"]))

	stillOpen := open("still open")
	held := open("held")
	reopened := open("reopened")
	kept := map[string]*evidence.Item{}
	for _, id := range []string{stillOpen, held, reopened} {
		kept[id] = acquire(id, "kept.png", png, "seized")
	}
	must(ev.Close(ctx, liaison, held, "charged"))
	must(ev.PlaceHold(ctx, liaison, held, "order"))
	must(ev.Close(ctx, liaison, reopened, "charged"))

	// Reports found not illegal: one linked to an investigation, one not.
	report := func() string {
		t.Helper()
		rc, err := in.Submit(ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver, Category: "grooming",
			Description: "words-secret"})
		must(err)
		must(tr.Assess(ctx, supervisor, rc.ReportID, canopy.Assessment{Category: "grooming", Outcome: canopy.OutcomeNoFurtherAction,
			Reasons: "not illegal"}))
		return rc.ReportID
	}
	linked, unlinked, linkedHeld := report(), report(), report()
	must(ev.LinkReport(ctx, liaison, stillOpen, linked))
	must(ev.LinkReport(ctx, liaison, held, linkedHeld))

	must(ret.SetPolicy(ctx, audit.System, canopy.RetentionEvidence, 30))
	must(ret.SetPolicy(ctx, audit.System, canopy.RetentionReportNotIllegal, 30))
	c.Add(24 * time.Hour)
	must(ev.Reopen(ctx, liaison, reopened, "new lead"))
	c.Add(24 * time.Hour)
	recent := open("recent")
	kept[recent] = acquire(recent, "kept.png", png, "seized")
	must(ev.Close(ctx, liaison, recent, "charged")) // 29 days before the purge below

	sealed, err := db.Investigation(ctx, purged)
	must(err)
	wrapped := sealed.WrappedKey
	lines := len(timeline(t, db, purged))

	c.Add(29 * 24 * time.Hour) // 31 days after the first closings
	n, err := ret.Purge(ctx)
	if err != nil || n[canopy.RetentionEvidence] != 1 || n[canopy.RetentionReportNotIllegal] != 1 {
		t.Fatalf("purged %v: %v", n, err)
	}
	now := c.Now()

	// Audited: the purge by id and kind, each file's destruction by the
	// node.
	es, err := log.Entries(ctx, 0, 100_000)
	must(err)
	var purges []string
	destroyed := map[string]bool{}
	for _, e := range es {
		switch {
		case e.Action == audit.ActionRetentionPurge && e.Kind == audit.KindInvestigation:
			purges = append(purges, e.ID)
			if e.Actor != audit.System || e.Details["kind"] != canopy.RetentionEvidence || e.Details["days"] != "30" || len(e.Details) != 2 {
				t.Errorf("the purge audited as %+v", e)
			}
		case e.Action == audit.ActionEvidenceCustody && e.Details["action"] == canopy.CustodyDestroyed:
			destroyed[e.ID] = true
			if e.Actor != audit.System || e.Details["investigation"] != purged || e.Details["by"] != "retention" || e.Details["sha256"] == "" {
				t.Errorf("a destruction audited as %+v", e)
			}
		}
	}
	if len(purges) != 1 || purges[0] != purged || len(destroyed) != 2 || !destroyed[photo.ID] || !destroyed[chat.ID] {
		t.Errorf("purges audited %v, destructions %v", purges, destroyed)
	}

	// No path reads it, and none changes it.
	bundleDir := func() string { return filepath.Join(t.TempDir(), "bundle") }
	for _, p := range []struct {
		name string
		do   func() error
	}{
		{"read", func() error { return ev.Read(ctx, liaison, photo.ID, "again", io.Discard) }},
		{"verify", func() error { return ev.Verify(ctx, liaison, chat.ID) }},
		{"preview", func() error { _, err := ev.Preview(ctx, liaison, photo.ID, io.Discard); return err }},
		{"reveal", func() error { _, err := ev.Reveal(ctx, liaison, photo.ID, "again"); return err }},
		{"items", func() error { _, err := ev.Items(ctx, liaison, purged); return err }},
		{"export", func() error { return ev.Export(ctx, liaison, purged, bundleDir(), "hotline-fr", node) }},
		{"export as the node", func() error { return ev.ExportAsNode(ctx, purged, bundleDir(), "hotline-fr", node) }},
		{"transfer", func() error { return ev.Transfer(ctx, liaison, purged, nil, "Europol", "again") }},
		{"transfer an item", func() error { return ev.Transfer(ctx, liaison, purged, []string{photo.ID}, "Europol", "again") }},
		{"note", func() error { return ev.AddNote(ctx, liaison, purged, "again") }},
		{"task", func() error { _, err := ev.AddTask(ctx, liaison, purged, "again", "", time.Time{}); return err }},
		{"task done", func() error { return ev.SetTaskDone(ctx, liaison, purged, 1, true) }},
		{"link", func() error { return ev.LinkReport(ctx, liaison, purged, unlinked) }},
		{"reopen", func() error { return ev.Reopen(ctx, liaison, purged, "again") }},
		{"hold", func() error { return ev.PlaceHold(ctx, liaison, purged, "again") }},
		{"acquire", func() error {
			_, err := ev.Acquire(ctx, liaison, purged, "more.txt", strings.NewReader("more"), "seized")
			return err
		}},
		{"destroy", func() error { return ev.Destroy(ctx, liaison, chat.ID, "again") }},
	} {
		want := "error.investigation.destroyed"
		if p.name == "acquire" {
			want = "error.investigation.closed"
		}
		if err := p.do(); canopy.ErrorCode(err) != canopy.ECONFLICT || canopy.AsError(err).Key != want {
			t.Errorf("%s after the purge: %v, want %s", p.name, err, want)
		}
	}
	if got := len(timeline(t, db, purged)); got != lines+1 {
		t.Errorf("%d lines on the timeline after the purge, want %d and the purge", got, lines)
	}

	// It opens with every word "", its codes, hashes and custody kept.
	d, err := ev.Investigation(ctx, liaison, purged)
	must(err)
	if d.Title != "" || !d.Purged.Equal(now.Truncate(time.Microsecond)) || d.Status != canopy.InvestigationClosed || len(d.Items) != 2 ||
		len(d.Tasks) != 1 || d.Tasks[0].Title != "" {
		t.Errorf("purged investigation %+v %q, tasks %+v", d.Investigation, d.Title, d.Tasks)
	}
	for _, it := range d.Items {
		last := it.Custody[len(it.Custody)-1]
		if it.Name != "" || it.Destroyed.IsZero() || it.SHA256 == "" || len(it.Custody) < 3 || last.Action != canopy.CustodyDestroyed ||
			last.Actor != "system" {
			t.Errorf("purged item %+v", it)
		}
		for _, c := range it.Custody {
			if c.Why != "" {
				t.Errorf("%s: custody reason %q", it.ID, c.Why)
			}
		}
	}
	for _, l := range d.Timeline {
		if l.Body != "" {
			t.Errorf("a line of the timeline reads %q", l.Body)
		}
	}
	if last := d.Timeline[len(d.Timeline)-1]; last.Kind != canopy.InvestigationPurgedEvent || last.Actor != "system" {
		t.Errorf("the last line %+v", last)
	}
	rows, total, err := ev.List(ctx, liaison, "", 0, 0)
	if err != nil || total != 5 {
		t.Fatalf("list %+v %d %v", rows, total, err)
	}
	for _, r := range rows {
		if r.ID == purged && (r.Title != "" || r.Items != 0) || r.ID != purged && r.Title == "" {
			t.Errorf("in the list: %+v", r)
		}
	}

	// Its bytes are gone; the others' are kept, and read.
	var files []string
	filepath.WalkDir(blobDir, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			files = append(files, path)
			if strings.Contains(path, purged) || strings.Contains(path, photo.ID) || strings.Contains(path, chat.ID) {
				t.Errorf("%s outlived the purge", path)
			}
		}
		return nil
	})
	if len(files) != len(kept) {
		t.Errorf("blobs left: %v", files)
	}
	for inv, it := range kept {
		if err := ev.Read(ctx, liaison, it.ID, "still here", io.Discard); err != nil {
			t.Errorf("%s: %v", inv, err)
		}
		if d, err := ev.Investigation(ctx, liaison, inv); err != nil || d.Title == "" || !d.Purged.IsZero() {
			t.Errorf("%s: %+v %v", inv, d, err)
		}
	}
	if o, err := tr.Open(ctx, supervisor, linked); err != nil || o.Content.Description != "words-secret" {
		t.Errorf("a report linked to an investigation was purged: %+v %v", o, err)
	}
	if o, err := tr.Open(ctx, supervisor, unlinked); err != nil || o.Content.Description != "" {
		t.Errorf("a report linked to nothing was kept: %+v %v", o, err)
	}

	// Lifting the hold lets the next purge take it.
	if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionEvidence] != 0 {
		t.Fatalf("a purge with nothing new: %v %v", n, err)
	}
	must(ev.LiftHold(ctx, liaison, held, "order lifted"))
	if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionEvidence] != 1 {
		t.Fatalf("a purge after lifting the hold: %v %v", n, err)
	}
	if err := ev.Read(ctx, liaison, kept[held].ID, "again", io.Discard); err == nil {
		t.Error("the investigation held before was not purged")
	}
	// Its report was kept while it stood; once it is purged, the report
	// goes by its own policy on the next run.
	if o, err := tr.Open(ctx, supervisor, linkedHeld); err != nil || o.Content.Description != "words-secret" {
		t.Errorf("a report linked to a held investigation was purged: %+v %v", o, err)
	}
	if n, err := ret.Purge(ctx); err != nil || n[canopy.RetentionReportNotIllegal] != 1 {
		t.Fatalf("a purge after the investigation's: %v %v", n, err)
	}
	if o, err := tr.Open(ctx, supervisor, linkedHeld); err != nil || o.Content.Description != "" {
		t.Errorf("a report linked only to a purged investigation was kept: %+v %v", o, err)
	}
	delete(kept, held)
	for inv, it := range kept {
		if err := ev.Verify(ctx, liaison, it.ID); err != nil {
			t.Errorf("%s: %v", inv, err)
		}
	}

	// Nothing the node keeps holds a word or a byte of it in the clear,
	// nor, once the database is closed, its key.
	needles := map[string][]byte{"the file's bytes": chatBytes}
	for what, w := range words {
		needles[what] = []byte(w)
		needles[what+" (lower case)"] = []byte(strings.ToLower(w))
	}
	root := filepath.Dir(blobDir)
	search := func(needles map[string][]byte) {
		t.Helper()
		nfiles := 0
		filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			nfiles++
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for what, n := range needles {
				if bytes.Contains(b, n) {
					t.Errorf("%s found in %s", what, path)
				}
			}
			return nil
		})
		if nfiles < 3 {
			t.Errorf("searched only %d files under %s", nfiles, root)
		}
	}
	// The purge checkpoints SQLite's log, so the destroyed key is in no
	// file even while the database is open.
	needles["the key"] = wrapped
	search(needles)
	if dialect == store.Postgres {
		pg, err := sql.Open("pgx", dsn)
		must(err)
		defer pg.Close()
		q, err := pg.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
		must(err)
		var tables []string
		for q.Next() {
			var name string
			must(q.Scan(&name))
			tables = append(tables, name)
		}
		q.Close()
		if !slices.Contains(tables, "investigation_events") || !slices.Contains(tables, "custody") {
			t.Fatalf("tables %v", tables)
		}
		for _, table := range tables {
			var dump []byte
			must(pg.QueryRow(`SELECT coalesce(string_agg(t::text, E'\n'), '') FROM ` + table + ` t`).Scan(&dump))
			// bytea columns print as hex in text form; search both.
			for what, n := range needles {
				if bytes.Contains(dump, n) || bytes.Contains(dump, []byte(hex.EncodeToString(n))) {
					t.Errorf("%s found in table %s", what, table)
				}
			}
		}
	}
	// Nor after a clean stop, which folds the log in.
	log.Close()
	db.Close()
	search(needles)
}

func timeline(t *testing.T, db *store.DB, inv string) []store.SealedInvestigationEvent {
	t.Helper()
	es, err := db.InvestigationEvents(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for y := range 32 {
		for x := range 32 {
			img.SetGray(x, y, color.Gray{Y: uint8(x*8 + y)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
