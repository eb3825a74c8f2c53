package evidence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/clocktest"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var (
	analyst    = &canopy.Account{ID: "an1", Role: canopy.RoleAnalyst}
	supervisor = &canopy.Account{ID: "su1", Role: canopy.RoleSupervisor}
	auditor    = &canopy.Account{ID: "au1", Role: canopy.RoleAuditor}
)

// work is an evidence service on a clock the test moves, with staff
// accounts to assign tasks to and reports to link.
type work struct {
	*env
	db    *store.DB
	clock *clocktest.Clock
}

func newWork(t *testing.T, db *store.DB) *work {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, db)
	c := clocktest.New(time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC))
	e.svc.Now, e.log.Now = c.Now, c.Now
	for _, a := range []canopy.Account{
		{ID: "an1", Role: canopy.RoleAnalyst},
		{ID: "cw1", Role: canopy.RoleCaseworker},
		{ID: "off1", Role: canopy.RoleLiaison, Disabled: true},
		{ID: "lifr", Role: canopy.RoleLiaison, Jurisdictions: []string{"FR"}},
		{ID: "libe", Role: canopy.RoleLiaison, Jurisdictions: []string{"BE"}},
	} {
		a.Email, a.Name, a.Created = a.ID+"@example.org", a.ID, c.Now()
		if err := db.CreateAccount(ctx, &store.StoredAccount{Account: a}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range []struct{ id, country string }{{"rfr1", "FR"}, {"rfr2", "FR"}, {"rbe1", "BE"}} {
		if err := db.CreateReport(ctx, &store.SealedReport{Report: canopy.Report{ID: r.id, Received: c.Now(), Channel: canopy.ChannelPortal,
			Reporter: canopy.ReporterChild, Category: "grooming", ChildCountry: r.country, Language: "fr"},
			Content: []byte{1, byte(i)}, WrappedKey: []byte{2, byte(i)}, ReceiptHash: []byte("receipt-" + r.id)}); err != nil {
			t.Fatal(err)
		}
	}
	return &work{env: e, db: db, clock: c}
}

func (w *work) open(t *testing.T, who *canopy.Account, title, jurisdiction string) string {
	t.Helper()
	inv, err := w.svc.Open(context.Background(), who, title, jurisdiction)
	if err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

func (w *work) acquire(t *testing.T, inv, name string, file []byte) *evidence.Item {
	t.Helper()
	it, err := w.svc.Acquire(context.Background(), frLiaison, inv, name, bytes.NewReader(file), "seized")
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// entries returns the whole audit log.
func (w *work) entries(t *testing.T) []audit.Entry {
	t.Helper()
	es, err := w.log.Entries(context.Background(), 0, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// timeline returns an investigation's timeline as stored, words sealed.
func (w *work) timeline(t *testing.T, inv string) []store.SealedInvestigationEvent {
	t.Helper()
	es, err := w.db.InvestigationEvents(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// custody returns an item's chain of custody with its reasons opened.
func (w *work) custody(t *testing.T, inv, item string) []canopy.CustodyEntry {
	t.Helper()
	items, err := w.svc.Items(context.Background(), liaison, inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.ID == item {
			return it.Custody
		}
	}
	t.Fatalf("no item %s in %s", item, inv)
	return nil
}

// tamper flips one byte of an item's file at rest.
func (w *work) tamper(t *testing.T, item string) { tamperFile(t, w.dir, item) }

// tamperFile flips one byte of an item's file in the blob directory dir.
func tamperFile(t *testing.T, dir, item string) {
	t.Helper()
	var path string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, item) {
			path = p
		}
		return nil
	})
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-40] ^= 1
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func countAudit(es []audit.Entry, action audit.Action, outcome audit.Outcome) int {
	n := 0
	for _, e := range es {
		if e.Action == action && e.Outcome == outcome {
			n++
		}
	}
	return n
}

func signer(t *testing.T) *seal.Identity {
	t.Helper()
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "node.key"), "hotline-fr")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The words of the investigation in TestInvestigationChanges: each holds
// the marker, which the audit log must never hold.
const marker = "Kq7marker"

// TestInvestigationChanges: every change to an investigation is one line
// on its timeline, by whom, when, about what, with its words opened back;
// and one audit entry, by step and ids, never words: no title, note,
// task, file name, reason or recipient reaches the audit log.
func TestInvestigationChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron "+marker, "")
		due := time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)
		var photo, chat string
		node := signer(t)
		steps := []struct {
			name       string
			who        *canopy.Account
			do         func() (ref string, err error)
			kind, body string
			action     audit.Action
			details    map[string]string // the entry's details exactly, or for custody steps, some of them
		}{
			{"acquire", frLiaison, func() (string, error) {
				it, err := w.svc.Acquire(ctx, frLiaison, id, "seized "+marker+".png", bytes.NewReader(pngBytes(t)), "from device 3 "+marker)
				if err != nil {
					return "", err
				}
				photo = it.ID
				return it.ID, nil
			}, canopy.InvestigationAcquired, "", audit.ActionEvidenceCustody, map[string]string{"action": canopy.CustodyAcquired}},
			{"acquire another", frLiaison, func() (string, error) {
				it, err := w.svc.Acquire(ctx, frLiaison, id, "chat "+marker+".txt", strings.NewReader("a chat log "+marker), "from device 4 "+marker)
				if err != nil {
					return "", err
				}
				chat = it.ID
				return it.ID, nil
			}, canopy.InvestigationAcquired, "", audit.ActionEvidenceCustody, map[string]string{"action": canopy.CustodyAcquired}},
			{"note", analyst, func() (string, error) {
				return "", w.svc.AddNote(ctx, analyst, id, "  the note "+marker+"\nsecond line  ")
			},
				canopy.InvestigationNote, "the note " + marker + "\nsecond line", audit.ActionInvestigationChange, map[string]string{"step": "note"}},
			{"task", frLiaison, func() (string, error) {
				n, err := w.svc.AddTask(ctx, frLiaison, id, "ask the platform "+marker, "an1", due)
				return strconv.Itoa(n), err
			}, canopy.InvestigationTaskAdded, "ask the platform " + marker, audit.ActionInvestigationChange, map[string]string{"step": "task"}},
			{"task done", analyst, func() (string, error) { return "1", w.svc.SetTaskDone(ctx, analyst, id, 1, true) },
				canopy.InvestigationTaskDone, "", audit.ActionInvestigationChange, map[string]string{"step": "task_done", "task": "1"}},
			{"task reopened", frLiaison, func() (string, error) { return "1", w.svc.SetTaskDone(ctx, frLiaison, id, 1, false) },
				canopy.InvestigationTaskReopen, "", audit.ActionInvestigationChange, map[string]string{"step": "task_reopened", "task": "1"}},
			{"link", frLiaison, func() (string, error) { return "rfr1", w.svc.LinkReport(ctx, frLiaison, id, " RFR1 ") },
				canopy.InvestigationLinked, "", audit.ActionInvestigationChange, map[string]string{"step": "link", "report": "rfr1"}},
			{"link another", frLiaison, func() (string, error) { return "rfr2", w.svc.LinkReport(ctx, frLiaison, id, "rfr2") },
				canopy.InvestigationLinked, "", audit.ActionInvestigationChange, map[string]string{"step": "link", "report": "rfr2"}},
			{"unlink", frLiaison, func() (string, error) { return "rfr2", w.svc.UnlinkReport(ctx, frLiaison, id, "rfr2") },
				canopy.InvestigationUnlinked, "", audit.ActionInvestigationChange, map[string]string{"step": "unlink", "report": "rfr2"}},
			{"hold", supervisor, func() (string, error) { return "", w.svc.PlaceHold(ctx, supervisor, id, "order 7 "+marker) },
				canopy.InvestigationHoldPlaced, "order 7 " + marker, audit.ActionInvestigationChange, map[string]string{"step": "hold_placed"}},
			{"lift", frLiaison, func() (string, error) { return "", w.svc.LiftHold(ctx, frLiaison, id, "order 8 "+marker) },
				canopy.InvestigationHoldLifted, "order 8 " + marker, audit.ActionInvestigationChange, map[string]string{"step": "hold_lifted"}},
			{"transfer", frLiaison, func() (string, error) {
				return photo + " " + chat, w.svc.Transfer(ctx, frLiaison, id, nil, "Europol "+marker, "analysis "+marker)
			}, canopy.InvestigationTransferred, "to Europol " + marker + ": analysis " + marker, audit.ActionInvestigationChange,
				map[string]string{"step": canopy.InvestigationTransferred, "items": "2"}},
			{"export", frLiaison, func() (string, error) {
				return photo + " " + chat, w.svc.Export(ctx, frLiaison, id, filepath.Join(t.TempDir(), "b"), "hotline-fr", node)
			}, canopy.InvestigationExported, "", audit.ActionEvidenceCustody, map[string]string{"action": canopy.CustodyExported}},
			{"destroy", frLiaison, func() (string, error) { return chat, w.svc.Destroy(ctx, frLiaison, chat, "order 9 "+marker) },
				canopy.InvestigationDestroyed, "order 9 " + marker, audit.ActionEvidenceCustody, map[string]string{"action": canopy.CustodyDestroyed}},
			{"export as the node", nil, func() (string, error) {
				return photo, w.svc.ExportAsNode(ctx, id, filepath.Join(t.TempDir(), "b"), "hotline-fr", node)
			}, canopy.InvestigationExported, "", audit.ActionEvidenceCustody, map[string]string{"action": canopy.CustodyExported}},
			{"close", frLiaison, func() (string, error) { return "", w.svc.Close(ctx, frLiaison, id, "charged "+marker) },
				canopy.InvestigationClosedEvent, "charged " + marker, audit.ActionInvestigationChange, map[string]string{"step": "closed"}},
			{"reopen", analyst, func() (string, error) { return "", w.svc.Reopen(ctx, analyst, id, "new lead "+marker) },
				canopy.InvestigationReopened, "new lead " + marker, audit.ActionInvestigationChange, map[string]string{"step": "reopened"}},
		}
		for _, s := range steps {
			w.clock.Add(time.Minute)
			before, auditsBefore := len(w.timeline(t, id)), len(w.entries(t))
			ref, err := s.do()
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			actor, by := "system", audit.System
			if s.who != nil {
				actor, by = s.who.ID, audit.Staff(s.who.ID)
			}
			d, err := w.svc.Investigation(ctx, liaison, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Timeline) != before+1 {
				t.Fatalf("%s: %d lines on the timeline, want %d", s.name, len(d.Timeline), before+1)
			}
			line := d.Timeline[len(d.Timeline)-1]
			if line.N != before+1 || line.Kind != s.kind || line.Ref != ref || line.Body != s.body || line.Actor != actor ||
				!line.At.Equal(w.clock.Now().Truncate(time.Microsecond)) {
				t.Errorf("%s: line %+v, want kind %s ref %q body %q by %s", s.name, line, s.kind, ref, s.body, actor)
			}
			var got []audit.Entry
			for _, e := range w.entries(t)[auditsBefore:] {
				if e.Action == s.action {
					got = append(got, e)
				}
			}
			switch {
			case len(got) == 0:
				t.Errorf("%s: no %s in the audit log", s.name, s.action)
			case s.action == audit.ActionInvestigationChange:
				e := got[0]
				if len(got) != 1 || e.Kind != audit.KindInvestigation || e.ID != id || e.Actor != by || e.Outcome != audit.OK ||
					!maps.Equal(e.Details, s.details) {
					t.Errorf("%s: audited as %+v, want details %v", s.name, got, s.details)
				}
			default:
				for _, e := range got {
					for k, v := range s.details {
						if e.Details[k] != v || e.Actor != by || e.Kind != audit.KindEvidence || e.Details["investigation"] != id {
							t.Errorf("%s: audited as %+v", s.name, e)
						}
					}
				}
			}
		}

		// The timeline reads back whole, in order; the task is open again
		// and assigned; one report stays linked.
		d, err := w.svc.Investigation(ctx, frLiaison, id)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for i, l := range d.Timeline {
			if l.N != i+1 {
				t.Errorf("line %d numbered %d", i+1, l.N)
			}
			kinds = append(kinds, l.Kind)
		}
		if kinds[0] != canopy.InvestigationOpened || len(kinds) != len(steps)+1 {
			t.Errorf("timeline %v", kinds)
		}
		if d.Title != "Operation Heron "+marker || d.Status != canopy.InvestigationOpen || !d.Closed.IsZero() || d.Held {
			t.Errorf("investigation %+v", d.Investigation)
		}
		if len(d.Tasks) != 1 || d.Tasks[0].Title != "ask the platform "+marker || d.Tasks[0].Assignee != "an1" || !d.Tasks[0].Due.Equal(due) ||
			!d.Tasks[0].Done.IsZero() {
			t.Errorf("tasks %+v", d.Tasks)
		}
		if len(d.Reports) != 1 || d.Reports[0].ReportID != "rfr1" || d.Reports[0].LinkedBy != "lifr" {
			t.Errorf("reports %+v", d.Reports)
		}

		// Not a word in the audit log.
		dump, err := json.Marshal(w.entries(t))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(dump), bytes.ToLower([]byte(marker))) {
			t.Errorf("the audit log holds the words of the investigation:\n%s", dump)
		}
	})
}

// TestInvestigationPermissions: whoever may not work on investigations
// is refused every change and every reading, and the refusal is audited;
// a liaison of another jurisdiction finds nothing there; only a
// supervisor or a liaison places or lifts a legal hold. A refusal writes
// nothing on the timeline.
func TestInvestigationPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		item := w.acquire(t, id, "photo.png", pngBytes(t))
		if _, err := w.svc.AddTask(ctx, frLiaison, id, "a task", "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.LinkReport(ctx, frLiaison, id, "rfr2"); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.PlaceHold(ctx, frLiaison, id, "order"); err != nil {
			t.Fatal(err)
		}
		actions := []struct {
			name string
			perm string
			do   func(who *canopy.Account) error
		}{
			{"list", "investigation.manage", func(who *canopy.Account) error { _, _, err := w.svc.List(ctx, who, "", 0, 0); return err }},
			{"investigation", "investigation.manage", func(who *canopy.Account) error { _, err := w.svc.Investigation(ctx, who, id); return err }},
			{"note", "investigation.manage", func(who *canopy.Account) error { return w.svc.AddNote(ctx, who, id, "a note") }},
			{"task", "investigation.manage", func(who *canopy.Account) error {
				_, err := w.svc.AddTask(ctx, who, id, "a task", "an1", time.Time{})
				return err
			}},
			{"task done", "investigation.manage", func(who *canopy.Account) error { return w.svc.SetTaskDone(ctx, who, id, 1, true) }},
			{"link", "investigation.manage", func(who *canopy.Account) error {
				// A report the member could see: the investigation is what refuses.
				r := "rfr1"
				if who == beLiaison {
					r = "rbe1"
				}
				return w.svc.LinkReport(ctx, who, id, r)
			}},
			{"unlink", "investigation.manage", func(who *canopy.Account) error { return w.svc.UnlinkReport(ctx, who, id, "rfr2") }},
			{"close", "investigation.manage", func(who *canopy.Account) error { return w.svc.Close(ctx, who, id, "done") }},
			{"lift the hold", "investigation.hold", func(who *canopy.Account) error { return w.svc.LiftHold(ctx, who, id, "order") }},
			{"transfer", "investigation.manage", func(who *canopy.Account) error {
				return w.svc.Transfer(ctx, who, id, nil, "Europol", "analysis")
			}},
			{"acquire", "investigation.manage", func(who *canopy.Account) error {
				_, err := w.svc.Acquire(ctx, who, id, "more.txt", strings.NewReader("more"), "seized")
				return err
			}},
			{"preview", "investigation.manage", func(who *canopy.Account) error {
				_, err := w.svc.Preview(ctx, who, item.ID, io.Discard)
				return err
			}},
			{"reveal", "investigation.manage", func(who *canopy.Account) error {
				_, err := w.svc.Reveal(ctx, who, item.ID, "to compare")
				return err
			}},
			{"destroy", "investigation.manage", func(who *canopy.Account) error { return w.svc.Destroy(ctx, who, item.ID, "order") }},
		}
		for _, a := range actions {
			for _, c := range []struct {
				who  *canopy.Account
				code string
				perm string // the permission the audit entry names; "" for the action's
			}{
				// Who may not work on investigations at all is refused
				// that, before any other permission is asked.
				{caseworker, canopy.EFORBIDDEN, "investigation.manage"},
				{auditor, canopy.EFORBIDDEN, "investigation.manage"},
				{beLiaison, canopy.ENOTFOUND, "investigation.manage"},
			} {
				if a.name == "list" && c.who == beLiaison {
					continue // below: the list leaves it out
				}
				lines, es := len(w.timeline(t, id)), w.entries(t)
				err := a.do(c.who)
				if canopy.ErrorCode(err) != c.code {
					t.Errorf("%s by %s: %v, want %s", a.name, c.who.ID, err, c.code)
				}
				// An item outside the member's jurisdictions is not found
				// as an item that does not exist is.
				if key := canopy.AsError(err).Key; c.code == canopy.ENOTFOUND && key != "error.investigation.not_found" &&
					key != "error.evidence.not_found" {
					t.Errorf("%s by %s: %v", a.name, c.who.ID, err)
				}
				after := w.entries(t)
				var denied []audit.Entry
				for _, e := range after[len(es):] {
					if e.Outcome != audit.Denied {
						t.Errorf("%s by %s: audited %+v", a.name, c.who.ID, e)
					}
					denied = append(denied, e)
				}
				perm := c.perm
				if perm == "" {
					perm = a.perm
				}
				if len(denied) != 1 || denied[0].Action != audit.ActionPermissionDenied || denied[0].Actor != audit.Staff(c.who.ID) ||
					denied[0].Details["permission"] != perm {
					t.Errorf("%s by %s: the refusal audited as %+v", a.name, c.who.ID, denied)
				}
				if got := len(w.timeline(t, id)); got != lines {
					t.Errorf("%s by %s: the timeline grew to %d lines", a.name, c.who.ID, got)
				}
			}
		}
		rows, total, err := w.svc.List(ctx, beLiaison, "", 0, 0)
		if err != nil || len(rows) != 0 || total != 0 {
			t.Errorf("a liaison of BE lists %+v (%d) %v", rows, total, err)
		}

		// An analyst works on the investigation but places no hold and
		// lifts none.
		for _, do := range []func() error{
			func() error { return w.svc.LiftHold(ctx, analyst, id, "order") },
			func() error { return w.svc.PlaceHold(ctx, analyst, id, "order") },
		} {
			es := len(w.entries(t))
			if err := do(); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
				t.Errorf("a hold changed by one who may not: %v", err)
			}
			after := w.entries(t)[es:]
			if len(after) != 1 || after[0].Action != audit.ActionPermissionDenied || after[0].Details["permission"] != "investigation.hold" ||
				after[0].ID != id {
				t.Errorf("the refusal audited as %+v", after)
			}
		}
		if err := w.svc.AddNote(ctx, analyst, id, "an analyst's note"); err != nil {
			t.Errorf("an analyst's note: %v", err)
		}
		if err := w.svc.LiftHold(ctx, supervisor, id, "order lifted"); err != nil {
			t.Errorf("a supervisor lifting the hold: %v", err)
		}
		if err := w.svc.PlaceHold(ctx, analyst, id, "order"); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Errorf("an analyst placed a hold: %v", err)
		}
		if err := w.svc.PlaceHold(ctx, beLiaison, id, "order"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("a liaison of BE placed a hold: %v", err)
		}
		if inv, err := db.Investigation(ctx, id); err != nil || inv.Held {
			t.Errorf("after the refusals: %+v %v", inv, err)
		}
	})
}

// TestInvestigationValidation: what staff write is required, bounded and
// free of control characters, field by field; an assignee must be an
// active member who may work on investigations; a report must exist and
// be the member's to see. Nothing refused reaches the timeline or the
// audit log as a change.
func TestInvestigationValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		w.acquire(t, id, "photo.png", pngBytes(t))
		long := func(n int) string { return strings.Repeat("é", n) }
		for _, c := range []struct {
			name       string
			do         func() error
			field, key string
		}{
			{"an empty note", func() error { return w.svc.AddNote(ctx, frLiaison, id, " \n\t ") }, "note", "error.required"},
			{"a long note", func() error { return w.svc.AddNote(ctx, frLiaison, id, long(5001)) }, "note", "error.too_long"},
			{"a note with a control character", func() error { return w.svc.AddNote(ctx, frLiaison, id, "a\x00b") }, "note", "error.control_chars"},
			{"a note with a bidi override", func() error { return w.svc.AddNote(ctx, frLiaison, id, "a\u202eb") }, "note", "error.control_chars"},
			{"a note not in UTF-8", func() error { return w.svc.AddNote(ctx, frLiaison, id, "a\xffb") }, "note", "error.too_long"},
			{"an empty task", func() error { _, err := w.svc.AddTask(ctx, frLiaison, id, "", "", time.Time{}); return err }, "title", "error.required"},
			{"a long task", func() error { _, err := w.svc.AddTask(ctx, frLiaison, id, long(201), "", time.Time{}); return err }, "title", "error.too_long"},
			{"a task with a carriage return", func() error {
				_, err := w.svc.AddTask(ctx, frLiaison, id, "a\rb", "", time.Time{})
				return err
			}, "title", "error.control_chars"},
			{"a task over two lines", func() error {
				_, err := w.svc.AddTask(ctx, frLiaison, id, "first line\nsecond line", "", time.Time{})
				return err
			}, "title", "error.control_chars"},
			{"a transfer to a name over two lines", func() error {
				return w.svc.Transfer(ctx, frLiaison, id, nil, "Parquet\nde Paris", "analysis")
			}, "to", "error.control_chars"},
			{"a file name over two lines", func() error {
				_, err := w.svc.Acquire(ctx, frLiaison, id, "photo\n.png", strings.NewReader("x"), "seized")
				return err
			}, "name", "error.control_chars"},
			{"a task for nobody known", func() error {
				_, err := w.svc.AddTask(ctx, frLiaison, id, "a task", "ghost", time.Time{})
				return err
			}, "assignee", "error.investigation.assignee"},
			{"a task for a caseworker", func() error {
				_, err := w.svc.AddTask(ctx, frLiaison, id, "a task", "cw1", time.Time{})
				return err
			}, "assignee", "error.investigation.assignee"},
			{"a task for a member of another jurisdiction", func() error {
				_, err := w.svc.AddTask(ctx, frLiaison, id, "a task", "libe", time.Time{})
				return err
			}, "assignee", "error.investigation.assignee"},
			{"a task for a disabled account", func() error {
				_, err := w.svc.AddTask(ctx, frLiaison, id, "a task", "off1", time.Time{})
				return err
			}, "assignee", "error.investigation.assignee"},
			{"a closing without a reason", func() error { return w.svc.Close(ctx, frLiaison, id, "") }, "why", "error.required"},
			{"a reopening with a long reason", func() error { return w.svc.Reopen(ctx, frLiaison, id, long(2001)) }, "why", "error.too_long"},
			{"a hold without a reason", func() error { return w.svc.PlaceHold(ctx, frLiaison, id, "  ") }, "why", "error.required"},
			{"a lifting with a control character", func() error { return w.svc.LiftHold(ctx, frLiaison, id, "a\x1bb") }, "why", "error.control_chars"},
			{"a transfer to nobody", func() error { return w.svc.Transfer(ctx, frLiaison, id, nil, "", "analysis") }, "to", "error.required"},
			{"a transfer to a long name", func() error { return w.svc.Transfer(ctx, frLiaison, id, nil, long(201), "analysis") }, "to", "error.too_long"},
			{"a transfer without a reason", func() error { return w.svc.Transfer(ctx, frLiaison, id, nil, "Europol", "") }, "why", "error.required"},
			{"a transfer of no such item", func() error {
				return w.svc.Transfer(ctx, frLiaison, id, []string{"nope"}, "Europol", "analysis")
			}, "items", "error.evidence.not_found"},
			{"a link without a report", func() error { return w.svc.LinkReport(ctx, frLiaison, id, " ") }, "report", "error.required"},
			{"a link to no such report", func() error { return w.svc.LinkReport(ctx, frLiaison, id, "nope") }, "report", "error.report.not_found"},
			{"a link to a report of BE", func() error { return w.svc.LinkReport(ctx, frLiaison, id, "rbe1") }, "report", "error.report.not_found"},
			{"a list of no known status", func() error { _, _, err := w.svc.List(ctx, frLiaison, "pending", 0, 0); return err }, "status", "error.unknown_code"},
		} {
			lines, es := len(w.timeline(t, id)), w.entries(t)
			err := c.do()
			e := canopy.AsError(err)
			if e.Code != canopy.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != c.field || e.Fields[0].Key != c.key {
				t.Errorf("%s: %v %+v, want %s %s", c.name, err, e.Fields, c.field, c.key)
			}
			if got := len(w.timeline(t, id)); got != lines {
				t.Errorf("%s: the timeline grew", c.name)
			}
			if n := countAudit(w.entries(t), audit.ActionInvestigationChange, audit.OK); n != countAudit(es, audit.ActionInvestigationChange, audit.OK) {
				t.Errorf("%s: audited as a change", c.name)
			}
		}
		for _, c := range []struct {
			name string
			do   func() error
			key  string
		}{
			{"unlinking a report not linked", func() error { return w.svc.UnlinkReport(ctx, frLiaison, id, "rfr1") }, "error.report.not_found"},
			{"a task that is not there", func() error { return w.svc.SetTaskDone(ctx, frLiaison, id, 9, true) }, "error.investigation.task_not_found"},
			{"no such investigation", func() error { return w.svc.AddNote(ctx, frLiaison, "nope", "a note") }, "error.investigation.not_found"},
		} {
			if err := c.do(); canopy.ErrorCode(err) != canopy.ENOTFOUND || canopy.AsError(err).Key != c.key {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		// Valid after all: a line feed in a note, a note of the longest
		// length, an analyst as assignee, a task with no assignee.
		for _, note := range []string{"one\ntwo", long(5000)} {
			if err := w.svc.AddNote(ctx, frLiaison, id, note); err != nil {
				t.Error(err)
			}
		}
		for _, a := range []string{"an1", " lifr ", ""} {
			if _, err := w.svc.AddTask(ctx, frLiaison, id, "a task", a, time.Time{}); err != nil {
				t.Errorf("a task for %q: %v", a, err)
			}
		}
	})
}

// TestInvestigationConflicts: what is already so is refused (closing or
// reopening twice, a second hold, lifting none), a closed investigation
// takes no new evidence, and a legal hold stops destruction (the refusal
// audited) until it is lifted. Doing again what is done (a task, a link)
// changes nothing and writes no line.
func TestInvestigationConflicts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		file := pngBytes(t)
		item := w.acquire(t, id, "photo.png", file)
		conflict := func(name string, err error, key string) {
			t.Helper()
			if canopy.ErrorCode(err) != canopy.ECONFLICT || canopy.AsError(err).Key != key {
				t.Errorf("%s: %v, want %s", name, err, key)
			}
		}
		conflict("reopening an open investigation", w.svc.Reopen(ctx, frLiaison, id, "again"), "error.investigation.open_already")
		conflict("lifting no hold", w.svc.LiftHold(ctx, frLiaison, id, "order"), "error.investigation.not_held")
		if err := w.svc.Close(ctx, frLiaison, id, "charged"); err != nil {
			t.Fatal(err)
		}
		inv, err := db.Investigation(ctx, id)
		if err != nil || inv.Status != canopy.InvestigationClosed || !inv.Closed.Equal(w.clock.Now().Truncate(time.Microsecond)) || inv.ClosedBy != "lifr" {
			t.Fatalf("closed %+v %v", inv, err)
		}
		conflict("closing twice", w.svc.Close(ctx, frLiaison, id, "charged again"), "error.investigation.closed_already")
		_, err = w.svc.Acquire(ctx, frLiaison, id, "late.txt", strings.NewReader("late"), "seized")
		conflict("acquiring into a closed investigation", err, "error.investigation.closed")
		if items, err := db.InvestigationEvidence(ctx, id); err != nil || len(items) != 1 {
			t.Errorf("items %+v %v", items, err)
		}

		if err := w.svc.PlaceHold(ctx, frLiaison, id, "order 1"); err != nil {
			t.Fatal(err)
		}
		inv, err = db.Investigation(ctx, id)
		if err != nil || !inv.Held || inv.HeldBy != "lifr" || inv.HeldSince.IsZero() {
			t.Fatalf("held %+v %v", inv, err)
		}
		conflict("a second hold", w.svc.PlaceHold(ctx, supervisor, id, "order 2"), "error.investigation.held_already")

		before := len(w.custody(t, id, item.ID))
		es := len(w.entries(t))
		conflict("destroying under a hold", w.svc.Destroy(ctx, frLiaison, item.ID, "order 3"), "error.investigation.held")
		var denied []audit.Entry
		for _, e := range w.entries(t)[es:] {
			if e.Action == audit.ActionEvidenceCustody {
				denied = append(denied, e)
			}
		}
		if len(denied) != 1 || denied[0].Outcome != audit.Denied || denied[0].ID != item.ID || denied[0].Details["action"] != canopy.CustodyDestroyed ||
			denied[0].Details["reason"] != "legal_hold" || denied[0].Actor != audit.Staff("lifr") {
			t.Errorf("the refused destruction audited as %+v", denied)
		}
		if got := w.custody(t, id, item.ID); len(got) != before {
			t.Errorf("custody after a refused destruction: %+v", got)
		}
		var got bytes.Buffer
		if err := w.svc.Read(ctx, frLiaison, item.ID, "still there", &got); err != nil || !bytes.Equal(got.Bytes(), file) {
			t.Fatalf("read under the hold: %v", err)
		}
		if err := w.svc.LiftHold(ctx, frLiaison, id, "order 4"); err != nil {
			t.Fatal(err)
		}
		if inv, err := db.Investigation(ctx, id); err != nil || inv.Held || !inv.HeldSince.IsZero() || inv.HeldBy != "" {
			t.Fatalf("lifted %+v %v", inv, err)
		}
		if err := w.svc.Destroy(ctx, frLiaison, item.ID, "order 5"); err != nil {
			t.Fatalf("destroying once the hold is lifted: %v", err)
		}
		conflict("destroying twice", w.svc.Destroy(ctx, frLiaison, item.ID, "order 6"), "error.evidence.destroyed")

		// Reopened, it takes evidence again; doing what is done again
		// changes nothing.
		if err := w.svc.Reopen(ctx, frLiaison, id, "new lead"); err != nil {
			t.Fatal(err)
		}
		if inv, err := db.Investigation(ctx, id); err != nil || inv.Status != canopy.InvestigationOpen || !inv.Closed.IsZero() || inv.ClosedBy != "" {
			t.Fatalf("reopened %+v %v", inv, err)
		}
		w.acquire(t, id, "late.txt", []byte("late"))
		if _, err := w.svc.AddTask(ctx, frLiaison, id, "a task", "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		changes := func() int { return countAudit(w.entries(t), audit.ActionInvestigationChange, audit.OK) }
		for i := range 2 {
			before := changes()
			if err := w.svc.SetTaskDone(ctx, frLiaison, id, 1, true); err != nil {
				t.Fatal(err)
			}
			if err := w.svc.LinkReport(ctx, frLiaison, id, "rfr1"); err != nil {
				t.Fatal(err)
			}
			if want := before + 2*(1-i); changes() != want { // the second time, nothing changed
				t.Errorf("round %d: %d changes audited, want %d", i+1, changes(), want)
			}
		}
		for range 2 {
			if err := w.svc.SetTaskDone(ctx, frLiaison, id, 1, false); err != nil {
				t.Fatal(err)
			}
		}
		var kinds []string
		for _, l := range w.timeline(t, id)[1:] {
			kinds = append(kinds, l.Kind)
		}
		want := []string{canopy.InvestigationAcquired, canopy.InvestigationClosedEvent, canopy.InvestigationHoldPlaced, canopy.InvestigationHoldLifted,
			canopy.InvestigationDestroyed, canopy.InvestigationReopened, canopy.InvestigationAcquired, canopy.InvestigationTaskAdded,
			canopy.InvestigationTaskDone, canopy.InvestigationLinked, canopy.InvestigationTaskReopen}
		if !slices.Equal(kinds, want) {
			t.Errorf("timeline %v,\nwant %v", kinds, want)
		}
	})
}

// TestTransfer: handing evidence over adds a "transferred" step to each
// item still held (or those named), with to whom and why sealed in it,
// after checking every file; one changed file refuses the whole transfer
// and records nothing.
func TestTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		id := w.open(t, frLiaison, "Operation Heron", "")
		var items []*evidence.Item
		items = append(items, w.acquire(t, id, "photo.png", pngBytes(t)))
		for i := range 4 {
			w.clock.Add(time.Second)
			items = append(items, w.acquire(t, id, "chat"+strconv.Itoa(i)+".txt", []byte("chat log "+strconv.Itoa(i))))
		}
		gone := w.acquire(t, id, "gone.txt", []byte("gone"))
		if err := w.svc.Destroy(ctx, frLiaison, gone.ID, "not relevant"); err != nil {
			t.Fatal(err)
		}
		steps := func(item string) []canopy.CustodyEntry {
			var out []canopy.CustodyEntry
			for _, c := range w.custody(t, id, item) {
				if c.Action == canopy.CustodyTransferred {
					out = append(out, c)
				}
			}
			return out
		}

		w.clock.Add(time.Minute)
		es := len(w.entries(t))
		if err := w.svc.Transfer(ctx, frLiaison, id, nil, " Europol ", "joint analysis"); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID)
			s := steps(it.ID)
			if len(s) != 1 || s[0].Why != "to Europol: joint analysis" || s[0].Actor != "lifr" || s[0].SHA256 != it.SHA256 ||
				!s[0].At.Equal(w.clock.Now().Truncate(time.Microsecond)) {
				t.Errorf("%s: transferred %+v", it.ID, s)
			}
		}
		if s := steps(gone.ID); len(s) != 0 {
			t.Errorf("a destroyed item was transferred: %+v", s)
		}
		tl := w.timeline(t, id)
		if last := tl[len(tl)-1]; last.Kind != canopy.InvestigationTransferred || last.Ref != strings.Join(ids, " ") {
			t.Errorf("the transfer's line %+v", last)
		}
		audited := map[string]bool{}
		for _, e := range w.entries(t)[es:] {
			if e.Action == audit.ActionEvidenceCustody && e.Details["action"] == canopy.CustodyTransferred && e.Details["investigation"] == id {
				audited[e.ID] = true
			}
		}
		if len(audited) != len(items) {
			t.Errorf("transfers audited for %v", audited)
		}

		// Only the items named.
		if err := w.svc.Transfer(ctx, frLiaison, id, []string{items[1].ID}, "the court", "trial"); err != nil {
			t.Fatal(err)
		}
		if s := steps(items[1].ID); len(s) != 2 || s[1].Why != "to the court: trial" {
			t.Errorf("named item: %+v", s)
		}
		if s := steps(items[2].ID); len(s) != 1 {
			t.Errorf("an item not named: %+v", s)
		}
		for _, named := range [][]string{{gone.ID}, {items[1].ID, "nope"}} {
			if err := w.svc.Transfer(ctx, frLiaison, id, named, "the court", "trial"); canopy.ErrorCode(err) != canopy.EINVALID {
				t.Errorf("a transfer of %v: %v", named, err)
			}
		}

		// One file changed at rest: no handover is recorded, only the
		// mismatch found, in that file's custody and the audit log.
		w.tamper(t, items[3].ID)
		lines, es := len(w.timeline(t, id)), len(w.entries(t))
		chains := map[string]int{}
		for _, it := range items {
			chains[it.ID] = len(w.custody(t, id, it.ID))
		}
		err := w.svc.Transfer(ctx, frLiaison, id, nil, "Europol", "again")
		if !errors.Is(err, evidence.ErrTampered) || !strings.Contains(err.Error(), items[3].ID) {
			t.Fatalf("a transfer of a changed file: %v", err)
		}
		if len(w.timeline(t, id)) != lines {
			t.Error("a refused transfer is on the timeline")
		}
		for _, it := range items {
			chain := w.custody(t, id, it.ID)
			want := chains[it.ID]
			if it.ID == items[3].ID {
				want++
				if last := chain[len(chain)-1]; last.Action != canopy.CustodyVerified || last.SHA256 != "mismatch" ||
					last.Why != "check before a handover" {
					t.Errorf("the changed file's last step: %+v", last)
				}
			}
			if len(chain) != want {
				t.Errorf("%s: custody went from %d to %d steps, want %d", it.ID, chains[it.ID], len(chain), want)
			}
		}
		var refused []audit.Entry
		for _, e := range w.entries(t)[es:] {
			if e.Action == audit.ActionEvidenceCustody || e.Action == audit.ActionInvestigationChange {
				refused = append(refused, e)
			}
		}
		if len(refused) != 1 || refused[0].ID != items[3].ID || refused[0].Outcome != audit.Failed ||
			refused[0].Details["action"] != canopy.CustodyVerified || refused[0].Details["sha256"] != "mismatch" {
			t.Errorf("a refused transfer audited as %+v", refused)
		}
		// The items not changed still go.
		if err := w.svc.Transfer(ctx, frLiaison, id, []string{items[0].ID}, "Europol", "again"); err != nil {
			t.Errorf("a transfer of an intact file: %v", err)
		}
	})
}

// TestListAndInvestigation: the list holds the investigations in the
// member's jurisdictions (and those of none), newest first, titles
// opened, with counts and the total, filtered by status and paged; its
// opening is audited. An investigation opens whole: title, reports,
// items with names and custody, tasks and timeline.
func TestListAndInvestigation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		fr := w.open(t, frLiaison, "Heron FR", "")
		w.clock.Add(time.Minute)
		be := w.open(t, beLiaison, "Kestrel BE", "")
		w.clock.Add(time.Minute)
		none := w.open(t, liaison, "Osprey", "")
		w.clock.Add(time.Minute)
		fr2 := w.open(t, liaison, "Harrier FR", "fr")
		photo := w.acquire(t, fr, "photo one.png", pngBytes(t))
		w.clock.Add(time.Second) // items are in the order they came
		gone := w.acquire(t, fr, "gone.txt", []byte("gone"))
		if err := w.svc.Destroy(ctx, frLiaison, gone.ID, "not relevant"); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.LinkReport(ctx, frLiaison, fr, "rfr1"); err != nil {
			t.Fatal(err)
		}
		due := time.Date(2027, 1, 8, 12, 0, 0, 0, time.UTC)
		for _, title := range []string{"ask the platform", "call the prosecutor"} {
			if _, err := w.svc.AddTask(ctx, frLiaison, fr, title, "an1", due); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.svc.SetTaskDone(ctx, frLiaison, fr, 2, true); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.AddNote(ctx, frLiaison, fr, "a note"); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.Close(ctx, liaison, fr2, "charged"); err != nil {
			t.Fatal(err)
		}

		titles := func(rows []evidence.Summary) []string {
			var out []string
			for _, r := range rows {
				out = append(out, r.Title)
			}
			return out
		}
		for _, c := range []struct {
			name          string
			who           *canopy.Account
			status        string
			limit, offset int
			want          []string
			total         int
		}{
			{"everything", liaison, "", 0, 0, []string{"Harrier FR", "Osprey", "Kestrel BE", "Heron FR"}, 4},
			{"FR", frLiaison, "", 0, 0, []string{"Harrier FR", "Osprey", "Heron FR"}, 3},
			{"BE", beLiaison, "", 0, 0, []string{"Osprey", "Kestrel BE"}, 2},
			{"FR, open", frLiaison, canopy.InvestigationOpen, 0, 0, []string{"Osprey", "Heron FR"}, 2},
			{"FR, closed", frLiaison, canopy.InvestigationClosed, 0, 0, []string{"Harrier FR"}, 1},
			{"FR, a page", frLiaison, "", 1, 1, []string{"Osprey"}, 3},
			{"an analyst", analyst, "", 2, 0, []string{"Harrier FR", "Osprey"}, 4},
		} {
			es := len(w.entries(t))
			rows, total, err := w.svc.List(ctx, c.who, c.status, c.limit, c.offset)
			if err != nil || !slices.Equal(titles(rows), c.want) || total != c.total {
				t.Errorf("%s: %v (%d) %v, want %v (%d)", c.name, titles(rows), total, err, c.want, c.total)
			}
			after := w.entries(t)[es:]
			if len(after) != 1 || after[0].Action != audit.ActionInvestigationList || after[0].Actor != audit.Staff(c.who.ID) ||
				after[0].Details["count"] != strconv.Itoa(len(c.want)) {
				t.Errorf("%s: audited as %+v", c.name, after)
			}
		}
		rows, _, err := w.svc.List(ctx, frLiaison, "", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want := [3]int{}
			if r.ID == fr {
				want = [3]int{1, 1, 1}
			}
			if got := [3]int{r.Reports, r.Items, r.OpenTasks}; got != want {
				t.Errorf("%s: counts %v, want %v", r.Title, got, want)
			}
			if r.ID == fr2 && (r.Jurisdiction != "FR" || r.Status != canopy.InvestigationClosed) {
				t.Errorf("%+v", r.Investigation)
			}
			if r.ID == none && r.Jurisdiction != "" || r.ID == be && r.Jurisdiction != "BE" {
				t.Errorf("%+v", r.Investigation)
			}
		}

		es := len(w.entries(t))
		d, err := w.svc.Investigation(ctx, frLiaison, fr)
		if err != nil {
			t.Fatal(err)
		}
		if after := w.entries(t)[es:]; len(after) != 1 || after[0].Action != audit.ActionInvestigationView || after[0].ID != fr {
			t.Errorf("the opening audited as %+v", after)
		}
		if d.Title != "Heron FR" || d.Jurisdiction != "FR" || d.OpenedBy != "lifr" {
			t.Errorf("investigation %+v %q", d.Investigation, d.Title)
		}
		if len(d.Reports) != 1 || d.Reports[0].ReportID != "rfr1" {
			t.Errorf("reports %+v", d.Reports)
		}
		if len(d.Items) != 2 || d.Items[0].ID != photo.ID || d.Items[0].Name != "photo one.png" || d.Items[0].Custody[0].Why != "seized" ||
			d.Items[1].Name != "" || d.Items[1].Destroyed.IsZero() || d.Items[1].Custody[1].Why != "not relevant" {
			t.Errorf("items %+v", d.Items)
		}
		if len(d.Tasks) != 2 || d.Tasks[0].Title != "ask the platform" || d.Tasks[1].Title != "call the prosecutor" || !d.Tasks[0].Done.IsZero() ||
			d.Tasks[1].Done.IsZero() || d.Tasks[1].DoneBy != "lifr" || !d.Tasks[1].Due.Equal(due) || d.Tasks[0].CreatedBy != "lifr" {
			t.Errorf("tasks %+v", d.Tasks)
		}
		var lines []string
		for _, l := range d.Timeline {
			lines = append(lines, l.Kind+":"+l.Body)
		}
		want := []string{"opened:", "evidence_acquired:", "evidence_acquired:", "evidence_destroyed:not relevant", "report_linked:",
			"task_added:ask the platform", "task_added:call the prosecutor", "task_done:", "note:a note"}
		if !slices.Equal(lines, want) {
			t.Errorf("timeline %q,\nwant %q", lines, want)
		}
	})
}

// TestReportInvestigations: a report's page lists the investigations it
// is in that the member may work on, titles opened and the opening
// audited as a list; another jurisdiction's stay out, a purged one has no
// title, and a caseworker is refused.
func TestReportInvestigations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWork(t, db)
		fr := w.open(t, frLiaison, "Operation Heron", "FR")
		all := w.open(t, analyst, "Operation Wren", "")
		be := w.open(t, beLiaison, "Operation Gull", "BE")
		for _, id := range []string{fr, all} {
			if err := w.svc.LinkReport(ctx, analyst, id, "rfr1"); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.svc.LinkReport(ctx, analyst, be, "rfr1"); err != nil {
			t.Fatal(err)
		}
		titles := func(who *canopy.Account) string {
			t.Helper()
			got, err := w.svc.ReportInvestigations(ctx, who, "rfr1")
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range got {
				out = append(out, s.ID+"="+s.Title)
			}
			slices.Sort(out)
			return strings.Join(out, " ")
		}
		want := []string{fr + "=Operation Heron", all + "=Operation Wren", be + "=Operation Gull"}
		slices.Sort(want)
		before := countAudit(w.entries(t), audit.ActionInvestigationList, audit.OK)
		if got := titles(analyst); got != strings.Join(want, " ") {
			t.Errorf("an analyst of every jurisdiction sees %q", got)
		}
		if n := countAudit(w.entries(t), audit.ActionInvestigationList, audit.OK); n != before+1 {
			t.Errorf("%d list entries audited, want one more than %d", n, before)
		}
		want = []string{fr + "=Operation Heron", all + "=Operation Wren"}
		slices.Sort(want)
		if got := titles(frLiaison); got != strings.Join(want, " ") {
			t.Errorf("a liaison of FR sees %q", got)
		}
		if got := titles(frLiaison); strings.Contains(got, "Gull") {
			t.Errorf("another jurisdiction's title shown: %q", got)
		}
		if got, err := w.svc.ReportInvestigations(ctx, analyst, "rfr2"); err != nil || len(got) != 0 {
			t.Errorf("a report in none: %+v %v", got, err)
		}
		if _, err := w.svc.ReportInvestigations(ctx, caseworker, "rfr1"); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Errorf("a caseworker: %v", err)
		}
		if err := w.svc.Close(ctx, analyst, all, "done"); err != nil {
			t.Fatal(err)
		}
		w.clock.Add(48 * time.Hour)
		if _, err := w.svc.PurgeClosed(ctx, w.clock.Now(), 10); err != nil {
			t.Fatal(err)
		}
		if got := titles(frLiaison); !strings.Contains(got, all+"= ") && !strings.HasSuffix(got, all+"=") {
			t.Errorf("a purged investigation is shown as %q", got)
		}
	})
}
