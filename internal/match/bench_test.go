package match

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/pdq"
)

func TestBench(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	index := clusteredHashes(r, 5000, 32)
	queries := queriesFor(r, index, 300, 30)
	res := Bench(index, queries, pdq.MatchThreshold, 2)
	want := 0
	entries := entriesOf(index)
	for _, q := range queries {
		want += len(linearMatch(entries, q, pdq.MatchThreshold))
	}
	if res.Matches != want || want == 0 {
		t.Errorf("Matches = %d, linear scan finds %d", res.Matches, want)
	}
	if res.Hashes != 5000 || res.Queries != 300 || res.Workers != 2 {
		t.Errorf("counts: %+v", res)
	}
	if res.Build <= 0 || res.QPS <= 0 || res.P50 <= 0 || res.P50 > res.P99 || res.BytesPerHash < 32 {
		t.Errorf("implausible result: %+v", res)
	}
	if empty := Bench(nil, nil, 31, 0); empty.Matches != 0 || empty.QPS != 0 {
		t.Errorf("empty bench: %+v", empty)
	}
}

// BenchmarkMatch indexes 1M hashes, uniform and clustered, and runs the
// same queries through the index and then through a linear scan of the
// same hashes (the scan runs second so that its streaming through memory
// does not leave the index cold). Set CANOPY_BENCH_10M=1 for 10M as well:
// about 2 GB of memory and two minutes. Reported:
//
//	build-s        building the index from one batch
//	bytes/hash     live heap growth over the build, per hash (hash included)
//	queries/s      queries a second over GOMAXPROCS goroutines
//	p50-ns p99-ns  single-query latency under that load
//	add-match-ns   AddPDQ of a new hash, then a query that finds it
//	index-speedup  (on the linear line) the index's queries/s over the scan's
//
// Queries: half are indexed hashes with 0 to 30 bits flipped, half random.
func BenchmarkMatch(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("CANOPY_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		for _, kind := range []string{"uniform", "clustered"} {
			b.Run(fmt.Sprintf("%s/%dM", kind, n/1_000_000), func(b *testing.B) {
				fx := newFixture(b, kind, n)
				defer fx.release()
				var indexQPS float64
				b.Run("index", func(b *testing.B) {
					qps, lat := runQueries(b, fx.queries, func(q pdq.Hash, dst []Match) []Match {
						return fx.x.MatchPDQ(q, pdq.MatchThreshold, dst)
					})
					indexQPS = qps
					b.ReportMetric(fx.build.Seconds(), "build-s")
					b.ReportMetric(fx.bytesPerHash, "bytes/hash")
					b.ReportMetric(float64(percentile(lat, 0.50).Nanoseconds()), "p50-ns")
					b.ReportMetric(float64(percentile(lat, 0.99).Nanoseconds()), "p99-ns")
					b.ReportMetric(float64(fx.addToMatch().Nanoseconds()), "add-match-ns")
				})
				b.Run("linear", func(b *testing.B) {
					qps, lat := runQueries(b, fx.queries, func(q pdq.Hash, dst []Match) []Match {
						return fx.linear(q, dst)
					})
					b.ReportMetric(float64(percentile(lat, 0.50).Nanoseconds()), "p50-ns")
					if qps > 0 {
						b.ReportMetric(indexQPS/qps, "index-speedup")
					}
				})
			})
		}
	}
}

type fixture struct {
	hashes       [][4]uint64
	queries      []pdq.Hash
	x            *Index
	build        time.Duration
	bytesPerHash float64
	r            *rand.Rand
}

func newFixture(b *testing.B, kind string, n int) *fixture {
	b.Helper()
	r := rand.New(rand.NewPCG(uint64(n), uint64(len(kind))))
	var hs []pdq.Hash
	if kind == "clustered" {
		hs = clusteredHashes(r, n, 64)
	} else {
		hs = uniformHashes(r, n)
	}
	fx := &fixture{r: r, queries: queriesFor(r, hs, 20000, 30)}
	entries := entriesOf(hs)
	hs = nil
	before := heapAlloc()
	start := time.Now()
	fx.x = New(Options{})
	fx.x.AddPDQBatch(entries)
	fx.build = time.Since(start)
	fx.bytesPerHash = float64(heapAlloc()-before) / float64(n)
	fx.hashes = make([][4]uint64, n)
	for i, e := range entries {
		fx.hashes[i] = e.Hash.Words()
	}
	b.Logf("%s %d: built in %v, %.1f bytes/hash, %+v", kind, n, fx.build, fx.bytesPerHash, fx.x.Stats())
	return fx
}

func (fx *fixture) release() { *fx = fixture{} }

// linear is the baseline: read every hash.
func (fx *fixture) linear(q pdq.Hash, dst []Match) []Match {
	w := q.Words()
	for i := range fx.hashes {
		if d := popcount4(&fx.hashes[i], &w); d <= pdq.MatchThreshold {
			dst = append(dst, Match{ID: uint32(i), Distance: d, Hash: fromWords(fx.hashes[i])})
		}
	}
	return dst
}

// addToMatch times adding a new hash and finding it with the next query.
func (fx *fixture) addToMatch() time.Duration {
	h := randomHash(fx.r)
	start := time.Now()
	fx.x.AddPDQ(1<<31, h)
	got := fx.x.MatchPDQ(h, pdq.MatchThreshold, nil)
	d := time.Since(start)
	if !slices.ContainsFunc(got, func(m Match) bool { return m.ID == 1<<31 }) {
		panic("added hash not found")
	}
	fx.x.RemovePDQ(1<<31, h)
	return d
}

// runQueries runs b.N queries over GOMAXPROCS goroutines and returns the
// rate and each query's latency.
func runQueries(b *testing.B, queries []pdq.Hash, match func(pdq.Hash, []Match) []Match) (float64, []time.Duration) {
	var next atomic.Int64
	var mu sync.Mutex
	var all []time.Duration
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var dst []Match
		var lat []time.Duration
		for pb.Next() {
			q := queries[int(next.Add(1)-1)%len(queries)]
			t := time.Now()
			dst = match(q, dst[:0])
			lat = append(lat, time.Since(t))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	qps := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(qps, "queries/s")
	return qps, all
}
