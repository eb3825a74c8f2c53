package web

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/chart"
	"github.com/canopy-org/canopy/internal/csvfile"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/indicators"
)

// The transparency page and the yearly report: the node's indicators
// (docs/indicators.md) for one year, as the publication protected by
// disclosure control has them, and the same publication as CSV and JSON.
// A past year's page and its two files are the yearly report. The page
// computes nothing that could undo the protection: a count the
// publication withholds is never read, and a year's total is only the sum
// of months that are all shown, which anyone could add up.
//
// Like "Find help", the page sets no cookie (its links carry the
// language instead) and the access log has the route, never the query.
// A publication is kept in memory for a while, so visits cannot make the
// node recompute its indicators each time.

// cacheFor is how long a publication, and what peers shared, is kept.
const cacheFor = 10 * time.Minute

// spanYears is how far back the page looks for the first year with
// figures: ten years, the longest a publication spans.
const spanYears = 10

// Marks the charts draw where a bar has no value: nothing to measure
// that month. A withheld value is drawn as "<10" or as the catalog's
// short mark.
const chartNone = "–"

// figures are the publications the page shows, each computed at most
// once every cacheFor.
type figures struct {
	publish func(ctx context.Context, from, to string) (*indicators.Publication, error)
	peers   func(ctx context.Context) ([]federation.PeerPublication, error)
	pubs    memo[*indicators.Publication]
	shared  memo[[]federation.PeerPublication]
}

func newFigures(publish func(ctx context.Context, from, to string) (*indicators.Publication, error),
	peers func(ctx context.Context) ([]federation.PeerPublication, error), now func() time.Time) *figures {
	return &figures{publish: publish, peers: peers,
		pubs:   memo[*indicators.Publication]{now: now, ttl: cacheFor},
		shared: memo[[]federation.PeerPublication]{now: now, ttl: cacheFor}}
}

// publication returns the node's publication over months [from, to].
func (f *figures) publication(ctx context.Context, from, to string) (*indicators.Publication, error) {
	return f.pubs.get(ctx, from+"/"+to, func(ctx context.Context) (*indicators.Publication, error) {
		pub, err := f.publish(ctx, from, to)
		if err == nil && pub == nil {
			err = errors.New("no publication")
		}
		if err != nil {
			return nil, fmt.Errorf("portal: publication %s to %s: %w", from, to, err)
		}
		return pub, nil
	})
}

// peerPublications returns what peers shared, nil when none can.
func (f *figures) peerPublications(ctx context.Context) ([]federation.PeerPublication, error) {
	if f.peers == nil {
		return nil, nil
	}
	return f.shared.get(ctx, "", func(ctx context.Context) ([]federation.PeerPublication, error) {
		out, err := f.peers(ctx)
		if err != nil {
			return nil, fmt.Errorf("portal: peer publications: %w", err)
		}
		return out, nil
	})
}

// memo keeps values by key for ttl. Callers asking for a key being
// computed wait for that computation rather than starting another; a
// failure is not kept.
type memo[T any] struct {
	now func() time.Time
	ttl time.Duration

	mu sync.Mutex
	m  map[string]*memoEntry[T]
}

type memoEntry[T any] struct {
	done    chan struct{}
	v       T
	err     error
	expires time.Time
}

func (c *memo[T]) get(ctx context.Context, key string, compute func(context.Context) (T, error)) (T, error) {
	var zero T
	c.mu.Lock()
	now := c.now()
	if e, ok := c.m[key]; ok {
		select {
		case <-e.done:
			if now.Before(e.expires) {
				c.mu.Unlock()
				return e.v, e.err
			}
		default:
			c.mu.Unlock()
			select {
			case <-e.done:
				return e.v, e.err
			case <-ctx.Done():
				return zero, ctx.Err()
			}
		}
	}
	if c.m == nil {
		c.m = map[string]*memoEntry[T]{}
	}
	for k, e := range c.m { // the current year's key changes each month
		select {
		case <-e.done:
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		default:
		}
	}
	e := &memoEntry[T]{done: make(chan struct{}), err: errors.New("portal: computation failed")}
	c.m[key] = e
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		e.expires = c.now().Add(c.ttl)
		if e.err != nil && c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
		close(e.done)
	}()
	// The computation serves every visitor waiting for it: the first one
	// leaving must not cancel it for the others.
	e.v, e.err = compute(context.WithoutCancel(ctx))
	return e.v, e.err
}

// years returns the years the page offers: from the first with figures
// to the current one.
func (s *server) years(ctx context.Context) (first, current int, err error) {
	now := s.now().UTC()
	current = now.Year()
	if s.figures.publish == nil {
		return current, current, nil
	}
	earliest := current - spanYears + 1
	pub, err := s.figures.publication(ctx, fmt.Sprintf("%04d-01", earliest), now.Format("2006-01"))
	if err != nil {
		return 0, 0, err
	}
	first = current
	for _, r := range pub.Rows {
		if r.Members.Shown() && r.Members.N == 0 {
			continue
		}
		if y, err := strconv.Atoi(r.Month[:min(4, len(r.Month))]); err == nil && y >= earliest && y < first {
			first = y
		}
	}
	return first, current, nil
}

// period is a year's months as the page shows them: all twelve for a
// past year, and up to the current month for this one.
func period(year int, now time.Time) (from, to string, months []string) {
	last := 12
	if now := now.UTC(); year == now.Year() {
		last = int(now.Month())
	}
	for m := 1; m <= last; m++ {
		months = append(months, fmt.Sprintf("%04d-%02d", year, m))
	}
	return months[0], months[len(months)-1], months
}

// quietLang is the page's language without remembering it: the
// transparency page sets no cookie, so its own links carry the language.
func (s *server) quietLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); canopy.IsLanguage(l) {
		return l
	}
	if c, err := r.Cookie(s.cookieName("lang")); err == nil && canopy.IsLanguage(c.Value) {
		return c.Value
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// transparencyView is the page: the year shown, the years to choose
// from, the node's figures and the network's.
type transparencyView struct {
	Year      int
	SoFar     bool   // the current year, not over
	Period    string // the months shown, in words
	Years     []yearLink
	Available bool // the node's figures are shown
	Generated string
	CSV, JSON string
	// The marks as the page writes them: "<10" as it is, the other as
	// a word.
	Small, Hidden, ChartHidden, ChartNone string
	// FileHidden is the other mark as the downloads write it.
	FileHidden string
	Indicators []indicatorView
	Network    networkView
}

type yearLink struct {
	Year    int
	Href    string
	Current bool
}

// indicatorView is one indicator over the year: a chart and, as the
// accessible record, a table by month.
type indicatorView struct {
	ID, Name, Def          string
	MembersCol, ReachedCol string
	Chart                  template.HTML
	ChartKey               string // what the chart's marks mean, when it has any
	Durations              bool   // the median and 90th percentile columns
	Takedown               bool   // removed within 24 and 72 hours
	Change                 bool   // well-being's mean change
	Rows                   []monthRow
}

// monthRow is one month of an indicator, every cell in words.
type monthRow struct {
	Month                                                    string
	Members, Reached, Share, Median, P90, In24, In72, Change string
}

// networkView is the node's year totals beside each peer's.
type networkView struct {
	Unavailable bool     // peers' figures could not be read
	Shared      []string // who shared which months, one sentence each
	Tables      []networkTable
}

type networkTable struct {
	ID, Name               string
	MembersCol, ReachedCol string
	Takedown               bool
	Rows                   []networkRow
}

type networkRow struct {
	Where      string // the jurisdictions, named
	Node       string
	Own        bool
	Different  bool   // computed under other definitions
	Only       string // the months covered, when not all of the year's
	Members    string
	Reached    string
	Share      string
	In24, In72 string
}

func (s *server) transparency(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := s.quietLang(r)
	now := s.now().UTC()
	first, current, err := s.years(ctx)
	if err != nil {
		s.log.Error("portal: transparency", "err", err)
		first, current = now.Year(), now.Year()
	}
	year, status, banner := current, http.StatusOK, ""
	if err != nil {
		status, banner = http.StatusServiceUnavailable, "transparency.error.unavailable"
	} else if q := r.URL.Query(); q.Has("year") {
		raw := q.Get("year")
		y, perr := strconv.Atoi(raw)
		switch {
		case perr != nil || len(raw) != 4:
			status, banner = http.StatusBadRequest, "transparency.error.year"
		case y < first || y > current:
			status, banner = http.StatusNotFound, "transparency.error.year"
		default:
			year = y
		}
	}
	route := "/transparency"
	if year != current {
		route += "?year=" + strconv.Itoa(year)
	}
	p := s.newPage(w, r, lang, "transparency", route, "transparency.title")
	p.PageCSS = s.assets.URL("figures.css")
	if banner != "" {
		p.Banner = p.T(banner)
	}
	from, to, months := period(year, now)
	var pub *indicators.Publication
	if err == nil && s.figures.publish != nil {
		if pub, err = s.figures.publication(ctx, from, to); err != nil {
			s.log.Error("portal: transparency", "err", err)
			status, p.Banner = http.StatusServiceUnavailable, p.T("transparency.error.unavailable")
		}
	}
	peers, perr := s.figures.peerPublications(ctx)
	if perr != nil {
		s.log.Error("portal: transparency", "err", perr)
	}
	v := newTransparencyView(p.cat, pub, peers, year, year == current, months)
	v.Network.Unavailable = perr != nil
	if pub != nil {
		for y := current; y >= first; y-- {
			href := "/transparency?lang=" + lang
			if y != current {
				href = "/transparency?year=" + strconv.Itoa(y) + "&lang=" + lang
			}
			v.Years = append(v.Years, yearLink{Year: y, Href: href, Current: y == year})
		}
	}
	p.Transparency = v
	s.render(w, r, status, p)
}

// newTransparencyView builds the page from a publication (nil when there
// is none) and the peers' publications, for year's months.
func newTransparencyView(c *i18n.Catalog, pub *indicators.Publication, peers []federation.PeerPublication, year int, soFar bool, months []string) *transparencyView {
	n := newNumbers(c.Lang)
	v := &transparencyView{Year: year, SoFar: soFar, Period: strconv.Itoa(year), Available: pub != nil,
		Small: smallMark(c), Hidden: c.T("transparency.mark.hidden"),
		ChartHidden: c.T("transparency.fmt.chart_hidden"), ChartNone: chartNone, FileHidden: indicators.MarkHidden}
	if soFar {
		v.Period = monthSpan(c, months[0], months[len(months)-1])
	}
	if pub != nil {
		if t, err := time.Parse(time.RFC3339, pub.Generated); err == nil {
			v.Generated = date(c, t)
		}
		v.CSV = "/transparency/" + strconv.Itoa(year) + ".csv"
		v.JSON = "/transparency/" + strconv.Itoa(year) + ".json"
		for _, id := range indicators.Known {
			rows := rowsOf(pub, id, months)
			if rows == nil {
				continue
			}
			v.Indicators = append(v.Indicators, newIndicatorView(c, n, id, rows, months))
		}
	}
	v.Network = newNetworkView(c, n, pub, peers, months)
	return v
}

// rowsOf returns an indicator's rows by month, nil when the publication
// has none of them.
func rowsOf(pub *indicators.Publication, id string, months []string) map[string]indicators.Row {
	var out map[string]indicators.Row
	for _, r := range pub.Rows {
		if r.Indicator == id && slices.Contains(months, r.Month) {
			if out == nil {
				out = map[string]indicators.Row{}
			}
			out[r.Month] = r
		}
	}
	return out
}

// chartKind says what an indicator's chart shows: the median duration,
// the share reached, or (well-being) the mean change.
func chartKind(id string) string {
	switch id {
	case indicators.CaseResolution, indicators.ServiceCompletion:
		return "share"
	case indicators.WellBeing:
		return "change"
	}
	return "median"
}

func newIndicatorView(c *i18n.Catalog, n numbers, id string, rows map[string]indicators.Row, months []string) indicatorView {
	key := "transparency.ind." + id
	v := indicatorView{ID: id, Name: c.T(key + ".name"), Def: c.T(key + ".def"),
		MembersCol: c.T(key + ".members"), ReachedCol: c.T(key + ".reached"),
		Durations: id != indicators.WellBeing, Takedown: id == indicators.Takedown, Change: id == indicators.WellBeing}
	hidden := c.T("transparency.mark.hidden")
	count := func(x indicators.Value) string {
		switch {
		case x.Shown():
			return n.count(x.N)
		case x.Mark == indicators.MarkHidden:
			return hidden
		case x.Mark == indicators.MarkSmall:
			return smallMark(c)
		}
		return x.Mark // a mark of another node's, as it is
	}
	// A figure derived from counts that are withheld is withheld; one with
	// nothing to measure is none.
	missing := func(base indicators.Value) string {
		if base.Shown() && base.N == 0 {
			return c.T("transparency.cell.none")
		}
		return hidden
	}
	for _, m := range months {
		r, ok := rows[m]
		row := monthRow{Month: monthName(c, m)}
		if !ok {
			na := c.T("transparency.cell.not_known")
			row.Members, row.Reached, row.Share, row.Median, row.P90, row.In24, row.In72, row.Change = na, na, na, na, na, na, na, na
			v.Rows = append(v.Rows, row)
			continue
		}
		row.Members, row.Reached = count(r.Members), count(r.Reached)
		row.Share = n.share(c, r.Reached, r.Members)
		if r.MedianSeconds != nil && r.P90Seconds != nil {
			row.Median, row.P90 = n.duration(c, *r.MedianSeconds), n.duration(c, *r.P90Seconds)
		} else {
			row.Median = missing(r.Reached)
			row.P90 = row.Median
		}
		if v.Takedown {
			row.In24, row.In72 = c.T("transparency.cell.not_known"), c.T("transparency.cell.not_known")
			if r.Within24 != nil {
				row.In24 = n.share(c, *r.Within24, r.Members)
			}
			if r.Within72 != nil {
				row.In72 = n.share(c, *r.Within72, r.Members)
			}
		}
		if r.MeanChange != nil {
			row.Change = n.signed(*r.MeanChange)
		} else {
			row.Change = missing(r.Members)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Chart, v.ChartKey = indicatorChart(c, n, v.Name, id, rows, months)
	return v
}

// indicatorChart draws an indicator's bars by month, and says what the
// marks drawn in place of bars mean.
func indicatorChart(c *i18n.Catalog, n numbers, name, id string, rows map[string]indicators.Row, months []string) (template.HTML, string) {
	mark := func(base indicators.Value) string {
		switch {
		case base.Shown() && base.N == 0:
			return chartNone
		case base.Mark == indicators.MarkSmall:
			return indicators.MarkSmall
		}
		return c.T("transparency.fmt.chart_hidden")
	}
	kind := chartKind(id)
	scale, title := 1.0, ""
	switch kind {
	case "share":
		title = c.T("transparency.chart.share", name)
	case "change":
		title = c.T("transparency.chart.change", name)
	default:
		// One unit for the whole chart, the one its longest median reads
		// best in.
		var longest int64
		for _, r := range rows {
			if r.MedianSeconds != nil {
				longest = max(longest, *r.MedianSeconds)
			}
		}
		switch d := time.Duration(longest) * time.Second; {
		case d < time.Hour:
			scale, title = 60, c.T("transparency.chart.median.minutes", name)
		case d < 72*time.Hour:
			scale, title = 3600, c.T("transparency.chart.median.hours", name)
		default:
			scale, title = 86400, c.T("transparency.chart.median.days", name)
		}
	}
	bars := chart.Bars{ID: "chart-" + id, Title: title, Desc: c.T("transparency.chart.desc"), Format: n.axis}
	used := map[string]bool{}
	for _, m := range months {
		b := chart.Bar{Label: shortMonth(c, m)}
		r, ok := rows[m]
		switch {
		case !ok:
			b.Mark = chartNone
		case kind == "share":
			if r.Members.Shown() && r.Reached.Shown() && r.Members.N > 0 {
				b.Value = float64(r.Reached.N) / float64(r.Members.N) * 100
			} else if !r.Members.Shown() || r.Members.N == 0 {
				b.Mark = mark(r.Members)
			} else {
				b.Mark = mark(r.Reached)
			}
		case kind == "change":
			switch {
			case r.MeanChange == nil:
				b.Mark = mark(r.Members)
			case *r.MeanChange < 0:
				// The chart draws upward bars only: a fall is written
				// where its bar would be.
				b.Mark = n.signed(*r.MeanChange)
			default:
				b.Value = *r.MeanChange
			}
		default:
			if r.MedianSeconds != nil {
				b.Value = float64(*r.MedianSeconds) / scale
			} else {
				b.Mark = mark(r.Reached)
			}
		}
		used[b.Mark] = true
		bars.Bars = append(bars.Bars, b)
	}
	var key []string
	if used[indicators.MarkSmall] {
		key = append(key, c.T("transparency.chart.key.small", smallMark(c)))
	}
	if used[c.T("transparency.fmt.chart_hidden")] {
		key = append(key, c.T("transparency.chart.key.hidden", c.T("transparency.fmt.chart_hidden")))
	}
	if used[chartNone] {
		key = append(key, c.T("transparency.chart.key.none", chartNone))
	}
	return bars.SVG(), strings.Join(key, " ")
}

// newNetworkView puts the node's year totals beside each peer's, for
// every indicator either has.
func newNetworkView(c *i18n.Catalog, n numbers, own *indicators.Publication, peers []federation.PeerPublication, months []string) networkView {
	var v networkView
	peers = slices.DeleteFunc(slices.Clone(peers), func(p federation.PeerPublication) bool { return p.Peer.State == canopy.PeerRemoved })
	if len(peers) == 0 {
		return v
	}
	sep := c.T("help.list.sep")
	where := func(codes []string) string {
		var names []string
		for _, j := range codes {
			names = append(names, regionName(c.Lang, j))
		}
		return strings.Join(names, sep)
	}
	type node struct {
		pub        *indicators.Publication
		where      string
		name       string
		own, other bool
	}
	var nodes []node
	if own != nil {
		nodes = append(nodes, node{pub: own, where: where(own.Jurisdictions), name: own.Node, own: true})
	}
	var others []node
	shared := map[*indicators.Publication]string{}
	for i := range peers {
		pp := &peers[i]
		codes := pp.Publication.Jurisdictions
		if len(codes) == 0 {
			codes = pp.Peer.Jurisdictions
		}
		name := cmp.Or(pp.Peer.Name, pp.Publication.Node, pp.Peer.ID)
		nd := node{pub: &pp.Publication, where: cmp.Or(where(codes), name), name: name, other: !pp.Comparable}
		others = append(others, nd)
		what := monthSpan(c, pp.Publication.From, pp.Publication.To)
		if t, err := time.Parse(time.RFC3339, pp.Publication.Generated); err == nil {
			shared[nd.pub] = c.T("transparency.network.shared", nd.where, what, date(c, t))
		} else {
			shared[nd.pub] = c.T("transparency.network.shared_undated", nd.where, what)
		}
	}
	coll := collate.New(language.Make(c.Lang), collate.Loose)
	slices.SortStableFunc(others, func(a, b node) int { return coll.CompareString(a.where, b.where) })
	for _, nd := range others {
		v.Shared = append(v.Shared, shared[nd.pub])
	}
	nodes = append(nodes, others...)
	for _, id := range indicators.Known {
		key := "transparency.ind." + id
		t := networkTable{ID: id, Name: c.T(key + ".name"), MembersCol: c.T(key + ".members"), ReachedCol: c.T(key + ".reached"),
			Takedown: id == indicators.Takedown}
		shared := false
		for _, nd := range nodes {
			rows := rowsOf(nd.pub, id, months)
			shared = shared || rows != nil
			t.Rows = append(t.Rows, newNetworkRow(c, n, nd.where, nd.name, nd.own, nd.other, rows, months))
		}
		if shared {
			v.Tables = append(v.Tables, t)
		}
	}
	return v
}

// newNetworkRow is one node's totals of an indicator over the months it
// published of months: a sum only where every month is shown.
func newNetworkRow(c *i18n.Catalog, n numbers, where, name string, own, different bool, rows map[string]indicators.Row, months []string) networkRow {
	row := networkRow{Where: where, Node: name, Own: own, Different: different}
	if len(rows) == 0 {
		na := c.T("transparency.network.not_shared")
		row.Members, row.Reached, row.Share, row.In24, row.In72 = na, na, na, na, na
		return row
	}
	var covered []string
	for _, m := range months {
		if _, ok := rows[m]; ok {
			covered = append(covered, m)
		}
	}
	if len(covered) < len(months) {
		row.Only = c.T("transparency.network.only", monthSpan(c, covered[0], covered[len(covered)-1]))
	}
	total := func(get func(indicators.Row) *indicators.Value) indicators.Value {
		var out indicators.Value
		for _, m := range covered {
			x := get(rows[m])
			if x == nil || !x.Shown() {
				return indicators.Value{Mark: indicators.MarkHidden}
			}
			out.N += x.N
		}
		return out
	}
	members := total(func(r indicators.Row) *indicators.Value { return &r.Members })
	reached := total(func(r indicators.Row) *indicators.Value { return &r.Reached })
	hidden := c.T("transparency.mark.hidden")
	word := func(x indicators.Value) string {
		if x.Shown() {
			return n.count(x.N)
		}
		return hidden
	}
	row.Members, row.Reached, row.Share = word(members), word(reached), n.share(c, reached, members)
	row.In24 = n.share(c, total(func(r indicators.Row) *indicators.Value { return r.Within24 }), members)
	row.In72 = n.share(c, total(func(r indicators.Row) *indicators.Value { return r.Within72 }), members)
	return row
}

// smallMark is "<10" as the page writes it: in a right-to-left language
// isolated left to right, so that it reads as the files write it rather
// than mirrored.
func smallMark(c *i18n.Catalog) string {
	if c.Dir == "rtl" {
		return "\u2066" + indicators.MarkSmall + "\u2069"
	}
	return indicators.MarkSmall
}

// monthName is "2026-03" in words: "March 2026" would repeat the year
// on every row, so the month alone.
func monthName(c *i18n.Catalog, ym string) string {
	if t, err := time.Parse("2006-01", ym); err == nil {
		return c.T("portal.month." + strconv.Itoa(int(t.Month())))
	}
	return ym
}

// shortMonth is a month's short name, for a chart's axis.
func shortMonth(c *i18n.Catalog, ym string) string {
	if t, err := time.Parse("2006-01", ym); err == nil {
		return c.T("transparency.fmt.month." + strconv.Itoa(int(t.Month())))
	}
	return ym
}

// monthSpan writes months [from, to] in words: "March 2026", "January
// to March 2026", "December 2025 to March 2026".
func monthSpan(c *i18n.Catalog, from, to string) string {
	f, err1 := time.Parse("2006-01", from)
	t, err2 := time.Parse("2006-01", to)
	if err1 != nil || err2 != nil {
		return from + " – " + to
	}
	name := func(m time.Time) string { return c.T("portal.month." + strconv.Itoa(int(m.Month()))) }
	switch {
	case from == to:
		return c.T("transparency.period.month", name(f), f.Year())
	case f.Year() == t.Year():
		return c.T("transparency.period.months", name(f), name(t), t.Year())
	}
	return c.T("transparency.period.span", c.T("transparency.period.month", name(f), f.Year()), c.T("transparency.period.month", name(t), t.Year()))
}

// numbers writes figures the way the reader's language does, in the
// digits the rest of the portal uses.
type numbers struct{ p *message.Printer }

func newNumbers(lang string) numbers {
	return numbers{message.NewPrinter(language.Make(lang + "-u-nu-latn"))}
}

func (n numbers) count(v int64) string { return n.p.Sprint(number.Decimal(v)) }

// axis writes a chart's axis value.
func (n numbers) axis(v float64) string {
	return n.p.Sprint(number.Decimal(v, number.MaxFractionDigits(1)))
}

func (n numbers) decimal(v float64) string {
	return n.p.Sprint(number.Decimal(v, number.MinFractionDigits(1), number.MaxFractionDigits(1)))
}

// signed writes a change with its sign, "+3.5" or "-2.0".
func (n numbers) signed(v float64) string {
	if v > 0 {
		return "+" + n.decimal(v)
	}
	return n.decimal(v)
}

// share writes part of whole as a percentage, or "not known" when either
// is withheld or whole is zero.
func (n numbers) share(c *i18n.Catalog, part, whole indicators.Value) string {
	if !part.Shown() || !whole.Shown() || whole.N == 0 {
		return c.T("transparency.cell.not_known")
	}
	return n.p.Sprint(number.Percent(float64(part.N)/float64(whole.N), number.MaxFractionDigits(0)))
}

// duration writes a duration in seconds in the unit it reads best in, as
// indicators.Format does, in the reader's words.
func (n numbers) duration(c *i18n.Catalog, seconds int64) string {
	d := time.Duration(seconds) * time.Second
	switch {
	case d < time.Minute:
		return c.T("transparency.fmt.seconds", n.count(seconds))
	case d < time.Hour:
		return c.T("transparency.fmt.minutes", n.count(int64(d.Minutes())))
	case d < 72*time.Hour:
		return c.T("transparency.fmt.hours", n.decimal(d.Hours()))
	}
	return c.T("transparency.fmt.days", n.decimal(d.Hours()/24))
}

// transparencyFile serves a year's publication as CSV or JSON:
// /transparency/2025.csv, /transparency/2025.json.
func (s *server) transparencyFile(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	year, ext, _ := strings.Cut(r.PathValue("file"), ".")
	y, err := strconv.Atoi(year)
	if err != nil || len(year) != 4 || (ext != "csv" && ext != "json") || s.figures.publish == nil {
		s.message(w, r, s.quietLang(r), http.StatusNotFound, "portal.notfound.title", "portal.notfound.body")
		return
	}
	first, current, err := s.years(ctx)
	if err != nil {
		s.log.Error("portal: transparency file", "err", err)
		s.message(w, r, s.quietLang(r), http.StatusServiceUnavailable, "portal.error.title", "transparency.error.unavailable")
		return
	}
	if y < first || y > current {
		s.message(w, r, s.quietLang(r), http.StatusNotFound, "portal.notfound.title", "portal.notfound.body")
		return
	}
	from, to, _ := period(y, s.now())
	pub, err := s.figures.publication(ctx, from, to)
	if err != nil {
		s.log.Error("portal: transparency file", "err", err)
		s.message(w, r, s.quietLang(r), http.StatusServiceUnavailable, "portal.error.title", "transparency.error.unavailable")
		return
	}
	var buf bytes.Buffer
	ctype := "application/json"
	if ext == "csv" {
		ctype = "text/csv; charset=utf-8; header=present"
		err = writePublicationCSV(&buf, pub)
	} else {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(pub)
	}
	if err != nil {
		s.log.Error("portal: transparency file", "err", err)
		s.message(w, r, s.quietLang(r), http.StatusInternalServerError, "portal.error.title", "portal.error.internal")
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "transparency-" + year + "." + ext}))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// csvColumns are the CSV's columns: a row's JSON names.
var csvColumns = []string{"indicator", "month", "members", "reached", "median_seconds", "p90_seconds", "within_24h", "within_72h", "mean_change"}

// writePublicationCSV writes one line per indicator and month, withheld
// counts as their marks. An empty cell is a figure the row does not have
// (durations withheld or not measured, the takedown windows of other
// indicators).
func writePublicationCSV(w *bytes.Buffer, pub *indicators.Publication) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	opt := func(v *indicators.Value) string {
		if v == nil {
			return ""
		}
		return v.String()
	}
	secs := func(d *int64) string {
		if d == nil {
			return ""
		}
		return strconv.FormatInt(*d, 10)
	}
	for _, r := range pub.Rows {
		change := ""
		if r.MeanChange != nil {
			change = strconv.FormatFloat(*r.MeanChange, 'f', -1, 64)
		}
		rec := []string{r.Indicator, r.Month, r.Members.String(), r.Reached.String(), secs(r.MedianSeconds), secs(r.P90Seconds),
			opt(r.Within24), opt(r.Within72), change}
		for i, f := range rec {
			rec[i] = csvfile.Protect(f)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
