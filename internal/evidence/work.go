package evidence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// The work of an investigation beyond its evidence: the list, the whole
// investigation opened (reports, items, tasks, timeline), notes, tasks,
// links to reports, closing and reopening, legal holds, handing evidence
// over, and the purge that retention asks for. Every change is one
// transaction with its line on the timeline, and is audited as
// investigation.change by step and ids, never by its words.

// Limits of the words staff write.
const (
	maxNote = 5000
	maxTo   = 200
)

// errNoChange ends a change that finds things already so: it commits
// nothing and is not audited.
var errNoChange = errors.New("evidence: no change")

var (
	errHeld   = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.held"}
	errPurged = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.destroyed"}
)

// eventContext binds a timeline body to its investigation and place.
func eventContext(inv string, at time.Time, kind string) string {
	return "investigation/" + inv + "/event/" + kind + "/" + at.UTC().Format(time.RFC3339Nano)
}

func taskContext(inv string, created time.Time) string {
	return "investigation/" + inv + "/task/" + created.UTC().Format(time.RFC3339Nano)
}

// event is a timeline line with its body sealed (none when body is "").
func event(dk *seal.DataKey, inv string, at time.Time, actor, kind, ref, body string) *store.SealedInvestigationEvent {
	e := &store.SealedInvestigationEvent{InvestigationEvent: canopy.InvestigationEvent{At: at, Actor: actor, Kind: kind, Ref: ref}}
	if body != "" && dk != nil {
		e.SealedBody = dk.Seal([]byte(body), eventContext(inv, at, kind))
	}
	return e
}

// Summary is an investigation in a list.
type Summary struct {
	canopy.Investigation
	Title                     string // "" once purged
	Reports, Items, OpenTasks int
}

// List returns a page of the investigations in the member's
// jurisdictions, newest first, with their titles (the opening of the
// list is audited), and how many there are. status is "" for every one.
func (s *Service) List(ctx context.Context, who *canopy.Account, status string, limit, offset int) ([]Summary, int, error) {
	if _, err := s.allow(ctx, who, ""); err != nil {
		return nil, 0, err
	}
	if status != "" && !slices.Contains(canopy.InvestigationStatuses, status) {
		return nil, 0, fieldErr("status", "error.unknown_code")
	}
	f := store.InvestigationFilter{Status: status, Limit: limit, Offset: offset}
	if len(who.Jurisdictions) > 0 {
		f.Jurisdictions = who.Jurisdictions
	}
	rows, total, err := s.DB.Investigations(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	// A list names no one record: the audit log takes a kind only with
	// an id.
	if err := s.audit(ctx, who, audit.ActionInvestigationList, "", "", audit.OK,
		map[string]string{"count": strconv.Itoa(len(rows))}); err != nil {
		return nil, 0, err
	}
	out := make([]Summary, 0, len(rows))
	for _, r := range rows {
		sum := Summary{Investigation: r.Investigation, Reports: r.Reports, Items: r.Items, OpenTasks: r.OpenTasks}
		if sum.Title, err = s.title(&r.SealedInvestigation); err != nil {
			return nil, 0, err
		}
		out = append(out, sum)
	}
	return out, total, nil
}

// title opens an investigation's title: "" once purged.
func (s *Service) title(inv *store.SealedInvestigation) (string, error) {
	if inv.WrappedKey == nil {
		return "", nil
	}
	dk, err := s.dataKey(inv)
	if err != nil {
		return "", err
	}
	t, err := dk.Open(inv.Title, titleContext(inv.ID))
	if err != nil {
		return "", fmt.Errorf("evidence: title of %s: %w", inv.ID, err)
	}
	return string(t), nil
}

// ReportInvestigations returns the investigations a report is linked
// to that the member may work on, with their titles; the opening is
// audited as a list.
func (s *Service) ReportInvestigations(ctx context.Context, who *canopy.Account, reportID string) ([]Summary, error) {
	if _, err := s.allow(ctx, who, ""); err != nil {
		return nil, err
	}
	linked, err := s.DB.ReportInvestigations(ctx, reportID)
	if err != nil {
		return nil, err
	}
	var out []Summary
	for i := range linked {
		inv := &linked[i]
		if !access.InJurisdiction(who, inv.Jurisdiction) {
			continue
		}
		sum := Summary{Investigation: inv.Investigation}
		if sum.Title, err = s.title(inv); err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	if len(out) > 0 {
		if err := s.audit(ctx, who, audit.ActionInvestigationList, "", "", audit.OK,
			map[string]string{"count": strconv.Itoa(len(out))}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Detail is an investigation opened whole. Once purged, every word in it
// is "": its codes, hashes, dates and custody actions remain.
type Detail struct {
	canopy.Investigation
	Title    string
	Reports  []canopy.InvestigationReport
	Items    []Item
	Tasks    []canopy.InvestigationTask
	Timeline []canopy.InvestigationEvent
}

// Investigation returns an investigation opened whole; the opening is audited.
func (s *Service) Investigation(ctx context.Context, who *canopy.Account, id string) (*Detail, error) {
	inv, err := s.allow(ctx, who, id)
	if err != nil {
		return nil, err
	}
	var dk *seal.DataKey
	if inv.WrappedKey != nil {
		if dk, err = s.dataKey(inv); err != nil {
			return nil, err
		}
	}
	if err := s.audit(ctx, who, audit.ActionInvestigationView, audit.KindInvestigation, id, audit.OK, nil); err != nil {
		return nil, err
	}
	d := &Detail{Investigation: inv.Investigation}
	open := func(sealed []byte, context string) (string, error) {
		if dk == nil || sealed == nil {
			return "", nil
		}
		b, err := dk.Open(sealed, context)
		if err != nil {
			return "", fmt.Errorf("evidence: open a part of %s: %w", id, err)
		}
		return string(b), nil
	}
	if d.Title, err = open(inv.Title, titleContext(id)); err != nil {
		return nil, err
	}
	if d.Reports, err = s.DB.InvestigationReports(ctx, id); err != nil {
		return nil, err
	}
	if d.Items, err = s.items(ctx, id, dk); err != nil {
		return nil, err
	}
	tasks, err := s.DB.InvestigationTasks(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		task := t.InvestigationTask
		if task.Title, err = open(t.SealedTitle, taskContext(id, t.Created)); err != nil {
			return nil, err
		}
		d.Tasks = append(d.Tasks, task)
	}
	events, err := s.DB.InvestigationEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		ev := e.InvestigationEvent
		if ev.Body, err = open(e.SealedBody, eventContext(id, e.At, e.Kind)); err != nil {
			return nil, err
		}
		d.Timeline = append(d.Timeline, ev)
	}
	return d, nil
}

// change runs fn on an investigation the member may work on with perm,
// in one transaction with its row locked, then audits the step. fn gets
// the investigation's key; a purged investigation takes no change.
func (s *Service) change(ctx context.Context, who *canopy.Account, perm access.Permission, id string, details map[string]string,
	fn func(tx *store.Tx, inv *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error) error {
	inv, err := s.allow(ctx, who, id)
	if err != nil {
		return err
	}
	return s.changeAllowed(ctx, who, perm, inv, details, fn)
}

// changeAllowed is change for an investigation allow has already
// returned (a caller that had to refuse before a lookup of its own).
func (s *Service) changeAllowed(ctx context.Context, who *canopy.Account, perm access.Permission, inv *store.SealedInvestigation,
	details map[string]string, fn func(tx *store.Tx, inv *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error) error {
	id := inv.ID
	// Only once the investigation is found is its id fit for the log.
	if perm != access.InvestigationManage && !access.Can(who.Role, perm) {
		if err := s.audit(ctx, who, audit.ActionPermissionDenied, audit.KindInvestigation, inv.ID, audit.Denied,
			map[string]string{"permission": string(perm)}); err != nil {
			return err
		}
		return errForbidden
	}
	if inv.WrappedKey == nil {
		return errPurged
	}
	dk, err := s.dataKey(inv)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.DB.UpdateInvestigation(ctx, id, func(tx *store.Tx, inv *store.SealedInvestigation) error {
		if inv.WrappedKey == nil {
			return errPurged
		}
		return fn(tx, inv, dk, now)
	})
	if errors.Is(err, errNoChange) {
		return nil // so already: nothing to record
	}
	if err != nil {
		return err
	}
	return s.audit(ctx, who, audit.ActionInvestigationChange, audit.KindInvestigation, id, audit.OK, details)
}

// AddNote adds a note to an investigation's timeline.
func (s *Service) AddNote(ctx context.Context, who *canopy.Account, id, note string) error {
	note, err := block("note", note, maxNote)
	if err != nil {
		return err
	}
	return s.change(ctx, who, access.InvestigationManage, id, map[string]string{"step": "note"},
		func(tx *store.Tx, _ *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, canopy.InvestigationNote, "", note))
		})
}

// AddTask adds a task, for a member who may work on investigations (or
// nobody yet, when assignee is ""), due by due (zero for no date), and
// returns its number.
func (s *Service) AddTask(ctx context.Context, who *canopy.Account, id, title, assignee string, due time.Time) (int, error) {
	// Allowed first, so that who may not cannot learn which accounts
	// exist from the answer.
	inv, err := s.allow(ctx, who, id)
	if err != nil {
		return 0, err
	}
	if title, err = text("title", title, maxTitle); err != nil {
		return 0, err
	}
	var assigned *store.StoredAccount
	if assignee = strings.TrimSpace(assignee); assignee != "" {
		a, err := s.DB.Account(ctx, assignee)
		assigned = a
		if canopy.ErrorCode(err) == canopy.ENOTFOUND || err == nil && (a.Disabled || !access.Can(a.Role, access.InvestigationManage)) {
			return 0, fieldErr("assignee", "error.investigation.assignee")
		}
		if err != nil {
			return 0, err
		}
	}
	var n int
	err = s.changeAllowed(ctx, who, access.InvestigationManage, inv, map[string]string{"step": "task"},
		func(tx *store.Tx, inv *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			if assignee != "" && !access.InJurisdiction(&assigned.Account, inv.Jurisdiction) {
				return fieldErr("assignee", "error.investigation.assignee")
			}
			task := &store.SealedTask{InvestigationTask: canopy.InvestigationTask{Assignee: assignee, Due: due.UTC(), Created: now,
				CreatedBy: who.ID}, SealedTitle: dk.Seal([]byte(title), taskContext(id, now))}
			if err := tx.AddInvestigationTask(id, task); err != nil {
				return err
			}
			n = task.N
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, canopy.InvestigationTaskAdded, strconv.Itoa(n), title))
		})
	return n, err
}

// SetTaskDone marks a task done, or not done again.
func (s *Service) SetTaskDone(ctx context.Context, who *canopy.Account, id string, n int, done bool) error {
	kind, step := canopy.InvestigationTaskDone, "task_done"
	if !done {
		kind, step = canopy.InvestigationTaskReopen, "task_reopened"
	}
	return s.change(ctx, who, access.InvestigationManage, id, map[string]string{"step": step, "task": strconv.Itoa(n)},
		func(tx *store.Tx, _ *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			when, by := now, who.ID
			if !done {
				when, by = time.Time{}, ""
			}
			changed, err := tx.SetInvestigationTaskDone(id, n, when, by)
			if err == nil && !changed {
				err = errNoChange
			}
			if err != nil {
				return err
			}
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, kind, strconv.Itoa(n), ""))
		})
}

// LinkReport links a report the member may see to an investigation. A
// report in an investigation is kept by retention as long as the
// investigation is.
func (s *Service) LinkReport(ctx context.Context, who *canopy.Account, id, reportID string) error {
	// Allowed first, so that who may not cannot learn which reports
	// exist from the answer.
	inv, err := s.allow(ctx, who, id)
	if err != nil {
		return err
	}
	reportID = strings.ToLower(strings.TrimSpace(reportID))
	if reportID == "" {
		return fieldErr("report", "error.required")
	}
	state, err := s.DB.TriageState(ctx, reportID)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND || err == nil && !access.InJurisdiction(who, state.Jurisdiction) {
		return fieldErr("report", "error.report.not_found")
	}
	if err != nil {
		return err
	}
	return s.changeAllowed(ctx, who, access.InvestigationManage, inv, map[string]string{"step": "link", "report": reportID},
		func(tx *store.Tx, _ *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			added, err := tx.LinkInvestigationReport(id, canopy.InvestigationReport{ReportID: reportID, Linked: now, LinkedBy: who.ID})
			if canopy.ErrorCode(err) == canopy.ENOTFOUND {
				return fieldErr("report", "error.report.not_found")
			}
			if err == nil && !added {
				err = errNoChange
			}
			if err != nil {
				return err
			}
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, canopy.InvestigationLinked, reportID, ""))
		})
}

// UnlinkReport unlinks a report from an investigation.
func (s *Service) UnlinkReport(ctx context.Context, who *canopy.Account, id, reportID string) error {
	reportID = strings.ToLower(strings.TrimSpace(reportID))
	return s.change(ctx, who, access.InvestigationManage, id, map[string]string{"step": "unlink", "report": reportID},
		func(tx *store.Tx, _ *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			removed, err := tx.UnlinkInvestigationReport(id, reportID)
			if err != nil {
				return err
			}
			if !removed {
				return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.report.not_found"}
			}
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, canopy.InvestigationUnlinked, reportID, ""))
		})
}

// Close closes an investigation, with why. Retention counts the time its
// evidence is kept from its closing.
func (s *Service) Close(ctx context.Context, who *canopy.Account, id, why string) error {
	return s.setStatus(ctx, who, id, why, canopy.InvestigationClosed)
}

// Reopen opens a closed investigation again, with why; retention stops
// counting until it is closed again.
func (s *Service) Reopen(ctx context.Context, who *canopy.Account, id, why string) error {
	return s.setStatus(ctx, who, id, why, canopy.InvestigationOpen)
}

func (s *Service) setStatus(ctx context.Context, who *canopy.Account, id, why, status string) error {
	why, err := block("why", why, maxWhy)
	if err != nil {
		return err
	}
	kind := canopy.InvestigationClosedEvent
	if status == canopy.InvestigationOpen {
		kind = canopy.InvestigationReopened
	}
	return s.change(ctx, who, access.InvestigationManage, id, map[string]string{"step": kind},
		func(tx *store.Tx, inv *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			if inv.Status == status {
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation." + status + "_already"}
			}
			inv.Status, inv.Closed, inv.ClosedBy = status, now, who.ID
			if status == canopy.InvestigationOpen {
				inv.Closed, inv.ClosedBy = time.Time{}, ""
			}
			if err := tx.PutInvestigationState(&inv.Investigation); err != nil {
				return err
			}
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, kind, "", why))
		})
}

// PlaceHold places a legal hold on an investigation, with why (the order
// it follows): while it stands nothing of it is destroyed or purged.
func (s *Service) PlaceHold(ctx context.Context, who *canopy.Account, id, why string) error {
	return s.hold(ctx, who, id, why, true)
}

// LiftHold lifts an investigation's legal hold, with why.
func (s *Service) LiftHold(ctx context.Context, who *canopy.Account, id, why string) error {
	return s.hold(ctx, who, id, why, false)
}

func (s *Service) hold(ctx context.Context, who *canopy.Account, id, why string, place bool) error {
	why, err := block("why", why, maxWhy)
	if err != nil {
		return err
	}
	kind := canopy.InvestigationHoldPlaced
	if !place {
		kind = canopy.InvestigationHoldLifted
	}
	return s.change(ctx, who, access.InvestigationHold, id, map[string]string{"step": kind},
		func(tx *store.Tx, inv *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			switch {
			case place && inv.Held:
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.held_already"}
			case !place && !inv.Held:
				return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.not_held"}
			}
			inv.Held, inv.HeldSince, inv.HeldBy = place, now, who.ID
			if !place {
				inv.HeldSince, inv.HeldBy = time.Time{}, ""
			}
			if err := tx.PutInvestigationState(&inv.Investigation); err != nil {
				return err
			}
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, kind, "", why))
		})
}

// Transfer records that items of an investigation (every item still held
// when itemIDs is empty) were handed to another organisation, to, with
// why. Each file is checked against its acquisition hashes first; if one
// fails, nothing is recorded and ErrTampered says which.
func (s *Service) Transfer(ctx context.Context, who *canopy.Account, id string, itemIDs []string, to, why string) error {
	to, err := text("to", to, maxTo)
	if err != nil {
		return err
	}
	if why, err = block("why", why, maxWhy); err != nil {
		return err
	}
	inv, err := s.allow(ctx, who, id)
	if err != nil {
		return err
	}
	if inv.WrappedKey == nil {
		// Said first: its items, all destroyed, would read as not found.
		return errPurged
	}
	sealed, err := s.DB.InvestigationEvidence(ctx, id)
	if err != nil {
		return err
	}
	itemIDs = slices.Compact(slices.Sorted(slices.Values(itemIDs))) // a form may name an item twice
	var items []store.SealedEvidence
	for _, e := range sealed {
		if e.Destroyed.IsZero() && (len(itemIDs) == 0 || slices.Contains(itemIDs, e.ID)) {
			items = append(items, e)
		}
	}
	if len(items) == 0 || len(itemIDs) > 0 && len(items) != len(itemIDs) {
		return fieldErr("items", "error.evidence.not_found")
	}
	dk, err := s.dataKey(inv)
	if err != nil {
		return err
	}
	if err := s.check(ctx, audit.Staff(who.ID), who.ID, dk, items, "check before a handover"); err != nil {
		return err
	}
	ids := make([]string, len(items))
	for i, e := range items {
		ids[i] = e.ID
	}
	var steps []*store.SealedCustody
	// The audit names the items in their custody steps below; here, how
	// many (a list of ids is no short token, and would not fit one).
	err = s.changeAllowed(ctx, who, access.InvestigationManage, inv, map[string]string{"step": canopy.InvestigationTransferred, "items": strconv.Itoa(len(ids))},
		func(tx *store.Tx, _ *store.SealedInvestigation, dk *seal.DataKey, now time.Time) error {
			steps = steps[:0]
			for _, e := range items {
				step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: canopy.CustodyTransferred, At: now,
					Actor: who.ID, SHA256: e.SHA256}, SealedWhy: dk.Seal([]byte("to "+to+": "+why), whyContext(e.ID, now))}
				if err := tx.AddCustody(step); err != nil {
					return err
				}
				steps = append(steps, step)
			}
			return tx.AddInvestigationEvent(id, event(dk, id, now, who.ID, canopy.InvestigationTransferred, strings.Join(ids, " "),
				"to "+to+": "+why))
		})
	if err != nil {
		return err
	}
	for _, step := range steps {
		if err := s.custodyAudit(ctx, who, step, id); err != nil {
			return err
		}
	}
	return nil
}

// PurgeClosed purges, for retention, up to limit investigations closed
// before cutoff with no legal hold: every file still held is destroyed
// (its custody says so, by the node), its bytes deleted, and the
// investigation's key deleted, so no word in it can be read again. It
// returns the ids purged; each item's destruction is audited here, the
// purge itself by the caller.
func (s *Service) PurgeClosed(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	ids, err := s.DB.ExpiredInvestigations(ctx, cutoff, limit)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, id := range ids {
		var steps []*store.SealedCustody
		var blobs []string
		now := s.now()
		err := s.DB.UpdateInvestigation(ctx, id, func(tx *store.Tx, inv *store.SealedInvestigation) error {
			steps, blobs = nil, nil
			// Checked again under the lock: a hold or a reopening may
			// have come since the list was read.
			if inv.Held || inv.Status != canopy.InvestigationClosed || !inv.Purged.IsZero() || !inv.Closed.Before(cutoff) {
				return errHeld
			}
			items, err := tx.InvestigationEvidence(id)
			if err != nil {
				return err
			}
			for _, e := range items {
				blobs = append(blobs, e.BlobKey)
				if !e.Destroyed.IsZero() {
					continue
				}
				step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: canopy.CustodyDestroyed, At: now,
					Actor: "system", SHA256: e.SHA256}}
				if err := tx.AddCustody(step); err != nil {
					return err
				}
				steps = append(steps, step)
			}
			if err := tx.PurgeInvestigation(id, now); err != nil {
				return err
			}
			return tx.AddInvestigationEvent(id, event(nil, id, now, "system", canopy.InvestigationPurgedEvent, "", ""))
		})
		if errors.Is(err, errHeld) {
			continue
		}
		if err != nil {
			return done, err
		}
		done = append(done, id)
		// Recorded first: the destruction happened with the commit,
		// whatever becomes of the bytes.
		for _, step := range steps {
			if err := s.appendCustody(ctx, audit.System, step, id, audit.OK); err != nil {
				return done, err
			}
		}
		s.forget(ctx, blobs...)
	}
	return done, nil
}
