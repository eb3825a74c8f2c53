// Package opsmetrics gives a node's operators Prometheus metrics: requests
// by route, queue depths, federation outbox lag, takedown backlog, match
// latency and the audit log's size, served at /metrics in the Prometheus
// text exposition format (version 0.0.4), written here by hand rather than
// through a client library.
//
// Nothing about a person or a report can appear in the output: a label's
// values come only from sets the code or the operator fixes (route
// patterns, methods, status classes, triage stages, peer ids). Request
// paths, report ids, addresses, user agents and account names are never
// labels, and a family refuses new label sets beyond a fixed bound.
//
// It is distinct from internal/indicators, which computes the hotline's
// own statistics (reports by category, time to assessment) for staff and
// publication; this package is for the people who keep the node running.
package opsmetrics

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxLabels bounds how many labels a family may have, so that a label set
// fits a fixed-size array key and looking a series up allocates nothing.
const maxLabels = 4

// DefaultMaxSeries bounds the label sets of one family. Label values come
// from fixed sets, so the bound is never met in practice; if a bug ever fed
// a family open-ended values, the excess is counted under Other instead of
// growing without limit.
const DefaultMaxSeries = 1000

// Other is the label value for what is not a known value: a request that
// matched no route pattern, a method outside the standard ones, and every
// label of a series past a family's bound.
const Other = "other"

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Registry holds a node's metric families and writes them out. Its methods
// are safe for concurrent use. Families are registered at start-up; a
// name registered twice, or an invalid name, is a programming error and
// panics.
type Registry struct {
	log *slog.Logger

	mu         sync.Mutex
	families   map[string]family
	collectors []*collector

	collectErrors *CounterVec
}

// family is one metric family as the exposition writes it.
type family interface {
	desc() *desc
	// write appends the family's sample lines (not HELP and TYPE).
	write(b *bytes.Buffer)
}

// desc is what every family has: a name, help, a type and label names.
type desc struct {
	name, help, typ string
	labels          []string
}

// NewRegistry returns an empty registry that logs collectors' failures to
// log (nil discards them). It registers one family of its own,
// canopy_metrics_collector_errors_total.
func NewRegistry(log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Registry{log: log, families: map[string]family{}}
	r.collectErrors = r.NewCounterVec("canopy_metrics_collector_errors_total",
		"Scrapes at which a collector failed or timed out; its series were left out of that scrape.", "collector")
	return r
}

// register checks a new family's names and adds it.
func (r *Registry) register(f family) {
	d := f.desc()
	if !metricName.MatchString(d.name) {
		panic(fmt.Sprintf("opsmetrics: invalid metric name %q", d.name))
	}
	if len(d.labels) > maxLabels {
		panic(fmt.Sprintf("opsmetrics: %s has %d labels; at most %d", d.name, len(d.labels), maxLabels))
	}
	for i, l := range d.labels {
		if !labelName.MatchString(l) || strings.HasPrefix(l, "__") || (d.typ == "histogram" && l == "le") ||
			slices.Contains(d.labels[:i], l) {
			panic(fmt.Sprintf("opsmetrics: %s: invalid or repeated label name %q", d.name, l))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A histogram writes name_bucket, name_sum and name_count, so those
	// names are taken too.
	names := []string{d.name}
	if d.typ == "histogram" {
		names = append(names, d.name+"_bucket", d.name+"_sum", d.name+"_count")
	}
	for _, n := range names {
		if _, ok := r.families[n]; ok {
			panic(fmt.Sprintf("opsmetrics: %s registered twice", n))
		}
	}
	for n, g := range r.families {
		if g.desc().typ == "histogram" && (d.name == n+"_bucket" || d.name == n+"_sum" || d.name == n+"_count") {
			panic(fmt.Sprintf("opsmetrics: %s collides with histogram %s", d.name, n))
		}
	}
	r.families[d.name] = f
}

// labelKey is a series' label values, in the order of the family's label
// names; unused places are empty.
type labelKey [maxLabels]string

// vec is a family's series, one per label set, created on first use. The
// map is replaced, never changed, so a lookup takes no lock.
type vec[T any] struct {
	d         desc
	newSeries func() *T
	series    atomic.Pointer[map[labelKey]*T]
	mu        sync.Mutex // serialises additions
	max       int
}

func newVec[T any](d desc, newSeries func() *T) *vec[T] {
	v := &vec[T]{d: d, newSeries: newSeries, max: DefaultMaxSeries}
	m := map[labelKey]*T{}
	v.series.Store(&m)
	return v
}

func (v *vec[T]) desc() *desc { return &v.d }

// with returns the series for a label set, adding it if it is new. The
// values must come from a fixed set: they are written out as they are.
func (v *vec[T]) with(values []string) *T {
	var k labelKey
	if len(values) != len(v.d.labels) {
		// A programming error, but one that must not fail a request:
		// it is counted under Other.
		return v.add(k, true)
	}
	copy(k[:], values)
	if s, ok := (*v.series.Load())[k]; ok {
		return s
	}
	return v.add(k, false)
}

func (v *vec[T]) add(k labelKey, other bool) *T {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := *v.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	if other || len(old) >= v.max {
		for i := range v.d.labels {
			k[i] = Other
		}
		if s, ok := old[k]; ok {
			return s
		}
	}
	m := make(map[labelKey]*T, len(old)+1)
	for kk, s := range old {
		m[kk] = s
	}
	s := v.newSeries()
	m[k] = s
	v.series.Store(&m)
	return s
}

// sorted returns the series ordered by their label values, for a stable
// output.
func (v *vec[T]) sorted() []seriesOf[T] {
	m := *v.series.Load()
	out := make([]seriesOf[T], 0, len(m))
	for k, s := range m {
		out = append(out, seriesOf[T]{k, s})
	}
	slices.SortFunc(out, func(a, b seriesOf[T]) int { return compareKeys(a.key, b.key) })
	return out
}

type seriesOf[T any] struct {
	key labelKey
	s   *T
}

func compareKeys(a, b labelKey) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// Counter is a count that only goes up.
type Counter struct{ n atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.n.Load() }

// CounterVec is a counter family with labels.
type CounterVec struct{ v *vec[Counter] }

// NewCounterVec registers a counter family; its name should end in _total.
func (r *Registry) NewCounterVec(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{newVec(desc{name, help, "counter", labels}, func() *Counter { return new(Counter) })}
	r.register(c)
	return c
}

// NewCounter registers a counter without labels.
func (r *Registry) NewCounter(name, help string) *Counter {
	return r.NewCounterVec(name, help).With()
}

// With returns the counter for these label values, in the order of the
// label names. The values must come from a fixed set.
func (c *CounterVec) With(values ...string) *Counter { return c.v.with(values) }

func (c *CounterVec) desc() *desc { return c.v.desc() }

func (c *CounterVec) write(b *bytes.Buffer) {
	for _, s := range c.v.sorted() {
		writeSample(b, c.v.d.name, "", c.v.d.labels, s.key, "", "")
		b.WriteString(strconv.FormatUint(s.s.Value(), 10))
		b.WriteByte('\n')
	}
}

// Gauge is a value that goes up and down.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds d, which may be negative.
func (g *Gauge) Add(d float64) { addFloat(&g.bits, d) }

// Value returns the gauge's value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func addFloat(bits *atomic.Uint64, d float64) {
	for {
		old := bits.Load()
		if bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// GaugeVec is a gauge family with labels, set by the code that knows the
// value. For a value read from the database at each scrape, use
// NewCollectedGauge.
type GaugeVec struct{ v *vec[Gauge] }

// NewGaugeVec registers a gauge family.
func (r *Registry) NewGaugeVec(name, help string, labels ...string) *GaugeVec {
	g := &GaugeVec{newVec(desc{name, help, "gauge", labels}, func() *Gauge { return new(Gauge) })}
	r.register(g)
	return g
}

// NewGauge registers a gauge without labels.
func (r *Registry) NewGauge(name, help string) *Gauge { return r.NewGaugeVec(name, help).With() }

// With returns the gauge for these label values.
func (g *GaugeVec) With(values ...string) *Gauge { return g.v.with(values) }

func (g *GaugeVec) desc() *desc { return g.v.desc() }

func (g *GaugeVec) write(b *bytes.Buffer) {
	for _, s := range g.v.sorted() {
		writeSample(b, g.v.d.name, "", g.v.d.labels, s.key, "", "")
		b.WriteString(formatFloat(s.s.Value()))
		b.WriteByte('\n')
	}
}

// Histogram counts observations into buckets. Each observation is two
// atomic additions and, for the sum, a compare-and-swap.
type Histogram struct {
	upper  []float64       // the buckets' upper bounds, ascending, without +Inf
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Uint64   // float64 bits
}

// Observe records v. NaN is ignored: it would make the sum NaN for good.
func (h *Histogram) Observe(v float64) {
	if math.IsNaN(v) {
		return
	}
	i := 0
	for i < len(h.upper) && v > h.upper[i] {
		i++
	}
	h.counts[i].Add(1)
	addFloat(&h.sum, v)
}

// ObserveDuration records d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) { h.Observe(d.Seconds()) }

// HistogramVec is a histogram family with labels.
type HistogramVec struct {
	v *vec[Histogram]
}

// Buckets for durations, in seconds.
var (
	// RequestBuckets suit HTTP requests: 5 ms to 10 s.
	RequestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// MatchBuckets suit in-memory hash matching: 10 µs to 1 s.
	MatchBuckets = []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
)

// NewHistogramVec registers a histogram family with the given bucket
// upper bounds, which must be finite and ascending; +Inf is added.
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if len(buckets) == 0 {
		panic(fmt.Sprintf("opsmetrics: %s has no buckets", name))
	}
	for i, u := range buckets {
		if math.IsNaN(u) || math.IsInf(u, 0) || (i > 0 && u <= buckets[i-1]) {
			panic(fmt.Sprintf("opsmetrics: %s: buckets must be finite and ascending", name))
		}
	}
	upper := slices.Clone(buckets)
	h := &HistogramVec{newVec(desc{name, help, "histogram", labels}, func() *Histogram {
		return &Histogram{upper: upper, counts: make([]atomic.Uint64, len(upper)+1)}
	})}
	r.register(h)
	return h
}

// NewHistogram registers a histogram without labels.
func (r *Registry) NewHistogram(name, help string, buckets []float64) *Histogram {
	return r.NewHistogramVec(name, help, buckets).With()
}

// With returns the histogram for these label values.
func (h *HistogramVec) With(values ...string) *Histogram { return h.v.with(values) }

func (h *HistogramVec) desc() *desc { return h.v.desc() }

func (h *HistogramVec) write(b *bytes.Buffer) {
	for _, s := range h.v.sorted() {
		// Read the buckets once: count is their total, so _count and
		// the +Inf bucket always agree even while requests come in.
		var cum uint64
		for i := range s.s.counts {
			cum += s.s.counts[i].Load()
			le := "+Inf"
			if i < len(s.s.upper) {
				le = formatFloat(s.s.upper[i])
			}
			writeSample(b, h.v.d.name, "_bucket", h.v.d.labels, s.key, "le", le)
			b.WriteString(strconv.FormatUint(cum, 10))
			b.WriteByte('\n')
		}
		writeSample(b, h.v.d.name, "_sum", h.v.d.labels, s.key, "", "")
		b.WriteString(formatFloat(math.Float64frombits(s.s.sum.Load())))
		b.WriteByte('\n')
		writeSample(b, h.v.d.name, "_count", h.v.d.labels, s.key, "", "")
		b.WriteString(strconv.FormatUint(cum, 10))
		b.WriteByte('\n')
	}
}

// CollectedGauge is a gauge family whose samples a collector reads afresh
// at each scrape, such as a queue's depth counted in the database. Only
// the samples set during a scrape are written: a series not set, or set by
// a collector that failed, is absent from that scrape.
type CollectedGauge struct{ d desc }

// NewCollectedGauge registers a gauge family set by collectors.
func (r *Registry) NewCollectedGauge(name, help string, labels ...string) *CollectedGauge {
	g := &CollectedGauge{desc{name, help, "gauge", labels}}
	r.register(g)
	return g
}

func (g *CollectedGauge) desc() *desc { return &g.d }

// write is a no-op: collected samples are written from the scrape.
func (g *CollectedGauge) write(*bytes.Buffer) {}

// Scrape receives a collector's samples during one scrape. Its methods
// are safe for concurrent use, for a collector that reads in parallel.
type Scrape struct {
	mu      sync.Mutex
	samples map[*CollectedGauge]map[labelKey]float64
	err     error
}

// Set sets a sample of g for this scrape. Setting the same label values
// twice keeps the last value. Values must come from a fixed set.
func (s *Scrape) Set(g *CollectedGauge, v float64, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(values) != len(g.d.labels) {
		s.err = fmt.Errorf("opsmetrics: %s takes %d label values, got %d", g.d.name, len(g.d.labels), len(values))
		return
	}
	var k labelKey
	copy(k[:], values)
	m := s.samples[g]
	if m == nil {
		m = map[labelKey]float64{}
		s.samples[g] = m
	}
	m[k] = v
}

// collector is a function that sets collected gauges at scrape time.
type collector struct {
	name    string
	timeout time.Duration
	fn      func(ctx context.Context, s *Scrape) error
	errors  *Counter
}

// Collect registers fn to run at every scrape, with a context that ends
// after timeout. fn sets its gauges through the Scrape it is given. If fn
// fails, panics or outlasts its timeout, what it set is dropped from that
// scrape, canopy_metrics_collector_errors_total{collector=name} goes up
// and the error is logged. Collectors run concurrently with each other.
func (r *Registry) Collect(name string, timeout time.Duration, fn func(ctx context.Context, s *Scrape) error) {
	if name == "" || timeout <= 0 {
		panic("opsmetrics: a collector needs a name and a timeout")
	}
	c := &collector{name: name, timeout: timeout, fn: fn, errors: r.collectErrors.With(name)}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.collectors {
		if o.name == name {
			panic(fmt.Sprintf("opsmetrics: collector %s registered twice", name))
		}
	}
	r.collectors = append(r.collectors, c)
}

// run calls the collector and returns what it set, or nil if it failed.
func (c *collector) run(ctx context.Context) (*Scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// The scrape is the goroutine's own: if the collector outlasts its
	// timeout, what it writes later is never read.
	s := &Scrape{samples: map[*CollectedGauge]map[labelKey]float64{}}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("panic: %v", v)
			}
		}()
		done <- c.fn(ctx, s)
	}()
	select {
	case err := <-done:
		if err == nil {
			s.mu.Lock()
			err = s.err
			s.mu.Unlock()
		}
		if err != nil {
			return nil, err
		}
		return s, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("after %v: %w", c.timeout, ctx.Err())
	}
}

// WriteTo runs the collectors and writes every family in the text
// exposition format, families sorted by name and series by label values.
func (r *Registry) WriteTo(ctx context.Context, w io.Writer) error {
	r.mu.Lock()
	collectors := slices.Clone(r.collectors)
	families := make([]family, 0, len(r.families))
	for _, f := range r.families {
		families = append(families, f)
	}
	r.mu.Unlock()

	scrapes := make([]*Scrape, len(collectors))
	var wg sync.WaitGroup
	for i, c := range collectors {
		wg.Go(func() {
			s, err := c.run(ctx)
			if err != nil && ctx.Err() != nil {
				// The scraper went away: the collector did not fail.
				return
			}
			if err != nil {
				c.errors.Inc()
				r.log.Warn("metrics: collector failed", "collector", c.name, "err", err)
				return
			}
			scrapes[i] = s
		})
	}
	wg.Wait()
	collected := map[*CollectedGauge]map[labelKey]float64{}
	for _, s := range scrapes {
		if s == nil {
			continue
		}
		for g, m := range s.samples {
			if collected[g] == nil {
				collected[g] = map[labelKey]float64{}
			}
			for k, v := range m {
				collected[g][k] = v
			}
		}
	}

	slices.SortFunc(families, func(a, b family) int { return cmp.Compare(a.desc().name, b.desc().name) })
	var b bytes.Buffer
	for _, f := range families {
		d := f.desc()
		b.WriteString("# HELP ")
		b.WriteString(d.name)
		b.WriteByte(' ')
		writeEscaped(&b, d.help, false)
		b.WriteString("\n# TYPE ")
		b.WriteString(d.name)
		b.WriteByte(' ')
		b.WriteString(d.typ)
		b.WriteByte('\n')
		if g, ok := f.(*CollectedGauge); ok {
			keys := make([]labelKey, 0, len(collected[g]))
			for k := range collected[g] {
				keys = append(keys, k)
			}
			slices.SortFunc(keys, compareKeys)
			for _, k := range keys {
				writeSample(&b, d.name, "", d.labels, k, "", "")
				b.WriteString(formatFloat(collected[g][k]))
				b.WriteByte('\n')
			}
			continue
		}
		f.write(&b)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeSample writes a sample's name and labels and the space before its
// value; extraName and extraValue add a last label (a histogram's le).
func writeSample(b *bytes.Buffer, name, suffix string, labels []string, k labelKey, extraName, extraValue string) {
	b.WriteString(name)
	b.WriteString(suffix)
	if len(labels) > 0 || extraName != "" {
		b.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(l)
			b.WriteString(`="`)
			writeEscaped(b, k[i], true)
			b.WriteByte('"')
		}
		if extraName != "" {
			if len(labels) > 0 {
				b.WriteByte(',')
			}
			b.WriteString(extraName)
			b.WriteString(`="`)
			b.WriteString(extraValue)
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
}

// writeEscaped writes s as the format requires: in HELP text a backslash
// and a line feed are escaped; in a label value, a double quote too.
// Invalid UTF-8 becomes U+FFFD, as the format takes only UTF-8.
func writeEscaped(b *bytes.Buffer, s string, quote bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '"' && quote:
			b.WriteString(`\"`)
		default:
			b.WriteByte(c)
		}
	}
}

// formatFloat writes a value as Prometheus's own clients do.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
