package opsmetrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/opsmetrics"
)

// scrape writes the registry out and parses it back.
func scrape(t *testing.T, r *opsmetrics.Registry) (*exposition, string) {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteTo(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	e, err := parse(b.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return e, b.String()
}

// TestExpositionGolden pins the exact bytes of a small registry: HELP and
// TYPE lines, escaping, ordering of families and series, and number
// formatting.
func TestExpositionGolden(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	c := r.NewCounterVec("test_events_total", "Events, with a backslash \\ and a\nline feed.", "kind", "peer")
	c.With("b", "nl").Add(3)
	c.With("a", `quote " backslash \ line`+"\n"+"feed").Inc()
	c.With("a", "be").Add(2)
	g := r.NewGauge("test_depth", "A depth.")
	g.Set(2.5)
	h := r.NewHistogram("test_seconds", "A time.", []float64{0.5, 1})
	h.Observe(0.25)
	h.Observe(1)
	h.Observe(7)
	_, got := scrape(t, r)
	want := `# HELP canopy_metrics_collector_errors_total Scrapes at which a collector failed or timed out; its series were left out of that scrape.
# TYPE canopy_metrics_collector_errors_total counter
# HELP test_depth A depth.
# TYPE test_depth gauge
test_depth 2.5
# HELP test_events_total Events, with a backslash \\ and a\nline feed.
# TYPE test_events_total counter
test_events_total{kind="a",peer="be"} 2
test_events_total{kind="a",peer="quote \" backslash \\ line\nfeed"} 1
test_events_total{kind="b",peer="nl"} 3
# HELP test_seconds A time.
# TYPE test_seconds histogram
test_seconds_bucket{le="0.5"} 1
test_seconds_bucket{le="1"} 2
test_seconds_bucket{le="+Inf"} 3
test_seconds_sum 8.25
test_seconds_count 3
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestLabelEscapingRoundTrip writes awkward label values and help text and
// reads them back unchanged through the strict parser.
func TestLabelEscapingRoundTrip(t *testing.T) {
	values := []string{
		`"`, `\`, "\n", `\n`, `\"`, `a"b\c` + "\n" + `d`, "", " ", "{}", "=,", "ünïcödé", "\\\\\"\"\n\n", "tab\there",
	}
	help := "Help with \\ and \n and \" and \\n."
	r := opsmetrics.NewRegistry(nil)
	c := r.NewCounterVec("test_escaped_total", help, "v")
	for i, v := range values {
		c.With(v).Add(uint64(i + 1))
	}
	e, text := scrape(t, r)
	f := e.families["test_escaped_total"]
	if f.help != help {
		t.Errorf("help = %q; want %q", f.help, help)
	}
	for i, v := range values {
		if got := e.value(t, "test_escaped_total", "v", v); got != float64(i+1) {
			t.Errorf("value for %q = %v; want %d", v, got, i+1)
		}
	}
	if len(f.samples) != len(values) {
		t.Errorf("%d samples; want %d\n%s", len(f.samples), len(values), text)
	}
	// Invalid UTF-8 cannot be written; it becomes U+FFFD.
	c.With("bad\xffbyte").Inc()
	e, _ = scrape(t, r)
	if _, ok := e.lookup("test_escaped_total", "v", "bad\uFFFDbyte"); !ok {
		t.Error("invalid UTF-8 not replaced")
	}
}

func TestHistogramCumulative(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	h := r.NewHistogramVec("test_latency_seconds", "Latency.", []float64{0.001, 0.01, 0.1, 1}, "op")
	obs := []float64{0, 0.0005, 0.001, 0.002, 0.01, 0.05, 0.5, 1, 2, 100, math.Inf(1), math.NaN()}
	for _, v := range obs {
		h.With("read").Observe(v)
	}
	h.With("write").ObserveDuration(3 * time.Millisecond)
	e, text := scrape(t, r)
	// le is inclusive: 0.001 falls in le="0.001", 1 in le="1".
	want := map[string]float64{"0.001": 3, "0.01": 5, "0.1": 6, "1": 8, "+Inf": 11}
	for le, n := range want {
		if got := e.value(t, "test_latency_seconds_bucket", "op", "read", "le", le); got != n {
			t.Errorf("bucket le=%s = %v; want %v\n%s", le, got, n, text)
		}
	}
	if got := e.value(t, "test_latency_seconds_count", "op", "read"); got != 11 {
		t.Errorf("count = %v; want 11 (NaN is not counted)", got)
	}
	if got := e.value(t, "test_latency_seconds_sum", "op", "read"); !math.IsInf(got, 1) {
		t.Errorf("sum = %v; want +Inf", got)
	}
	if got := e.value(t, "test_latency_seconds_bucket", "op", "write", "le", "0.001"); got != 0 {
		t.Errorf("write le=0.001 = %v; want 0", got)
	}
	if got := e.value(t, "test_latency_seconds_bucket", "op", "write", "le", "0.01"); got != 1 {
		t.Errorf("write le=0.01 = %v; want 1", got)
	}
	if got := e.value(t, "test_latency_seconds_sum", "op", "write"); math.Abs(got-0.003) > 1e-12 {
		t.Errorf("write sum = %v; want 0.003", got)
	}
}

// TestStableOrder registers families and series in scrambled order and
// expects the same sorted output every time.
func TestStableOrder(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	z := r.NewGaugeVec("test_z", "Z.", "a", "b")
	a := r.NewCounterVec("test_a_total", "A.", "x")
	for _, k := range []string{"q", "c", "m", "a", "z", "b"} {
		a.With(k).Inc()
		z.With(k, "2").Set(1)
		z.With(k, "1").Set(2)
	}
	_, first := scrape(t, r)
	for range 20 {
		if _, again := scrape(t, r); again != first {
			t.Fatalf("output changed:\n%s\nthen\n%s", first, again)
		}
	}
	if !strings.Contains(first, "test_z{a=\"a\",b=\"1\"} 2\ntest_z{a=\"a\",b=\"2\"} 1\ntest_z{a=\"b\",b=\"1\"} 2\n") {
		t.Errorf("series not sorted by label values:\n%s", first)
	}
	// parse already refuses families out of order.

	// Collected series too, though they come from a fresh map each time.
	g := r.NewCollectedGauge("test_collected", "Collected.", "k")
	r.Collect("scrambled", time.Second, func(ctx context.Context, s *opsmetrics.Scrape) error {
		for _, k := range []string{"q", "c", "m", "a", "z", "b"} {
			s.Set(g, 1, k)
		}
		return nil
	})
	_, first = scrape(t, r)
	if !strings.Contains(first, "test_collected{k=\"a\"} 1\ntest_collected{k=\"b\"} 1\ntest_collected{k=\"c\"} 1\ntest_collected{k=\"m\"} 1\n") {
		t.Errorf("collected series not sorted:\n%s", first)
	}
	for range 20 {
		if _, again := scrape(t, r); again != first {
			t.Fatalf("output changed:\n%s\nthen\n%s", first, again)
		}
	}
}

func TestConcurrentUpdatesAndScrapes(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	c := r.NewCounterVec("test_ops_total", "Ops.", "op")
	g := r.NewGauge("test_level", "Level.")
	h := r.NewHistogramVec("test_op_seconds", "Op time.", []float64{0.5}, "op")
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var scrapes sync.WaitGroup
	scrapes.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			var b bytes.Buffer
			if err := r.WriteTo(context.Background(), &b); err != nil {
				t.Error(err)
				return
			}
			if _, err := parse(b.String()); err != nil {
				t.Errorf("mid-flight scrape: %v", err)
				return
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			op := fmt.Sprintf("op%d", w%3)
			for i := range each {
				c.With(op).Inc()
				g.Add(1)
				h.With(op).Observe(float64(i%2) * 0.75) // half in le=0.5, half above
			}
		})
	}
	wg.Wait()
	close(stop)
	scrapes.Wait()
	e, _ := scrape(t, r)
	total := 0.0
	for i := range 3 {
		op := fmt.Sprintf("op%d", i)
		total += e.value(t, "test_ops_total", "op", op)
		n := e.value(t, "test_op_seconds_count", "op", op)
		if low := e.value(t, "test_op_seconds_bucket", "op", op, "le", "0.5"); low != n/2 {
			t.Errorf("%s: le=0.5 %v of %v; want half", op, low, n)
		}
		if sum := e.value(t, "test_op_seconds_sum", "op", op); sum != n/2*0.75 {
			t.Errorf("%s: sum %v; want %v", op, sum, n/2*0.75)
		}
	}
	if total != workers*each {
		t.Errorf("counted %v; want %d", total, workers*each)
	}
	if v := e.value(t, "test_level"); v != workers*each {
		t.Errorf("gauge %v; want %d", v, workers*each)
	}
}

// TestSeriesBound feeds a family more label values than it takes: the
// excess is counted under "other", and the family stops growing.
func TestSeriesBound(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	c := r.NewCounterVec("test_bounded_total", "Bounded.", "k", "j")
	for i := range opsmetrics.DefaultMaxSeries + 100 {
		c.With(fmt.Sprint(i), "x").Inc()
	}
	c.With("only one value").Inc() // the wrong number of values
	e, _ := scrape(t, r)
	f := e.families["test_bounded_total"]
	if len(f.samples) != opsmetrics.DefaultMaxSeries+1 {
		t.Errorf("%d series; want %d", len(f.samples), opsmetrics.DefaultMaxSeries+1)
	}
	if got := e.value(t, "test_bounded_total", "k", "other", "j", "other"); got != 101 {
		t.Errorf("other = %v; want 101", got)
	}
}

func TestRegisterRefuses(t *testing.T) {
	for name, fn := range map[string]func(r *opsmetrics.Registry){
		"same name twice": func(r *opsmetrics.Registry) {
			r.NewGauge("test_x", "X.")
			r.NewCounter("test_x", "X.")
		},
		"invalid name":       func(r *opsmetrics.Registry) { r.NewGauge("test-x", "X.") },
		"invalid label":      func(r *opsmetrics.Registry) { r.NewGaugeVec("test_x", "X.", "a-b") },
		"reserved label":     func(r *opsmetrics.Registry) { r.NewGaugeVec("test_x", "X.", "__name") },
		"label twice":        func(r *opsmetrics.Registry) { r.NewGaugeVec("test_x", "X.", "a", "a") },
		"le on a histogram":  func(r *opsmetrics.Registry) { r.NewHistogramVec("test_x", "X.", []float64{1}, "le") },
		"too many labels":    func(r *opsmetrics.Registry) { r.NewGaugeVec("test_x", "X.", "a", "b", "c", "d", "e") },
		"buckets descending": func(r *opsmetrics.Registry) { r.NewHistogram("test_x", "X.", []float64{2, 1}) },
		"no buckets":         func(r *opsmetrics.Registry) { r.NewHistogram("test_x", "X.", nil) },
		"histogram suffix taken": func(r *opsmetrics.Registry) {
			r.NewHistogram("test_x", "X.", []float64{1})
			r.NewGauge("test_x_count", "X.")
		},
		"name taken by a later histogram": func(r *opsmetrics.Registry) {
			r.NewGauge("test_x_sum", "X.")
			r.NewHistogram("test_x", "X.", []float64{1})
		},
		"collector twice": func(r *opsmetrics.Registry) {
			fn := func(context.Context, *opsmetrics.Scrape) error { return nil }
			r.Collect("c", time.Second, fn)
			r.Collect("c", time.Second, fn)
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			fn(opsmetrics.NewRegistry(nil))
		})
	}
}

// TestCollectors checks collected gauges: set afresh at every scrape,
// and left out, with the error counted, when their collector fails, panics
// or hangs, while the other collectors' series stay.
func TestCollectors(t *testing.T) {
	r := opsmetrics.NewRegistry(nil)
	depth := r.NewCollectedGauge("test_queue_depth", "Depth.", "queue")
	broken := r.NewCollectedGauge("test_broken", "Broken.")
	var n float64
	var mu sync.Mutex
	r.Collect("good", time.Second, func(ctx context.Context, s *opsmetrics.Scrape) error {
		mu.Lock()
		defer mu.Unlock()
		s.Set(depth, n, "a")
		s.Set(depth, 2*n, "b")
		return nil
	})
	var fail struct{ erring, panicking, hanging, miscounted atomic.Bool }
	r.Collect("erring", time.Second, func(ctx context.Context, s *opsmetrics.Scrape) error {
		s.Set(broken, 1)
		if fail.erring.Load() {
			return errors.New("database is down")
		}
		return nil
	})
	r.Collect("panicking", time.Second, func(ctx context.Context, s *opsmetrics.Scrape) error {
		s.Set(depth, 7, "p")
		if fail.panicking.Load() {
			panic("boom")
		}
		return nil
	})
	release, finished := make(chan struct{}), make(chan struct{})
	r.Collect("hanging", 50*time.Millisecond, func(ctx context.Context, s *opsmetrics.Scrape) error {
		if fail.hanging.Load() {
			// Ignores its context, as a badly written collector
			// might, until the test lets it go.
			select {
			case <-release:
			case <-time.After(10 * time.Second): // the timeout is broken: fail, don't hang
			}
			s.Set(depth, 99, "h")
			close(finished)
			return nil
		}
		s.Set(depth, 5, "h")
		return nil
	})
	r.Collect("miscounted", time.Second, func(ctx context.Context, s *opsmetrics.Scrape) error {
		s.Set(depth, 1, "m")
		if fail.miscounted.Load() {
			s.Set(depth, 1) // no label value: an error, not a panic
		}
		return nil
	})

	mu.Lock()
	n = 3
	mu.Unlock()
	e, _ := scrape(t, r)
	for q, want := range map[string]float64{"a": 3, "b": 6, "p": 7, "h": 5, "m": 1} {
		if got := e.value(t, "test_queue_depth", "queue", q); got != want {
			t.Errorf("depth %s = %v; want %v", q, got, want)
		}
	}
	if e.value(t, "test_broken") != 1 {
		t.Error("test_broken not set")
	}

	for _, f := range []*atomic.Bool{&fail.erring, &fail.panicking, &fail.hanging, &fail.miscounted} {
		f.Store(true)
	}
	mu.Lock()
	n = 4
	mu.Unlock()
	start := time.Now()
	e, text := scrape(t, r)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a hanging collector held the scrape %v", d)
	}
	if got := e.value(t, "test_queue_depth", "queue", "a"); got != 4 {
		t.Errorf("depth a = %v; want 4, read afresh", got)
	}
	for _, q := range []string{"p", "h", "m"} {
		if _, ok := e.lookup("test_queue_depth", "queue", q); ok {
			t.Errorf("failed collector's series %s still written:\n%s", q, text)
		}
	}
	if _, ok := e.lookup("test_broken"); ok {
		t.Error("test_broken written though its collector failed")
	}
	if f := e.families["test_broken"]; f == nil || f.typ != "gauge" {
		t.Error("test_broken's HELP and TYPE should stay")
	}
	for _, c := range []string{"erring", "panicking", "hanging", "miscounted"} {
		if got := e.value(t, "canopy_metrics_collector_errors_total", "collector", c); got != 1 {
			t.Errorf("errors of %s = %v; want 1", c, got)
		}
	}
	if got := e.value(t, "canopy_metrics_collector_errors_total", "collector", "good"); got != 0 {
		t.Errorf("errors of good = %v; want 0", got)
	}
	// The hanging collector now answers in time; its late answer to
	// the last scrape (99) must not leak into this one.
	fail.hanging.Store(false)
	close(release)
	<-finished
	e, _ = scrape(t, r)
	if got := e.value(t, "test_queue_depth", "queue", "h"); got != 5 {
		t.Errorf("depth h = %v; want 5, not the late answer", got)
	}
	if got := e.value(t, "canopy_metrics_collector_errors_total", "collector", "hanging"); got != 1 {
		t.Errorf("errors of hanging = %v; want still 1", got)
	}
}
