package workspace

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
)

// The audit pages read the log the way an outside auditor would: entry by
// entry, newest first. The log has no index by action, actor or record
// yet, so a filter reads backwards until it has a page, and stops after
// auditScanMax entries with a link to go on.
const (
	auditPage    = 50
	auditStep    = 1000
	auditScanMax = 100_000
)

// auditActions are the actions the filter offers: every action the log
// takes, by name.
var auditActions = audit.Actions()

type auditView struct {
	Entries  []auditRow
	Filter   auditFilter
	Actions  []audit.Action
	Actors   []actorOption
	Newer    string // the first page, when this is not it
	Older    string
	Stopped  bool // the scan limit was reached before a full page
	Size     int64
	Key      string
	Check    *audit.Checkpoint
	Filtered bool
}

type auditRow struct {
	audit.Entry
	Details string
}

type auditFilter struct {
	Action, Actor, Record string
}

func (f auditFilter) match(e *audit.Entry) bool {
	return (f.Action == "" || string(e.Action) == f.Action) &&
		(f.Actor == "" || string(e.Actor) == f.Actor) &&
		(f.Record == "" || e.ID == f.Record)
}

func (f auditFilter) query(before int64) string {
	q := url.Values{}
	for k, v := range map[string]string{"action": f.Action, "actor": f.Actor, "record": f.Record} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if before >= 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return "/staff/audit"
	}
	return "/staff/audit?" + q.Encode()
}

type actorOption struct {
	Value, Label string
}

func detailsOf(d map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(d) {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, ", ")
}

func (s *server) auditLog(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.AuditRead) {
		return
	}
	q := r.URL.Query()
	f := auditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Record: strings.TrimSpace(q.Get("record"))}
	size := s.audit.Size()
	before := size
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && b >= 0 && b < size {
		before = b
	}
	v := auditView{Filter: f, Actions: auditActions, Size: size, Key: s.audit.VerifierKey(),
		Filtered: f != auditFilter{}}
	pos, scanned, next := before, int64(0), int64(-1)
scan:
	for pos > 0 && scanned < auditScanMax {
		from := max(0, pos-auditStep)
		es, err := s.audit.Entries(r.Context(), from, int(pos-from))
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		for i := len(es) - 1; i >= 0; i-- {
			if !f.match(&es[i]) {
				continue
			}
			if len(v.Entries) == auditPage {
				next = es[i].Index + 1
				break scan
			}
			v.Entries = append(v.Entries, auditRow{Entry: es[i], Details: detailsOf(es[i].Details)})
		}
		scanned += pos - from
		pos = from
	}
	if next < 0 && pos > 0 {
		next, v.Stopped = pos, true
	}
	if next > 0 {
		v.Older = f.query(next)
	}
	if before < size {
		v.Newer = f.query(-1)
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	v.Actors = []actorOption{{"system", "The node"}, {"public", "Public (not identified)"}}
	var staffActors []actorOption
	for id, name := range names {
		staffActors = append(staffActors, actorOption{string(audit.Staff(id)), name})
	}
	slices.SortFunc(staffActors, func(a, b actorOption) int { return strings.Compare(a.Label, b.Label) })
	v.Actors = append(v.Actors, staffActors...)
	peers, err := s.network.DB.Peers(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	for _, p := range peers {
		v.Actors = append(v.Actors, actorOption{string(audit.Peer(p.ID)), "Peer " + p.ID})
	}
	if v.Check, err = s.audit.LatestCheckpoint(r.Context()); err != nil && canopy.ErrorCode(err) != canopy.ENOTFOUND {
		s.internalError(w, r, err)
		return
	}
	p := s.newPage(r, "audit", "Audit log", m)
	p.names = names
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// auditOpenedLookup takes the "who opened a report" form, a GET so that it
// needs no token, to the page of that report.
func (s *server) auditOpenedLookup(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.AuditRead) {
		return
	}
	id := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("report")))
	if id == "" {
		http.Redirect(w, r, "/staff/audit", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/staff/audit/reports/"+url.PathEscape(id), http.StatusSeeOther)
}

type openedView struct {
	ID      string
	Entries []openedRow
	Size    int64
}

type openedRow struct {
	audit.Entry
	Role string
}

// auditOpened lists who opened one report's content, and when: the
// log's report.view entries for it, oldest first. It says nothing else
// about the report, not even whether it exists.
func (s *server) auditOpened(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.AuditRead) {
		return
	}
	id := r.PathValue("id")
	entries, err := s.openings(r.Context(), id)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	as, err := s.staff.Accounts(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	names, roles := map[string]string{}, map[string]string{}
	for _, a := range as {
		names[a.ID] = displayName(&a) + " <" + a.Email + ">"
		roles[string(audit.Staff(a.ID))] = word(roleNames, string(a.Role))
	}
	v := openedView{ID: id, Size: s.audit.Size()}
	for _, e := range entries {
		v.Entries = append(v.Entries, openedRow{Entry: e, Role: roles[string(e.Actor)]})
	}
	p := s.newPage(r, "opened", "Who opened report "+id, m)
	p.names = names
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// openings reads the whole log for the openings of report id.
func (s *server) openings(ctx context.Context, id string) ([]audit.Entry, error) {
	var out []audit.Entry
	size := s.audit.Size()
	for from := int64(0); from < size; from += 5 * auditStep {
		es, err := s.audit.Entries(ctx, from, 5*auditStep)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Action == audit.ActionReportView && e.Kind == audit.KindReport && e.ID == id {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
