package workspace

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/triage"
)

// queuePage is how many reports one page of the queue shows.
const queuePage = 50

// breachScan bounds how many open reports the breach count reads: beyond
// it the page says "at least". A store query that counts breaches would
// lift the bound.
const breachScan = 10_000

type queueView struct {
	Rows            []queueRow
	Total           int
	Breached        int
	BreachedAtLeast bool
	Page, Pages     int
	Prev, Next      string
	// Unrouted counts the reports routed abroad that wait for a peer.
	Unrouted        int
	UnroutedAtLeast bool
}

type queueRow struct {
	triage.Item
	Others    []string // flags other than urgent
	Clock     string   // "due in 3 h", "overdue by 2 h 5 min", "first look in time"
	ClaimedBy string
}

func (s *server) queue(w http.ResponseWriter, r *http.Request, m *member) {
	pageNo, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pageNo = max(pageNo, 1)
	items, total, err := s.triage.Queue(r.Context(), m.account, queuePage, (pageNo-1)*queuePage)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	now := s.now()
	v := queueView{Total: total, Page: pageNo, Pages: max(1, (total+queuePage-1)/queuePage)}
	for _, it := range items {
		row := queueRow{Item: it, Clock: clock(it, now)}
		for _, f := range it.Flags {
			if f != canopy.FlagUrgent {
				row.Others = append(row.Others, f)
			}
		}
		if it.ClaimedBy != "" {
			row.ClaimedBy = names[it.ClaimedBy]
			if row.ClaimedBy == "" {
				row.ClaimedBy = "Account " + it.ClaimedBy
			}
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Breached, v.BreachedAtLeast, err = s.countBreached(r.Context(), m, items, total); err != nil {
		s.fail(w, r, m, err)
		return
	}
	if _, v.Unrouted, v.UnroutedAtLeast, err = s.unroutedFor(r.Context(), m.account); err != nil {
		s.internalError(w, r, err)
		return
	}
	if pageNo > 1 {
		v.Prev = "/staff/?page=" + strconv.Itoa(pageNo-1)
	}
	if pageNo < v.Pages {
		v.Next = "/staff/?page=" + strconv.Itoa(pageNo+1)
	}
	p := s.newPage(r, "queue", "Triage queue", m)
	s.withForm(w, r, p)
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// countBreached counts the open reports in the member's queue that missed
// their first-look deadline, reading the whole queue when it is longer
// than one page.
func (s *server) countBreached(ctx context.Context, m *member, page []triage.Item, total int) (int, bool, error) {
	count := func(items []triage.Item) int {
		n := 0
		for _, it := range items {
			if it.Breached {
				n++
			}
		}
		return n
	}
	if total <= len(page) {
		return count(page), false, nil
	}
	const step = 500 // the store's largest page
	n := 0
	for off := 0; off < min(total, breachScan); off += step {
		items, _, err := s.triage.Queue(ctx, m.account, step, off)
		if err != nil {
			return 0, false, err
		}
		n += count(items)
		if len(items) < step {
			break
		}
	}
	return n, total > breachScan, nil
}

// clock says where a report stands against its first-look deadline.
func clock(it triage.Item, now time.Time) string {
	switch {
	case it.FirstLook.IsZero() && it.Breached:
		return "Overdue by " + dur(now.Sub(it.Due))
	case it.FirstLook.IsZero():
		return "Due in " + dur(it.Due.Sub(now))
	case it.Breached:
		return "First look " + dur(it.FirstLook.Sub(it.Due)) + " late"
	}
	return "First look in time"
}

// accountNames maps account ids to the names staff know each other by.
func (s *server) accountNames(ctx context.Context) (map[string]string, error) {
	as, err := s.staff.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[a.ID] = displayName(&a)
	}
	return m, nil
}

func displayName(a *canopy.Account) string {
	if a.Name != "" {
		return a.Name
	}
	return a.Email
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
