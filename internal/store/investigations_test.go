package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestEvidenceCustody: an item is stored with its acquisition, its chain
// of custody grows in order, and destroying it forgets its name and key
// but keeps its hashes and custody.
func TestEvidenceCustody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		inv := &store.SealedInvestigation{Investigation: canopy.Investigation{ID: "inv1", Status: canopy.InvestigationOpen, Opened: at,
			OpenedBy: "li1"}, Title: []byte("sealed title"), WrappedKey: []byte("wrapped")}
		if err := db.CreateInvestigation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		got, err := db.Investigation(ctx, "inv1")
		if err != nil || string(got.Title) != "sealed title" || string(got.WrappedKey) != "wrapped" || !got.Opened.Equal(at) {
			t.Fatalf("investigation %+v %v", got, err)
		}
		sum := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		e := &store.SealedEvidence{EvidenceItem: canopy.EvidenceItem{ID: "ev1", InvestigationID: "inv1", MediaType: "image/jpeg", Size: 4,
			SHA256: sum, MD5: "098f6bcd4621d373cade4e832627b4f6", Acquired: at, AcquiredBy: "li1"},
			Name: []byte("sealed name"), BlobKey: "evidence/ev1", DataKey: []byte("file key")}
		step := func(action string) *store.SealedCustody {
			at = at.Add(time.Minute)
			return &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: "ev1", Action: action, At: at, Actor: "li1", SHA256: sum},
				SealedWhy: []byte("sealed why")}
		}
		if err := db.AddEvidence(ctx, e, step(canopy.CustodyAcquired), acquiredEvent("ev1", at)); err != nil {
			t.Fatal(err)
		}
		bad := *e
		bad.ID, bad.InvestigationID = "ev2", "nope"
		if err := db.AddEvidence(ctx, &bad, step(canopy.CustodyAcquired), acquiredEvent("ev2", at)); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("evidence of no investigation: %v", err)
		}
		for _, a := range []string{canopy.CustodyViewed, canopy.CustodyExported} {
			if err := db.Update(ctx, func(tx *store.Tx) error { return tx.AddCustody(step(a)) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.DestroyEvidence("ev1", at, step(canopy.CustodyDestroyed)) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.DestroyEvidence("ev1", at, step(canopy.CustodyDestroyed)) }); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("destroyed twice: %v", err)
		}
		item, err := db.Evidence(ctx, "ev1")
		if err != nil || item.Name != nil || item.DataKey != nil || item.Destroyed.IsZero() || item.SHA256 != sum {
			t.Fatalf("destroyed item %+v %v", item, err)
		}
		chains, err := db.InvestigationCustody(ctx, "inv1")
		chain := chains["ev1"]
		if err != nil || len(chain) != 4 {
			t.Fatalf("custody %+v %v", chain, err)
		}
		for i, want := range []string{canopy.CustodyAcquired, canopy.CustodyViewed, canopy.CustodyExported, canopy.CustodyDestroyed} {
			if chain[i].N != i+1 || chain[i].Action != want || chain[i].SHA256 != sum || string(chain[i].SealedWhy) != "sealed why" {
				t.Errorf("step %d: %+v", i+1, chain[i])
			}
		}
		items, err := db.InvestigationEvidence(ctx, "inv1")
		if err != nil || len(items) != 1 {
			t.Fatalf("items %+v %v", items, err)
		}
	})
}

func acquiredEvent(item string, at time.Time) *store.SealedInvestigationEvent {
	return &store.SealedInvestigationEvent{InvestigationEvent: canopy.InvestigationEvent{At: at, Actor: "li1",
		Kind: canopy.InvestigationAcquired, Ref: item}}
}

var invT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// newInvestigation stores an investigation opened at invT0 plus minutes
// and fails the test if it cannot.
func newInvestigation(t *testing.T, db *store.DB, id, jurisdiction string, minutes int) {
	t.Helper()
	inv := &store.SealedInvestigation{Investigation: canopy.Investigation{ID: id, Jurisdiction: jurisdiction, Status: canopy.InvestigationOpen,
		Opened: invT0.Add(time.Duration(minutes) * time.Minute), OpenedBy: "li1"}, Title: []byte("sealed title " + id),
		WrappedKey: []byte("wrapped " + id)}
	if err := db.CreateInvestigation(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
}

// newItem stores an evidence item of an investigation with its
// acquisition.
func newItem(t *testing.T, db *store.DB, inv, id string, at time.Time) {
	t.Helper()
	e := &store.SealedEvidence{EvidenceItem: canopy.EvidenceItem{ID: id, InvestigationID: inv, MediaType: "image/png", Size: 4,
		SHA256: "sha-" + id, MD5: "md5-" + id, Acquired: at, AcquiredBy: "li1"},
		Name: []byte("sealed name " + id), BlobKey: "evidence/" + inv + "/" + id, DataKey: []byte("file key " + id)}
	step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: id, Action: canopy.CustodyAcquired, At: at, Actor: "li1",
		SHA256: "sha-" + id}, SealedWhy: []byte("sealed why " + id)}
	if err := db.AddEvidence(context.Background(), e, step, acquiredEvent(id, at)); err != nil {
		t.Fatal(err)
	}
}

// setState changes an investigation's status, closing and hold through
// UpdateInvestigation.
func setState(t *testing.T, db *store.DB, id string, fn func(inv *canopy.Investigation)) {
	t.Helper()
	err := db.UpdateInvestigation(context.Background(), id, func(tx *store.Tx, inv *store.SealedInvestigation) error {
		fn(&inv.Investigation)
		return tx.PutInvestigationState(&inv.Investigation)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestInvestigationTimeline: the timeline starts with the opening,
// numbers each line after the last (in one transaction or several, and
// apart for each investigation), and keeps a body sealed as given or
// none.
func TestInvestigationTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newInvestigation(t, db, "inv1", "FR", 0)
		newInvestigation(t, db, "inv2", "", 1)
		ev := func(kind, ref string, body []byte, minutes int) *store.SealedInvestigationEvent {
			return &store.SealedInvestigationEvent{InvestigationEvent: canopy.InvestigationEvent{At: invT0.Add(time.Duration(minutes) * time.Minute),
				Actor: "li1", Kind: kind, Ref: ref}, SealedBody: body}
		}
		var ns []int
		update(t, db, func(tx *store.Tx) error {
			ns = ns[:0]
			for _, e := range []*store.SealedInvestigationEvent{ev(canopy.InvestigationNote, "", []byte("sealed note"), 5),
				ev(canopy.InvestigationTaskAdded, "1", []byte("sealed task"), 5)} {
				if err := tx.AddInvestigationEvent("inv1", e); err != nil {
					return err
				}
				ns = append(ns, e.N)
			}
			return nil
		})
		update(t, db, func(tx *store.Tx) error {
			e := ev(canopy.InvestigationLinked, "r0001", nil, 6)
			if err := tx.AddInvestigationEvent("inv1", e); err != nil {
				return err
			}
			ns = append(ns, e.N)
			e = ev(canopy.InvestigationNote, "", []byte("other"), 7)
			if err := tx.AddInvestigationEvent("inv2", e); err != nil {
				return err
			}
			ns = append(ns, e.N)
			return nil
		})
		if want := []int{2, 3, 4, 2}; !slices.Equal(ns, want) {
			t.Fatalf("numbered %v, want %v", ns, want)
		}
		got, err := db.InvestigationEvents(ctx, "inv1")
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			kind, ref, body string
			minutes         int
		}{{canopy.InvestigationOpened, "", "", 0}, {canopy.InvestigationNote, "", "sealed note", 5},
			{canopy.InvestigationTaskAdded, "1", "sealed task", 5}, {canopy.InvestigationLinked, "r0001", "", 6}}
		if len(got) != len(want) {
			t.Fatalf("timeline %+v", got)
		}
		for i, w := range want {
			e := got[i]
			if e.N != i+1 || e.Kind != w.kind || e.Ref != w.ref || string(e.SealedBody) != w.body || e.Actor != "li1" ||
				!e.At.Equal(invT0.Add(time.Duration(w.minutes)*time.Minute)) || (w.body == "") != (e.SealedBody == nil) {
				t.Errorf("line %d: %+v, want %+v", i+1, e, w)
			}
		}
		other, err := db.InvestigationEvents(ctx, "inv2")
		if err != nil || len(other) != 2 || other[0].Kind != canopy.InvestigationOpened || string(other[1].SealedBody) != "other" {
			t.Fatalf("the other timeline %+v %v", other, err)
		}
		if none, err := db.InvestigationEvents(ctx, "nope"); err != nil || len(none) != 0 {
			t.Errorf("the timeline of no investigation: %+v %v", none, err)
		}
	})
}

// TestInvestigationTasks: tasks are numbered per investigation, marked
// done and not done again, and a change to what already is so says it
// changed nothing; a task that does not exist is not found.
func TestInvestigationTasks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newInvestigation(t, db, "inv1", "FR", 0)
		newInvestigation(t, db, "inv2", "FR", 1)
		due := invT0.Add(72 * time.Hour)
		var ns []int
		for i, inv := range []string{"inv1", "inv1", "inv2"} {
			update(t, db, func(tx *store.Tx) error {
				task := &store.SealedTask{InvestigationTask: canopy.InvestigationTask{Assignee: "an1", Created: invT0.Add(time.Duration(i) * time.Minute),
					CreatedBy: "li1"}, SealedTitle: []byte("sealed task " + inv)}
				if i == 0 {
					task.Due = due
				}
				if err := tx.AddInvestigationTask(inv, task); err != nil {
					return err
				}
				ns = append(ns, task.N)
				return nil
			})
		}
		if !slices.Equal(ns, []int{1, 2, 1}) {
			t.Fatalf("tasks numbered %v", ns)
		}
		done := invT0.Add(time.Hour)
		set := func(inv string, n int, when time.Time, by string) (bool, error) {
			var changed bool
			err := db.Update(ctx, func(tx *store.Tx) error {
				var err error
				changed, err = tx.SetInvestigationTaskDone(inv, n, when, by)
				return err
			})
			return changed, err
		}
		for _, c := range []struct {
			name    string
			inv     string
			n       int
			when    time.Time
			changed bool
		}{
			{"done", "inv1", 1, done, true},
			{"done again", "inv1", 1, done.Add(time.Minute), false},
			{"undone", "inv1", 1, time.Time{}, true},
			{"undone again", "inv1", 1, time.Time{}, false},
			{"done once more", "inv1", 1, done, true},
			{"the second", "inv1", 2, time.Time{}, false},
		} {
			by := "an1"
			if c.when.IsZero() {
				by = ""
			}
			if changed, err := set(c.inv, c.n, c.when, by); err != nil || changed != c.changed {
				t.Errorf("%s: changed %v, %v; want %v", c.name, changed, err, c.changed)
			}
		}
		for _, c := range []struct {
			inv string
			n   int
		}{{"inv1", 3}, {"inv2", 2}, {"nope", 1}} {
			for _, when := range []time.Time{done, {}} {
				if _, err := set(c.inv, c.n, when, "an1"); canopy.ErrorCode(err) != canopy.ENOTFOUND ||
					canopy.AsError(err).Key != "error.investigation.task_not_found" {
					t.Errorf("task %d of %s: %v", c.n, c.inv, err)
				}
			}
		}
		tasks, err := db.InvestigationTasks(ctx, "inv1")
		if err != nil || len(tasks) != 2 {
			t.Fatalf("tasks %+v %v", tasks, err)
		}
		first, second := tasks[0], tasks[1]
		if first.N != 1 || !first.Due.Equal(due) || !first.Done.Equal(done) || first.DoneBy != "an1" || first.Assignee != "an1" ||
			!first.Created.Equal(invT0) || first.CreatedBy != "li1" || string(first.SealedTitle) != "sealed task inv1" {
			t.Errorf("first task %+v", first)
		}
		if second.N != 2 || !second.Due.IsZero() || !second.Done.IsZero() || second.DoneBy != "" {
			t.Errorf("second task %+v", second)
		}
	})
}

// TestInvestigationReports: a report is linked once (a second link says
// so), an unknown report is not found, and unlinking says whether there
// was a link.
func TestInvestigationReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newInvestigation(t, db, "inv1", "FR", 0)
		newInvestigation(t, db, "inv2", "BE", 1)
		for i := 1; i <= 2; i++ {
			if err := db.CreateReport(ctx, newReport(i)); err != nil {
				t.Fatal(err)
			}
		}
		link := func(inv, report string, minutes int) (bool, error) {
			var added bool
			err := db.Update(ctx, func(tx *store.Tx) error {
				var err error
				added, err = tx.LinkInvestigationReport(inv, canopy.InvestigationReport{ReportID: report,
					Linked: invT0.Add(time.Duration(minutes) * time.Minute), LinkedBy: "li1"})
				return err
			})
			return added, err
		}
		for _, c := range []struct {
			inv, report string
			added       bool
		}{{"inv1", "r0002", true}, {"inv1", "r0001", true}, {"inv1", "r0002", false}, {"inv2", "r0002", true}} {
			if added, err := link(c.inv, c.report, 10); err != nil || added != c.added {
				t.Errorf("link %s to %s: %v %v, want %v", c.report, c.inv, added, err, c.added)
			}
		}
		if _, err := link("inv1", "r9999", 11); canopy.ErrorCode(err) != canopy.ENOTFOUND || canopy.AsError(err).Key != "error.report.not_found" {
			t.Errorf("an unknown report: %v", err)
		}
		linked, err := db.InvestigationReports(ctx, "inv1")
		if err != nil || len(linked) != 2 || linked[0].ReportID != "r0001" || linked[1].ReportID != "r0002" || linked[0].LinkedBy != "li1" ||
			!linked[0].Linked.Equal(invT0.Add(10*time.Minute)) {
			t.Fatalf("linked %+v %v", linked, err)
		}
		invs, err := db.ReportInvestigations(ctx, "r0002")
		if err != nil || len(invs) != 2 || invs[0].ID != "inv1" || invs[1].ID != "inv2" || invs[1].Jurisdiction != "BE" ||
			invs[0].Status != canopy.InvestigationOpen {
			t.Fatalf("investigations of r0002: %+v %v", invs, err)
		}
		for _, c := range []struct {
			report  string
			removed bool
		}{{"r0002", true}, {"r0002", false}, {"r9999", false}} {
			var removed bool
			update(t, db, func(tx *store.Tx) error {
				var err error
				removed, err = tx.UnlinkInvestigationReport("inv1", c.report)
				return err
			})
			if removed != c.removed {
				t.Errorf("unlink %s: %v, want %v", c.report, removed, c.removed)
			}
		}
		if linked, err := db.InvestigationReports(ctx, "inv1"); err != nil || len(linked) != 1 || linked[0].ReportID != "r0001" {
			t.Errorf("after unlinking: %+v %v", linked, err)
		}
		if invs, err := db.ReportInvestigations(ctx, "r0002"); err != nil || len(invs) != 1 || invs[0].ID != "inv2" {
			t.Errorf("investigations of r0002 after unlinking: %+v %v", invs, err)
		}
	})
}

// TestInvestigationsList: the list is newest first, filtered by status
// and jurisdictions (those of none always in), paged with the total the
// filter selects, and counts linked reports, items still held and tasks
// not done.
func TestInvestigationsList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Opened in this order, a minute apart.
		for i, c := range []struct{ id, jurisdiction string }{{"a", "FR"}, {"b", "BE"}, {"c", ""}, {"d", "FR"}, {"e", "DE"}} {
			newInvestigation(t, db, c.id, c.jurisdiction, i)
		}
		setState(t, db, "b", func(inv *canopy.Investigation) {
			inv.Status, inv.Closed, inv.ClosedBy = canopy.InvestigationClosed, invT0.Add(time.Hour), "li1"
		})
		setState(t, db, "d", func(inv *canopy.Investigation) {
			inv.Status, inv.Closed, inv.ClosedBy = canopy.InvestigationClosed, invT0.Add(time.Hour), "li1"
		})
		if err := db.CreateReport(ctx, newReport(1)); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateReport(ctx, newReport(2)); err != nil {
			t.Fatal(err)
		}
		update(t, db, func(tx *store.Tx) error {
			for _, r := range []string{"r0001", "r0002"} {
				if _, err := tx.LinkInvestigationReport("a", canopy.InvestigationReport{ReportID: r, Linked: invT0, LinkedBy: "li1"}); err != nil {
					return err
				}
			}
			for range 3 {
				if err := tx.AddInvestigationTask("a", &store.SealedTask{InvestigationTask: canopy.InvestigationTask{Created: invT0,
					CreatedBy: "li1"}, SealedTitle: []byte("t")}); err != nil {
					return err
				}
			}
			_, err := tx.SetInvestigationTaskDone("a", 2, invT0, "li1")
			return err
		})
		newItem(t, db, "a", "ev1", invT0)
		newItem(t, db, "a", "ev2", invT0.Add(time.Minute))
		newItem(t, db, "a", "ev3", invT0.Add(2*time.Minute))
		update(t, db, func(tx *store.Tx) error {
			return tx.DestroyEvidence("ev2", invT0, &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: "ev2",
				Action: canopy.CustodyDestroyed, At: invT0, Actor: "li1", SHA256: "sha-ev2"}})
		})

		ids := func(rows []store.InvestigationSummary) []string {
			var out []string
			for _, r := range rows {
				out = append(out, r.ID)
			}
			return out
		}
		for _, c := range []struct {
			name  string
			f     store.InvestigationFilter
			want  []string
			total int
		}{
			{"all", store.InvestigationFilter{}, []string{"e", "d", "c", "b", "a"}, 5},
			{"open", store.InvestigationFilter{Status: canopy.InvestigationOpen}, []string{"e", "c", "a"}, 3},
			{"closed", store.InvestigationFilter{Status: canopy.InvestigationClosed}, []string{"d", "b"}, 2},
			{"FR, and those of none", store.InvestigationFilter{Jurisdictions: []string{"FR"}}, []string{"d", "c", "a"}, 3},
			{"FR and BE", store.InvestigationFilter{Jurisdictions: []string{"FR", "BE"}}, []string{"d", "c", "b", "a"}, 4},
			{"only those of none", store.InvestigationFilter{Jurisdictions: []string{}}, []string{"c"}, 1},
			{"open in FR", store.InvestigationFilter{Status: canopy.InvestigationOpen, Jurisdictions: []string{"FR"}}, []string{"c", "a"}, 2},
			{"first page", store.InvestigationFilter{Limit: 2}, []string{"e", "d"}, 5},
			{"second page", store.InvestigationFilter{Limit: 2, Offset: 2}, []string{"c", "b"}, 5},
			{"last page", store.InvestigationFilter{Limit: 2, Offset: 4}, []string{"a"}, 5},
			{"past the end", store.InvestigationFilter{Limit: 2, Offset: 10}, nil, 5},
			{"a page in FR", store.InvestigationFilter{Jurisdictions: []string{"FR"}, Limit: 1, Offset: 1}, []string{"c"}, 3},
			{"no status of that name", store.InvestigationFilter{Status: "pending"}, nil, 0},
		} {
			rows, total, err := db.Investigations(ctx, c.f)
			if err != nil || !slices.Equal(ids(rows), c.want) || total != c.total {
				t.Errorf("%s: %v total %d, %v; want %v total %d", c.name, ids(rows), total, err, c.want, c.total)
			}
		}
		rows, _, err := db.Investigations(ctx, store.InvestigationFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			want := [3]int{}
			if r.ID == "a" {
				want = [3]int{2, 2, 2} // two reports, two items still held, two tasks not done
			}
			if got := [3]int{r.Reports, r.Items, r.OpenTasks}; got != want {
				t.Errorf("%s counts reports, items, open tasks %v, want %v", r.ID, got, want)
			}
			if string(r.Title) != "sealed title "+r.ID || string(r.WrappedKey) != "wrapped "+r.ID {
				t.Errorf("%s: title %q, key %q", r.ID, r.Title, r.WrappedKey)
			}
			if r.ID == "d" && (r.Status != canopy.InvestigationClosed || !r.Closed.Equal(invT0.Add(time.Hour)) || r.ClosedBy != "li1" || r.Jurisdiction != "FR") {
				t.Errorf("d in the list: %+v", r.Investigation)
			}
		}
	})
}

// TestInvestigationState: a closing, a hold and their undoing are written
// and read back whole; a failing change writes nothing, and an unknown
// investigation is not found.
func TestInvestigationState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newInvestigation(t, db, "inv1", "FR", 0)
		closed, held := invT0.Add(time.Hour), invT0.Add(2*time.Hour)
		setState(t, db, "inv1", func(inv *canopy.Investigation) {
			inv.Status, inv.Closed, inv.ClosedBy = canopy.InvestigationClosed, closed, "li1"
			inv.Held, inv.HeldSince, inv.HeldBy = true, held, "su1"
		})
		got, err := db.Investigation(ctx, "inv1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != canopy.InvestigationClosed || !got.Closed.Equal(closed) || got.ClosedBy != "li1" || !got.Held || !got.HeldSince.Equal(held) ||
			got.HeldBy != "su1" || !got.Purged.IsZero() || got.Jurisdiction != "FR" || !got.Opened.Equal(invT0) || got.OpenedBy != "li1" {
			t.Fatalf("closed and held: %+v", got.Investigation)
		}
		failed := errors.New("no")
		err = db.UpdateInvestigation(ctx, "inv1", func(tx *store.Tx, inv *store.SealedInvestigation) error {
			if !inv.Held || inv.Status != canopy.InvestigationClosed {
				t.Errorf("UpdateInvestigation was given %+v", inv.Investigation)
			}
			inv.Held, inv.Status = false, canopy.InvestigationOpen
			if err := tx.PutInvestigationState(&inv.Investigation); err != nil {
				return err
			}
			return failed
		})
		if !errors.Is(err, failed) {
			t.Fatalf("a failing change: %v", err)
		}
		if got, err := db.Investigation(ctx, "inv1"); err != nil || !got.Held || got.Status != canopy.InvestigationClosed {
			t.Fatalf("a failed change was kept: %+v %v", got, err)
		}
		setState(t, db, "inv1", func(inv *canopy.Investigation) {
			inv.Status, inv.Closed, inv.ClosedBy = canopy.InvestigationOpen, time.Time{}, ""
			inv.Held, inv.HeldSince, inv.HeldBy = false, time.Time{}, ""
		})
		got, err = db.Investigation(ctx, "inv1")
		if err != nil || got.Status != canopy.InvestigationOpen || !got.Closed.IsZero() || got.ClosedBy != "" || got.Held ||
			!got.HeldSince.IsZero() || got.HeldBy != "" {
			t.Fatalf("reopened and released: %+v %v", got, err)
		}
		err = db.UpdateInvestigation(ctx, "nope", func(*store.Tx, *store.SealedInvestigation) error {
			t.Error("fn ran for an unknown investigation")
			return nil
		})
		if canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Errorf("an unknown investigation: %v", err)
		}
	})
}

// TestExpiredInvestigations: only investigations closed before the
// cutoff, with no hold standing and not purged yet, oldest first, up to
// the limit.
func TestExpiredInvestigations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cutoff := invT0.AddDate(0, 0, 30)
		closeAt := func(id string, at time.Time) {
			setState(t, db, id, func(inv *canopy.Investigation) {
				inv.Status, inv.Closed, inv.ClosedBy = canopy.InvestigationClosed, at, "li1"
			})
		}
		for i, id := range []string{"old", "older", "recent", "open", "held", "purged", "reopened", "atcutoff", "lifted"} {
			newInvestigation(t, db, id, "", i)
		}
		closeAt("old", cutoff.Add(-time.Hour))
		closeAt("older", cutoff.Add(-48*time.Hour))
		closeAt("recent", cutoff.Add(time.Hour))
		closeAt("atcutoff", cutoff)
		closeAt("held", cutoff.Add(-72*time.Hour))
		setState(t, db, "held", func(inv *canopy.Investigation) { inv.Held, inv.HeldSince, inv.HeldBy = true, cutoff, "su1" })
		closeAt("lifted", cutoff.Add(-2*time.Hour))
		setState(t, db, "lifted", func(inv *canopy.Investigation) { inv.Held, inv.HeldSince, inv.HeldBy = true, cutoff, "su1" })
		setState(t, db, "lifted", func(inv *canopy.Investigation) { inv.Held, inv.HeldSince, inv.HeldBy = false, time.Time{}, "" })
		closeAt("purged", cutoff.Add(-72*time.Hour))
		update(t, db, func(tx *store.Tx) error { return tx.PurgeInvestigation("purged", cutoff) })
		closeAt("reopened", cutoff.Add(-72*time.Hour))
		setState(t, db, "reopened", func(inv *canopy.Investigation) {
			inv.Status, inv.Closed, inv.ClosedBy = canopy.InvestigationOpen, time.Time{}, ""
		})
		got, err := db.ExpiredInvestigations(ctx, cutoff, 100)
		if want := []string{"older", "lifted", "old"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("expired %v %v, want %v", got, err, want)
		}
		if got, err := db.ExpiredInvestigations(ctx, cutoff, 1); err != nil || !slices.Equal(got, []string{"older"}) {
			t.Errorf("expired, one at most: %v %v", got, err)
		}
		if got, err := db.ExpiredInvestigations(ctx, cutoff.Add(2*time.Hour), 100); err != nil || len(got) != 5 {
			t.Errorf("expired two hours later: %v %v", got, err)
		}
	})
}

// TestPurgeInvestigation: the purge deletes the investigation's key,
// forgets every item's name and file key, marks the items still held
// destroyed (one destroyed before keeps its date), and keeps the hashes,
// the custody and the timeline; another investigation is untouched.
func TestPurgeInvestigation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newInvestigation(t, db, "inv1", "FR", 0)
		newInvestigation(t, db, "inv2", "FR", 1)
		newItem(t, db, "inv1", "ev1", invT0)
		newItem(t, db, "inv1", "ev2", invT0.Add(time.Minute))
		newItem(t, db, "inv2", "ev3", invT0)
		earlier := invT0.Add(time.Hour)
		update(t, db, func(tx *store.Tx) error {
			return tx.DestroyEvidence("ev2", earlier, &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: "ev2",
				Action: canopy.CustodyDestroyed, At: earlier, Actor: "li1", SHA256: "sha-ev2"}, SealedWhy: []byte("sealed order")})
		})
		when := invT0.AddDate(0, 2, 0)
		update(t, db, func(tx *store.Tx) error { return tx.PurgeInvestigation("inv1", when) })

		inv, err := db.Investigation(ctx, "inv1")
		if err != nil || inv.WrappedKey != nil || !inv.Purged.Equal(when) {
			t.Fatalf("purged investigation %+v %v", inv, err)
		}
		var inTx int
		update(t, db, func(tx *store.Tx) error {
			items, err := tx.InvestigationEvidence("inv1")
			inTx = len(items)
			return err
		})
		if inTx != 2 {
			t.Errorf("%d items after the purge, read in a transaction; want 2", inTx)
		}
		items, err := db.InvestigationEvidence(ctx, "inv1")
		if err != nil || len(items) != 2 {
			t.Fatalf("items %+v %v", items, err)
		}
		for _, e := range items {
			wantDestroyed := when
			if e.ID == "ev2" {
				wantDestroyed = earlier
			}
			if e.Name != nil || e.DataKey != nil || !e.Destroyed.Equal(wantDestroyed) || e.SHA256 != "sha-"+e.ID || e.MD5 != "md5-"+e.ID ||
				e.Size != 4 || e.BlobKey == "" {
				t.Errorf("purged item %+v", e)
			}
		}
		for item, want := range map[string][]string{"ev1": {canopy.CustodyAcquired}, "ev2": {canopy.CustodyAcquired, canopy.CustodyDestroyed}} {
			chains, err := db.InvestigationCustody(ctx, "inv1")
			chain := chains[item]
			if err != nil || len(chain) != len(want) {
				t.Fatalf("custody of %s: %+v %v", item, chain, err)
			}
			for i, c := range chain {
				if c.Action != want[i] || c.SHA256 != "sha-"+item || c.SealedWhy == nil {
					t.Errorf("custody of %s, step %d: %+v", item, i+1, c)
				}
			}
		}
		if events, err := db.InvestigationEvents(ctx, "inv1"); err != nil || len(events) != 3 {
			t.Errorf("timeline after the purge: %+v %v", events, err)
		}
		rows, _, err := db.Investigations(ctx, store.InvestigationFilter{})
		if err != nil || len(rows) != 2 {
			t.Fatalf("list %+v %v", rows, err)
		}
		for _, r := range rows {
			if r.ID == "inv1" && (r.WrappedKey != nil || r.Purged.IsZero() || r.Items != 0) {
				t.Errorf("purged in the list: %+v", r)
			}
		}

		other, err := db.Investigation(ctx, "inv2")
		if err != nil || string(other.WrappedKey) != "wrapped inv2" || !other.Purged.IsZero() {
			t.Fatalf("the other investigation %+v %v", other, err)
		}
		e, err := db.Evidence(ctx, "ev3")
		if err != nil || e.Name == nil || e.DataKey == nil || !e.Destroyed.IsZero() {
			t.Errorf("the other investigation's item %+v %v", e, err)
		}
	})
}
