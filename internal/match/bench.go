package match

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-org/canopy/internal/pdq"
)

// BenchResult is what Bench measured.
type BenchResult struct {
	Hashes       int           // hashes indexed
	Queries      int           // queries run
	Workers      int           // goroutines the queries ran on
	Build        time.Duration // loading the hashes into an index, compacted
	BytesPerHash float64       // heap held by the index, per hash
	QPS          float64       // queries a second over all workers
	P50, P99     time.Duration // per-query latency
	Matches      int           // matches found over all queries
}

// Bench measures the index on real data for `canopy bench match`: it
// builds an index of the given hashes (IDs are their positions), then
// runs every query at threshold on workers goroutines (GOMAXPROCS if
// workers < 1). Memory is the live-heap growth across the build after a
// garbage collection, so the process should be otherwise idle.
func Bench(index, queries []pdq.Hash, threshold int, workers int) BenchResult {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	res := BenchResult{Hashes: len(index), Queries: len(queries), Workers: workers}

	entries := make([]PDQEntry, len(index))
	for i, h := range index {
		entries[i] = PDQEntry{ID: uint32(i), Hash: h}
	}
	before := heapAlloc()
	start := time.Now()
	x := New(Options{})
	x.AddPDQBatch(entries)
	x.Compact()
	res.Build = time.Since(start)
	if len(index) > 0 {
		res.BytesPerHash = float64(heapAlloc()-before) / float64(len(index))
	}
	runtime.KeepAlive(entries)

	lat := make([][]time.Duration, workers)
	var next atomic.Int64
	var matches atomic.Int64
	var wg sync.WaitGroup
	start = time.Now()
	for w := range workers {
		wg.Go(func() {
			var dst []Match
			var mine []time.Duration
			n := 0
			for {
				i := int(next.Add(1)) - 1
				if i >= len(queries) {
					break
				}
				t := time.Now()
				dst = x.MatchPDQ(queries[i], threshold, dst[:0])
				mine = append(mine, time.Since(t))
				n += len(dst)
			}
			lat[w] = mine
			matches.Add(int64(n))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(queries) > 0 {
		res.QPS = float64(len(queries)) / elapsed.Seconds()
	}
	res.Matches = int(matches.Load())
	all := slices.Concat(lat...)
	res.P50, res.P99 = percentile(all, 0.50), percentile(all, 0.99)
	runtime.KeepAlive(x)
	return res
}

// percentile returns the p-quantile of ds (sorting it), or 0 if empty.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(p * float64(len(ds)))
	return ds[min(i, len(ds)-1)]
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
