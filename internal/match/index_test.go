package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/pdq"
)

var thresholds = []int{0, 8, 16, 31, 32, 48, 63}

// checkSame fails unless the index and the linear scan agree on q.
func checkSame(t *testing.T, x *Index, entries []PDQEntry, q pdq.Hash, threshold int) int {
	t.Helper()
	got := x.MatchPDQ(q, threshold, nil)
	want := linearMatch(entries, q, threshold)
	if !slices.Equal(got, want) {
		t.Fatalf("query %v threshold %d: index found %d matches, linear scan %d\nindex:  %v\nlinear: %v",
			q, threshold, len(got), len(want), brief(got), brief(want))
	}
	return len(got)
}

func brief(ms []Match) string {
	if len(ms) > 8 {
		return fmt.Sprint(ms[:8]) + "…"
	}
	return fmt.Sprint(ms)
}

// TestExactAgainstLinearScan is the property the index exists for: at
// every threshold it finds exactly what reading every hash finds, on
// uniform hashes and on near-duplicate families (where substrings pile up
// in the same buckets and one hash is met in many tables), in segments of
// every size, through the probing path and through the cost model.
func TestExactAgainstLinearScan(t *testing.T) {
	sizes := []int{0, 1, 7, 200, 5000, 60000}
	if testing.Short() {
		sizes = []int{0, 1, 7, 200, 5000}
	}
	data := map[string]func(r *rand.Rand, n int) []pdq.Hash{
		"uniform":   uniformHashes,
		"clustered": func(r *rand.Rand, n int) []pdq.Hash { return clusteredHashes(r, n, 64) },
	}
	for name, gen := range data {
		for _, n := range sizes {
			for _, force := range []strategy{forceProbe, costBased} {
				t.Run(fmt.Sprintf("%s/n=%d/strategy=%d", name, n, force), func(t *testing.T) {
					t.Parallel()
					r := rand.New(rand.NewPCG(uint64(n), uint64(force)))
					hs := gen(r, n)
					entries := entriesOf(hs)
					x := New(Options{force: force})
					x.AddPDQBatch(entries)
					x.Compact()
					if st := x.Stats(); n > 0 && (st.Segments != 1 || st.Delta != 0) {
						t.Fatalf("after Compact: %+v, want one segment and no delta", st)
					}
					qs := queriesFor(r, hs, 60, 70)
					found := 0
					for _, q := range qs {
						for _, th := range thresholds {
							found += checkSame(t, x, entries, q, th)
						}
					}
					// Thresholds past 63 go to the scan; they must be exact too.
					for _, th := range []int{-1, 64, 100, 128, 256, 300} {
						checkSame(t, x, entries, qs[0], th)
					}
					if n >= 200 && found == 0 {
						t.Fatal("no query matched anything; the test is not testing")
					}
				})
			}
		}
	}
}

// TestExactEveryPosition flips bits of an indexed hash at every substring
// boundary and every budget edge: exactly threshold bits away must match,
// threshold+1 must not, however the flips fall across substrings.
func TestExactEveryPosition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hs := uniformHashes(r, 20000)
	entries := entriesOf(hs)
	x := New(Options{force: forceProbe})
	x.AddPDQBatch(entries)
	for _, th := range thresholds {
		for trial := range 40 {
			base := hs[r.IntN(len(hs))]
			// Concentrate the flips: all in one substring, or spread evenly.
			var q pdq.Hash
			switch trial % 3 {
			case 0:
				q = flipBits(r, base, th)
			case 1:
				q = flipSpread(base, th, trial)
			case 2:
				q = flipSpread(base, th+1, trial)
			}
			checkSame(t, x, entries, q, th)
		}
	}
}

// flipSpread flips k bits round-robin over the substrings, starting at
// substring first%tables, so each substring gets within one of k/tables
// flips: the layout that puts every substring right at its probe radius.
func flipSpread(h pdq.Hash, k, first int) pdq.Hash {
	w := h.Words()
	var used [tables]uint
	for i := range k {
		t := (first + i) % tables
		bit := layout.off[t] + used[t]
		used[t]++
		w[bit/64] ^= 1 << (bit % 64)
	}
	return fromWords(w)
}

func TestRadii(t *testing.T) {
	for th := range 257 {
		rad := radii(th)
		// Pigeonhole: a distance above threshold is the least total that
		// puts every substring beyond its radius.
		least := 0
		for _, r := range rad {
			least += r + 1
		}
		if least != th+1 {
			t.Errorf("threshold %d: radii %v cover up to %d", th, rad, least-1)
		}
	}
	if got, want := radii(31), [tables]int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1}; got != want {
		t.Errorf("radii(31) = %v, want %v", got, want)
	}
}

func TestFlips(t *testing.T) {
	for width := range uint(13) {
		for weight := range int(width) + 2 {
			f := flips(width, weight)
			if len(f) != int(binomial(int(width), weight)) {
				t.Fatalf("flips(%d, %d): %d patterns, want C = %v", width, weight, len(f), binomial(int(width), weight))
			}
			for i, m := range f {
				if popcountInt(m) != weight || m >= 1<<width || (i > 0 && m <= f[i-1]) {
					t.Fatalf("flips(%d, %d)[%d] = %b", width, weight, i, m)
				}
			}
		}
	}
}

func popcountInt(v uint32) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// TestChangesInterleaved runs random additions, removals, re-additions
// and compactions against a model, querying after every step. A small
// delta limit keeps background rebuilds happening all the while, so
// queries meet every state: delta only, segments mid-merge, tombstones
// not yet purged.
func TestChangesInterleaved(t *testing.T) {
	for _, force := range []strategy{forceProbe, costBased} {
		t.Run(fmt.Sprint(force), func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(force)))
			x := New(Options{DeltaLimit: 64, force: force})
			var model []PDQEntry
			pool := clusteredHashes(r, 4000, 16) // hashes to draw from, so re-adds and near-duplicates happen
			nextID := uint32(0)
			pick := func() pdq.Hash { return pool[r.IntN(len(pool))] }
			steps := 1500
			if testing.Short() {
				steps = 400
			}
			for step := range steps {
				switch op := r.IntN(20); {
				case op < 8:
					e := PDQEntry{ID: nextID % 500, Hash: pick()}
					nextID++
					x.AddPDQ(e.ID, e.Hash)
					model = append(model, e)
				case op < 10:
					batch := make([]PDQEntry, r.IntN(3)*100+r.IntN(10))
					for i := range batch {
						batch[i] = PDQEntry{ID: nextID % 500, Hash: pick()}
						nextID++
					}
					x.AddPDQBatch(batch)
					model = append(model, batch...)
				case op < 14 && len(model) > 0:
					e := model[r.IntN(len(model))]
					want := 0
					model = slices.DeleteFunc(model, func(m PDQEntry) bool {
						if m == e {
							want++
							return true
						}
						return false
					})
					if got := x.RemovePDQ(e.ID, e.Hash); got != want {
						t.Fatalf("step %d: RemovePDQ removed %d copies, want %d", step, got, want)
					}
				case op < 15:
					if got := x.RemovePDQ(12345, pick()); got != 0 {
						t.Fatalf("step %d: removing an absent pair removed %d", step, got)
					}
				case op < 16:
					x.Compact()
				}
				if got := x.Len(); got != len(model) {
					t.Fatalf("step %d: Len = %d, model has %d", step, got, len(model))
				}
				q := flipBits(r, pick(), r.IntN(40))
				checkSame(t, x, model, q, thresholds[r.IntN(len(thresholds))])
			}
			x.Compact()
			for _, th := range thresholds {
				checkSame(t, x, model, pick(), th)
			}
			if st := x.Stats(); st.Tombstones != 0 || st.Segments > 1 {
				t.Fatalf("after Compact: %+v, want no tombstones and at most one segment", st)
			}
		})
	}
}

// TestSegmentRatio checks that one-at-a-time additions keep few segments.
func TestSegmentRatio(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := New(Options{DeltaLimit: 100})
	for i := range 50000 {
		x.AddPDQ(uint32(i), randomHash(r))
	}
	waitIdle(x)
	v := x.view.Load()
	for i := 0; i+1 < len(v.segs); i++ {
		rest := 0
		for _, s := range v.segs[i+1:] {
			rest += len(s.words)
		}
		if len(v.segs[i].words) < mergeRatio*rest {
			t.Errorf("segment %d holds %d, less than %d× the %d below it", i, len(v.segs[i].words), mergeRatio, rest)
		}
	}
	if len(v.segs) > 6 {
		t.Errorf("%d segments for 50000 hashes", len(v.segs))
	}
	t.Logf("segments: %d, delta %d", len(v.segs), len(v.delta))
}

// waitIdle waits for background compaction to finish.
func waitIdle(x *Index) {
	for {
		x.mu.Lock()
		busy := x.compacting
		x.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAddedIsMatchable: a hash is found by the very next query, however
// big the index behind it.
func TestAddedIsMatchable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := New(Options{})
	x.AddPDQBatch(entriesOf(uniformHashes(r, 100000)))
	for i := range 1000 {
		h := randomHash(r)
		start := time.Now()
		x.AddPDQ(uint32(1_000_000+i), h)
		got := x.MatchPDQ(flipBits(r, h, 10), pdq.MatchThreshold, nil)
		if !slices.ContainsFunc(got, func(m Match) bool { return m.ID == uint32(1_000_000+i) }) {
			t.Fatalf("hash %d not found right after AddPDQ", i)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("add to match took %v", d)
		}
	}
}

// TestConcurrentReadersAndWriter runs under -race: readers query while a
// writer adds, removes and forces rebuilds. A reader checks what it can
// know for certain: a hash added before its query began is found unless
// it may have been removed, and one removed before its query began is not.
func TestConcurrentReadersAndWriter(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	n := 6000
	if testing.Short() {
		n = 2000
	}
	hs := uniformHashes(r, n)
	x := New(Options{DeltaLimit: 128})
	x.AddPDQBatch(entriesOf(hs[:n/4]))
	var added atomic.Int64   // hashes [0, added) have been added
	var removed atomic.Int64 // hashes [0, removed) with id%3 == 0 have been removed
	added.Store(int64(n / 4))
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for g := range 4 {
		readers.Go(func() {
			rr := rand.New(rand.NewPCG(uint64(g), 1))
			var dst []Match
			for {
				select {
				case <-stop:
					return
				default:
				}
				rem := removed.Load()
				a := added.Load()
				j := rr.Int64N(a)
				dst = x.MatchPDQ(flipBits(rr, hs[j], rr.IntN(20)), pdq.MatchThreshold, dst[:0])
				found := slices.ContainsFunc(dst, func(m Match) bool { return m.ID == uint32(j) })
				switch {
				case j%3 == 0 && j < rem && found:
					t.Errorf("hash %d found after its removal", j)
					return
				case j%3 != 0 && !found:
					t.Errorf("hash %d (of %d added) not found", j, a)
					return
				}
			}
		})
	}
	for i := n / 4; i < n; i++ {
		x.AddPDQ(uint32(i), hs[i])
		added.Store(int64(i + 1))
		if k := i - n/4; k%3 == 0 {
			if x.RemovePDQ(uint32(k), hs[k]) != 1 {
				t.Errorf("remove %d: not found", k)
			}
			removed.Store(int64(k + 1))
		}
		if i%2000 == 0 {
			x.Compact()
		}
	}
	close(stop)
	readers.Wait()
	waitIdle(x)
}

// TestSubstrings checks that the substrings tile the hash and that
// substring reads them bit for bit.
func TestSubstrings(t *testing.T) {
	total := uint(0)
	for tb := range tables {
		if layout.off[tb] != total || layout.width[tb] > 32 || layout.width[tb] < maxDirBits {
			t.Fatalf("table %d: offset %d width %d after %d bits", tb, layout.off[tb], layout.width[tb], total)
		}
		total += layout.width[tb]
	}
	if total != 256 {
		t.Fatalf("substrings cover %d bits", total)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 100 {
		w := randomHash(r).Words()
		for tb := range tables {
			var want uint32
			for k := range layout.width[tb] {
				bit := layout.off[tb] + k
				want |= uint32(w[bit/64]>>(bit%64)&1) << k
			}
			if got := substring(&w, tb); got != want {
				t.Fatalf("substring(%d) = %x, want %x", tb, got, want)
			}
		}
	}
}

// TestBigBlock indexes tens of thousands of copies of one picture's hash,
// more than a block header's 16-bit counts can describe, and checks that
// queries near and far from it are still exact.
func TestBigBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 90k-hash index with linear checks")
	}
	r := rand.New(rand.NewPCG(12, 13))
	centre := randomHash(r)
	hs := uniformHashes(r, 20000)
	for range 70000 {
		hs = append(hs, flipBits(r, centre, r.IntN(3)))
	}
	entries := entriesOf(hs)
	x := New(Options{force: forceProbe})
	x.AddPDQBatch(entries)
	big := 0
	for _, tab := range x.view.Load().segs[0].tab {
		big += len(tab.big)
	}
	if big == 0 {
		t.Fatal("no block needed the big header; the test is not testing")
	}
	for _, q := range []pdq.Hash{centre, flipBits(r, centre, 5), flipBits(r, centre, 30), hs[0], randomHash(r)} {
		for _, th := range []int{0, 2, 16, 31} {
			checkSame(t, x, entries, q, th)
		}
	}
}

// TestMatchAllocs: a query that reuses its result slice allocates nothing,
// so matching does not feed the garbage collector at thousands a second.
func TestMatchAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	hs := clusteredHashes(r, 50000, 16)
	x := New(Options{})
	x.AddPDQBatch(entriesOf(hs))
	for i := range 100 {
		x.AddPDQ(uint32(100000+i), randomHash(r)) // a delta too
	}
	q := flipBits(r, hs[7], 6)
	dst := x.MatchPDQ(q, pdq.MatchThreshold, nil)
	if len(dst) == 0 {
		t.Fatal("no match; the test is not testing")
	}
	allocs := testing.AllocsPerRun(100, func() {
		dst = x.MatchPDQ(q, pdq.MatchThreshold, dst[:0])
	})
	if allocs > 0 {
		t.Errorf("MatchPDQ allocates %.1f times a query", allocs)
	}
}
