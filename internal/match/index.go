package match

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/canopy-org/canopy/internal/pdq"
)

// Match is one indexed PDQ hash found near a query.
type Match struct {
	ID       uint32   // the reference the hash was added with
	Distance int      // Hamming distance to the query, 0 to 256
	Hash     pdq.Hash // the indexed hash, since an ID may carry several
}

// PDQEntry is one (ID, hash) pair, for the batch calls.
type PDQEntry struct {
	ID   uint32
	Hash pdq.Hash
}

// Options tune an Index. The zero value is the tuning the benchmarks
// were run with.
type Options struct {
	// DeltaLimit is how many PDQ hashes are kept in the linearly scanned
	// delta before a background build freezes them into a segment.
	// Default 8192: scanning that many costs a query some tens of
	// microseconds, and freezing them takes a few milliseconds.
	DeltaLimit int

	// Workers bounds the goroutines that build a segment. Default
	// GOMAXPROCS.
	Workers int

	// force overrides the search strategy, for tests that must exercise
	// each path on small inputs.
	force strategy
}

type strategy uint8

const (
	costBased   strategy = iota // probe or scan, whichever the cost model says is cheaper
	forceProbe                  // always probe (the multi-index path)
	forceLinear                 // always scan
)

// mergeRatio is the size ratio kept between segments: each segment holds
// at least this many times as many hashes as all smaller segments
// together. That bounds the segments to about log4(n/DeltaLimit), so a
// query probes few of them, while each hash is rebuilt only a logarithmic
// number of times as the index grows one hash at a time.
const mergeRatio = 3

// Index finds PDQ hashes within a Hamming distance of a query, and exact
// hashes (MD5, SHA-1, SHA-256, licensed hashes) by value. It is safe for
// concurrent use: queries never block, and run alongside additions,
// removals and background rebuilds.
type Index struct {
	opts Options

	// view is what queries read: immutable once published, replaced whole
	// on every change. Readers load it once and see one consistent state.
	view atomic.Pointer[view]

	mu         sync.Mutex  // serialises changes to the PDQ side
	delta      []deltaItem // the writers' delta; each view holds a prefix of it
	epoch      uint64      // counts changes; orders additions and removals
	live       int         // PDQ pairs added and not removed
	compacting bool        // a background compaction goroutine is running

	// buildMu is held while a segment is built from existing hashes and
	// installed, so that only one such build runs at a time and Compact
	// can wait for the background one.
	buildMu sync.Mutex

	exact exactIndex
}

// view is one published state of the PDQ side.
type view struct {
	segs  []*segment  // largest first
	delta []deltaItem // recent additions, scanned linearly
	// tombs holds removals: a hash (ID and value) is dead in a segment or
	// delta item whose epoch is older than its tombstone. Never modified
	// after publication; a removal publishes a copy.
	tombs map[tombKey]uint64
}

type deltaItem struct {
	words [4]uint64
	id    uint32
	epoch uint64 // when it was added
}

type tombKey struct {
	words [4]uint64
	id    uint32
}

// New returns an empty index.
func New(opts Options) *Index {
	if opts.DeltaLimit <= 0 {
		opts.DeltaLimit = 8192
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	x := &Index{opts: opts}
	x.view.Store(&view{})
	x.exact.algos = make(map[string]*exactTable)
	return x
}

// AddPDQ indexes h under id. It is matchable as soon as AddPDQ returns.
// The PDQ side is a multiset: adding the same pair twice makes it match
// twice, so callers keep their pairs unique (a bank's store does).
func (x *Index) AddPDQ(id uint32, h pdq.Hash) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.epoch++
	x.delta = append(x.delta, deltaItem{words: h.Words(), id: id, epoch: x.epoch})
	x.live++
	// Appending wrote past the end of every published delta, so readers of
	// older views, which read only their own prefix, are undisturbed.
	v := x.view.Load()
	x.view.Store(&view{segs: v.segs, delta: x.delta, tombs: v.tombs})
	x.maybeCompactLocked()
}

// AddPDQBatch indexes many pairs at once. A batch of at least DeltaLimit
// becomes a segment directly, built on the calling goroutine, which is
// how a whole hash list should be loaded; a smaller one goes to the delta.
func (x *Index) AddPDQBatch(entries []PDQEntry) {
	if len(entries) < x.opts.DeltaLimit {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.epoch++
		for _, e := range entries {
			x.delta = append(x.delta, deltaItem{words: e.Hash.Words(), id: e.ID, epoch: x.epoch})
		}
		x.live += len(entries)
		v := x.view.Load()
		x.view.Store(&view{segs: v.segs, delta: x.delta, tombs: v.tombs})
		x.maybeCompactLocked()
		return
	}
	words := make([][4]uint64, len(entries))
	ids := make([]uint32, len(entries))
	for i, e := range entries {
		words[i] = e.Hash.Words()
		ids[i] = e.ID
	}
	s := buildSegment(words, ids, 0, x.opts.Workers)

	x.mu.Lock()
	defer x.mu.Unlock()
	x.epoch++
	s.epoch = x.epoch // all its hashes are added now, after any earlier removal
	v := x.view.Load()
	x.view.Store(&view{segs: insertSegment(v.segs, s), delta: v.delta, tombs: v.tombs})
	x.live += len(entries)
	x.maybeCompactLocked()
}

// RemovePDQ removes every copy of the pair (id, h) and reports how many
// there were. A later AddPDQ of the same pair adds it afresh.
func (x *Index) RemovePDQ(id uint32, h pdq.Hash) int {
	return x.RemovePDQBatch([]PDQEntry{{id, h}})
}

// RemovePDQBatch removes every copy of each pair and reports how many
// copies it removed. One batch copies the tombstone set once, so remove a
// whole bank in one call rather than one pair at a time.
func (x *Index) RemovePDQBatch(entries []PDQEntry) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	v := x.view.Load()
	var tombs map[tombKey]uint64
	removed := 0
	var hits []Match
	for _, e := range entries {
		// Under mu no other change can slip in between finding the live
		// copies and burying them, so the count is exact.
		hits = x.search(v, e.Hash, 0, hits[:0])
		n := 0
		for _, m := range hits {
			if m.ID == e.ID {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if tombs == nil {
			tombs = make(map[tombKey]uint64, len(v.tombs)+len(entries))
			for k, e := range v.tombs {
				tombs[k] = e
			}
			x.epoch++
		}
		// One epoch for the batch: it is later than every copy found.
		tombs[tombKey{e.Hash.Words(), e.ID}] = x.epoch
		removed += n
		v = &view{segs: v.segs, delta: v.delta, tombs: tombs}
	}
	if removed == 0 {
		return 0
	}
	x.live -= removed
	x.view.Store(v)
	x.maybeCompactLocked()
	return removed
}

// MatchPDQ appends to dst every indexed PDQ hash within threshold of h
// (Distance ≤ threshold), nearest first and then by ID, and returns the
// extended slice. The result is exact for every threshold: the index
// probes its tables when that is cheaper and reads every hash otherwise.
// pdq.MatchThreshold is the usual threshold.
func (x *Index) MatchPDQ(h pdq.Hash, threshold int, dst []Match) []Match {
	start := len(dst)
	dst = x.search(x.view.Load(), h, threshold, dst)
	sortMatches(dst[start:])
	return dst
}

// sortMatches orders matches nearest first, then by ID and hash, so that
// results do not depend on how the index happens to be laid out.
func sortMatches(ms []Match) {
	slices.SortFunc(ms, func(a, b Match) int {
		if c := cmp.Compare(a.Distance, b.Distance); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return slices.Compare(a.Hash[:], b.Hash[:])
	})
}

func (x *Index) search(v *view, h pdq.Hash, threshold int, dst []Match) []Match {
	if threshold < 0 {
		return dst
	}
	q := query{q: h.Words(), threshold: min(threshold, 256), radius: radii(min(threshold, 256)), tombs: v.tombs, force: x.opts.force}
	for _, s := range v.segs {
		dst = s.search(&q, dst)
	}
	return searchDelta(v.delta, &q, dst)
}

func searchDelta(delta []deltaItem, q *query, dst []Match) []Match {
	for i := range delta {
		d := &delta[i]
		dist := popcount4(&d.words, &q.q)
		if dist > q.threshold {
			continue
		}
		if len(q.tombs) > 0 {
			if e, ok := q.tombs[tombKey{d.words, d.id}]; ok && e > d.epoch {
				continue
			}
		}
		dst = append(dst, Match{ID: d.id, Distance: dist, Hash: fromWords(d.words)})
	}
	return dst
}

// Len returns how many pairs the index holds, PDQ and exact.
func (x *Index) Len() int {
	x.mu.Lock()
	n := x.live
	x.mu.Unlock()
	return n + x.exact.len()
}

// Stats describes the index's current shape, for metrics and tuning.
type Stats struct {
	PDQ        int // live PDQ pairs
	Exact      int // live exact pairs
	Segments   int // immutable segments
	Delta      int // PDQ hashes in the linearly scanned delta
	Tombstones int // removals not yet purged by a rebuild
	PDQBytes   int // memory held by segments and delta, excluding tombstones
}

// Stats returns the index's current shape.
func (x *Index) Stats() Stats {
	x.mu.Lock()
	v := x.view.Load()
	st := Stats{PDQ: x.live, Segments: len(v.segs), Delta: len(v.delta), Tombstones: len(v.tombs)}
	x.mu.Unlock()
	for _, s := range v.segs {
		st.PDQBytes += s.bytes()
	}
	st.PDQBytes += cap(v.delta) * 48
	st.Exact = x.exact.len()
	return st
}

// Compact merges every segment and the delta into one segment and purges
// removed hashes, waiting for any background rebuild first. A loader can
// call it after the initial load so the index starts in its fastest shape.
func (x *Index) Compact() {
	x.buildMu.Lock()
	defer x.buildMu.Unlock()
	x.mu.Lock()
	p, ok := x.planLocked(true)
	x.mu.Unlock()
	if ok {
		x.runPlan(p)
	}
}

// maybeCompactLocked starts the background compaction if there is work
// and it is not already running. x.mu must be held.
func (x *Index) maybeCompactLocked() {
	if x.compacting {
		return
	}
	if _, ok := x.planLocked(false); !ok {
		return
	}
	x.compacting = true
	go x.compactLoop()
}

// compactLoop rebuilds until the delta is small, the segments keep their
// size ratio and tombstones are few. It runs on its own goroutine and
// ends when there is nothing left to do.
func (x *Index) compactLoop() {
	x.buildMu.Lock()
	defer x.buildMu.Unlock()
	for {
		x.mu.Lock()
		p, ok := x.planLocked(false)
		if !ok {
			x.compacting = false
			x.mu.Unlock()
			return
		}
		x.mu.Unlock()
		x.runPlan(p)
	}
}

// plan is one rebuild: merge segs and the first k delta items, as the
// index stood at epoch, into one segment.
type plan struct {
	segs  []*segment
	k     int
	epoch uint64
	tombs map[tombKey]uint64
}

// planLocked decides the next rebuild, or reports that none is due.
// x.mu must be held.
func (x *Index) planLocked(full bool) (plan, bool) {
	v := x.view.Load()
	p := plan{epoch: x.epoch, tombs: v.tombs}
	total := len(v.delta)
	for _, s := range v.segs {
		total += len(s.words)
	}
	if full || len(v.tombs) > max(4096, total/16) {
		if len(v.delta) == 0 && len(v.tombs) == 0 && len(v.segs) <= 1 {
			return plan{}, false
		}
		p.segs = v.segs
		p.k = len(v.delta)
		return p, true
	}
	// Keep every segment at least mergeRatio times the size of all smaller
	// ones, counting a delta that is due to be flushed as the smallest. The
	// largest segment that falls short is merged with everything smaller;
	// the ones above it held the ratio to the same total, so one merge
	// restores it everywhere.
	if len(v.delta) >= x.opts.DeltaLimit {
		p.k = len(v.delta)
	}
	smaller := p.k
	first := len(v.segs)
	for i := len(v.segs) - 1; i >= 0; i-- {
		n := len(v.segs[i].words)
		if smaller > 0 && n < mergeRatio*smaller {
			first = i
		}
		smaller += n
	}
	p.segs = v.segs[first:]
	if p.k == 0 && len(p.segs) < 2 {
		return plan{}, false
	}
	return p, true
}

// runPlan builds the merged segment without holding x.mu and installs it.
// x.buildMu must be held.
func (x *Index) runPlan(p plan) {
	v := x.view.Load()
	n := p.k
	for _, s := range p.segs {
		n += len(s.words)
	}
	words := make([][4]uint64, 0, n)
	ids := make([]uint32, 0, n)
	for _, s := range p.segs {
		for i := range s.words {
			if e, ok := p.tombs[tombKey{s.words[i], s.ids[i]}]; ok && e > s.epoch {
				continue
			}
			words = append(words, s.words[i])
			ids = append(ids, s.ids[i])
		}
	}
	for _, d := range v.delta[:p.k] {
		if e, ok := p.tombs[tombKey{d.words, d.id}]; ok && e > d.epoch {
			continue
		}
		words = append(words, d.words)
		ids = append(ids, d.id)
	}
	// Everything kept was live at p.epoch, and every delta item taken was
	// added by then; removals after it have later epochs and still apply.
	s := buildSegment(slices.Clip(words), slices.Clip(ids), p.epoch, x.opts.Workers)

	x.mu.Lock()
	defer x.mu.Unlock()
	cur := x.view.Load()
	segs := make([]*segment, 0, len(cur.segs)+1)
	for _, old := range cur.segs {
		if !slices.Contains(p.segs, old) {
			segs = append(segs, old)
		}
	}
	if len(s.words) > 0 {
		segs = insertSegment(segs, s)
	}
	// A fresh array for the remaining delta: old views still read the old
	// one from the start, so it must not be overwritten.
	delta := make([]deltaItem, len(cur.delta)-p.k, max(len(cur.delta)-p.k, x.opts.DeltaLimit))
	copy(delta, cur.delta[p.k:])
	x.delta = delta
	x.view.Store(&view{segs: segs, delta: delta, tombs: pruneTombs(cur.tombs, segs, delta)})
}

// insertSegment returns segs with s added, keeping largest first.
func insertSegment(segs []*segment, s *segment) []*segment {
	out := make([]*segment, 0, len(segs)+1)
	i, _ := slices.BinarySearchFunc(segs, len(s.words), func(a *segment, n int) int {
		return cmp.Compare(n, len(a.words))
	})
	out = append(out, segs[:i]...)
	out = append(out, s)
	return append(out, segs[i:]...)
}

// pruneTombs drops the tombstones that can no longer kill anything: those
// no later than the oldest epoch left in the segments and delta.
func pruneTombs(tombs map[tombKey]uint64, segs []*segment, delta []deltaItem) map[tombKey]uint64 {
	if len(tombs) == 0 {
		return tombs
	}
	oldest := ^uint64(0)
	for _, s := range segs {
		oldest = min(oldest, s.epoch)
	}
	for _, d := range delta {
		oldest = min(oldest, d.epoch)
	}
	keep := 0
	for _, e := range tombs {
		if e > oldest {
			keep++
		}
	}
	if keep == len(tombs) {
		return tombs
	}
	if keep == 0 {
		return nil
	}
	out := make(map[tombKey]uint64, keep)
	for k, e := range tombs {
		if e > oldest {
			out[k] = e
		}
	}
	return out
}

func popcount4(a, b *[4]uint64) int {
	return bits.OnesCount64(a[0]^b[0]) + bits.OnesCount64(a[1]^b[1]) + bits.OnesCount64(a[2]^b[2]) + bits.OnesCount64(a[3]^b[3])
}

// fromWords is the inverse of pdq.Hash.Words.
func fromWords(w [4]uint64) pdq.Hash {
	var h pdq.Hash
	for i := range w {
		binary.BigEndian.PutUint64(h[32-8*(i+1):], w[i])
	}
	return h
}
