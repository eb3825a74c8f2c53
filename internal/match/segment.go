package match

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

const (
	// tables is m, the number of substrings a hash is cut into: three of
	// 24 bits and eight of 23. At the default threshold of 31 the
	// pigeonhole radii are 2 for ten tables and 1 for one. Fewer, wider
	// substrings need radius 3 somewhere, which multiplies the buckets a
	// query visits; more, narrower ones leave a bucket too few bits of
	// its substring to filter on, which multiplies the candidates. The
	// package comment has the arithmetic and the measurements.
	tables = 11

	// maxDirBits caps a table at 2^23 buckets, the width of the narrowest
	// substring (a bucket cannot be narrower than all of it). That keeps
	// buckets at a few entries up to about 100M hashes.
	maxDirBits = 256 / tables

	// bigBlock marks a block header whose counts do not fit in 16 bits
	// (thousands of copies of one picture); its true header is in big.
	bigBlock = 0xffff

	// lineHalfwords is a cache line in uint16s: block headers start on one.
	lineHalfwords = 32
)

const (
	// dirSlack is log2 of the hashes a bucket holds on average. Two to four
	// measured the same within noise at 10M; three keeps a bucket's lo
	// within a cache line.
	dirSlack = 3

	// midBits is log2 of the buckets in a block: a block's header is then
	// 32 uint16 counts, exactly one cache line.
	midBits = 5
)

// layout places the substrings: table t covers hash bits off[t] to
// off[t]+width[t]-1, wider substrings first, so the tables that the
// pigeonhole gives the larger radius (the first ones) filter on the most
// bits.
var layout = func() (l struct{ off, width [tables]uint }) {
	at := uint(0)
	for t := range tables {
		w := uint(256 / tables)
		if t < 256%tables {
			w++
		}
		l.off[t], l.width[t] = at, w
		at += w
	}
	return l
}()

// substring returns substring t of a hash given as words (bit k of the
// hash is bit k%64 of w[k/64]).
func substring(w *[4]uint64, t int) uint32 {
	off, width := layout.off[t], layout.width[t]
	i, sh := off/64, off%64
	v := w[i] >> sh
	if sh+width > 64 {
		v |= w[i+1] << (64 - sh)
	}
	return uint32(v) & (1<<width - 1)
}

// segment is an immutable, searchable set of PDQ hashes: the hashes and
// their ids in insertion order, and one table per substring that lists
// every hash by its substring.
type segment struct {
	words [][4]uint64 // the hashes, as pdq.Hash.Words
	ids   []uint32    // ids[i] is the caller's reference for words[i]

	// epoch is the index epoch the segment was built at. Every hash in it
	// was live then, so a tombstone for one of them kills it exactly when
	// the tombstone's epoch is later.
	epoch uint64

	dirBits uint // d: entries are bucketed by the top d bits of a substring
	midBits uint // the low midBits of those pick the bucket within a block
	tab     [tables]table
}

// table indexes one substring. Entries are bucketed by the top d bits of
// the substring (a counting sort). The top d-midBits bits pick a block of
// 2^midBits adjacent buckets, and a block is laid out in one run of data,
// starting on a cache line: a header of cumulative bucket sizes (32 counts
// are exactly one line), then every entry's low 16 substring bits (lo). A
// probe thus finds a bucket's bounds and its entries in a few neighbouring
// lines of one page, where a separate directory would cost a second cache
// miss and a second TLB miss per bucket; misses are what a probe costs.
// lo lets a probe reject most entries without touching the hash. That is
// 6 bytes an entry, plus about 3 bytes a bucket for headers, alignment and
// blocks.
type table struct {
	// blocks[2c] is the data index of block c's header, data[h : h+2^midBits]:
	// the entry counts of the block's buckets 0..k, cumulative. Its entries
	// follow. blocks[2c+1] is the pos index of the block's first entry.
	blocks []uint32
	data   []uint16
	pos    []uint32 // the entry's index in words and ids
	// big holds the uncapped headers of blocks of bigBlock entries or
	// more, whose last header count is bigBlock.
	big map[uint32][]uint32

	shift  uint   // substring >> shift is the bucket
	loMask uint16 // the bits of lo that the bucket does not already fix
}

// dirBits chooses d for a segment of n hashes: about 2^dirSlack hashes a
// bucket, so a bucket's entries are within a cache line.
func dirBits(n int) uint {
	d := bits.Len(uint(n)) - dirSlack
	return uint(min(max(d, 1), maxDirBits))
}

// buildSegment indexes words (taking ownership of words and ids), building
// the tables on up to workers goroutines.
func buildSegment(words [][4]uint64, ids []uint32, epoch uint64, workers int) *segment {
	d := dirBits(len(words))
	s := &segment{
		words:   words,
		ids:     ids,
		epoch:   epoch,
		dirBits: d,
		midBits: min(d, midBits),
	}
	hugePages(words, true)
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(max(workers, 1), tables) {
		wg.Go(func() {
			// Scratch for the sort (16 bytes a hash), reused from table to
			// table because faulting fresh memory in costs as much as the
			// sort itself.
			var keys, sorted []uint64
			for {
				t := int(next.Add(1)) - 1
				if t >= tables {
					return
				}
				if keys == nil {
					keys, sorted = make([]uint64, len(words)), make([]uint64, len(words))
					hugePages(keys, false)
					hugePages(sorted, false)
				}
				s.tab[t] = buildTable(words, t, d, s.midBits, keys, sorted)
			}
		})
	}
	wg.Wait()
	return s
}

// buildTable sorts the hashes by the top d bits of substring t and lays
// the buckets out in blocks. A plain counting sort would scatter every
// entry to a random place in arrays far larger than the caches, a miss
// per write; instead the entries are first partitioned on their top bits
// into a few hundred runs, written sequentially, and each run is then
// counting-sorted within a span of the table small enough to stay in cache.
func buildTable(words [][4]uint64, t int, d, mid uint, keys, sorted []uint64) table {
	tab := table{shift: layout.width[t] - d, loMask: 0xffff}
	if tab.shift < 16 {
		tab.loMask = uint16(1)<<tab.shift - 1
	} // else bits 16 and up below the bucket are kept nowhere: the full hash decides
	n := len(words)
	coarse := d - mid
	nsub := uint32(1) << mid
	nblocks := 1 << coarse
	blockShift := tab.shift + mid // substring >> blockShift is the block

	// Pass 1: each entry's substring and position, and the block sizes.
	size := make([]uint32, nblocks)
	for i := range words {
		k := substring(&words[i], t)
		keys[i] = uint64(k)<<32 | uint64(i)
		size[k>>blockShift]++
	}

	// Lay out the blocks: headers on cache lines, entries after them.
	tab.blocks = make([]uint32, 2*nblocks)
	at, first := uint32(0), uint32(0)
	for c := range nblocks {
		tab.blocks[2*c], tab.blocks[2*c+1] = at, first
		at += nsub + size[c]
		at = (at + lineHalfwords - 1) &^ (lineHalfwords - 1)
		first += size[c]
	}
	tab.data = make([]uint16, at)
	tab.pos = make([]uint32, n)
	hugePages(tab.blocks, false)
	hugePages(tab.data, false)
	hugePages(tab.pos, false)

	// Pass 2: partition on the top block bits, in block order.
	pbits := min(coarse, 8)
	parts := 1 << pbits
	partShift := blockShift + coarse - pbits // substring >> partShift is the partition
	pstart := make([]int, parts+1)
	for c := range nblocks {
		pstart[c>>(coarse-pbits)+1] += int(size[c])
	}
	for p := range parts {
		pstart[p+1] += pstart[p]
	}
	next := slices.Clone(pstart[:parts])
	for _, kv := range keys {
		p := kv >> 32 >> partShift
		sorted[next[p]] = kv
		next[p]++
	}

	// Pass 3: within each partition, counting-sort into buckets.
	perPart := 1 << (d - uint(pbits)) // buckets in a partition
	count := make([]uint32, perPart+1)
	for p := range parts {
		run := sorted[pstart[p]:pstart[p+1]]
		clear(count)
		for _, kv := range run {
			count[uint32(kv>>32)>>tab.shift&uint32(perPart-1)+1]++
		}
		for b := range perPart {
			count[b+1] += count[b]
		}
		// Headers of the partition's blocks, from the bucket counts.
		for cb := 0; cb < perPart; cb += int(nsub) {
			c := p<<(coarse-uint(pbits)) | cb>>mid
			h := tab.blocks[2*c]
			base := count[cb]
			hdr := tab.data[h : h+nsub]
			if size[c] >= bigBlock {
				full := make([]uint32, nsub)
				for k := range full {
					full[k] = count[cb+k+1] - base
				}
				if tab.big == nil {
					tab.big = make(map[uint32][]uint32)
				}
				tab.big[uint32(c)] = full
				hdr[nsub-1] = bigBlock
				continue
			}
			for k := range hdr {
				hdr[k] = uint16(count[cb+k+1] - base)
			}
		}
		// Entries: bucket b's next free place is count[b], relative to
		// the partition's first entry.
		pfirst := uint32(pstart[p])
		for _, kv := range run {
			k := uint32(kv >> 32)
			b := k >> tab.shift & uint32(perPart-1)
			e := count[b]
			count[b]++
			c := p<<(coarse-uint(pbits)) | int(b>>mid)
			ge := pfirst + e // pos index
			tab.data[tab.blocks[2*c]+nsub+ge-tab.blocks[2*c+1]] = uint16(k)
			tab.pos[ge] = uint32(kv)
		}
	}
	hugePages(tab.blocks, true)
	hugePages(tab.data, true)
	hugePages(tab.pos, true)
	return tab
}

// bytes is the memory the segment holds, for Stats.
func (s *segment) bytes() int {
	n := len(s.words)*32 + len(s.ids)*4
	for t := range s.tab {
		n += len(s.tab[t].blocks)*4 + len(s.tab[t].data)*2 + len(s.tab[t].pos)*4
	}
	return n
}

// query is one search, prepared once and run against every segment.
type query struct {
	q         [4]uint64
	threshold int
	// radius[t] is the probe radius for table t, or -1 when table t need
	// not be probed at all. See radii.
	radius [tables]int
	tombs  map[tombKey]uint64
	force  strategy
}

// radii spreads a threshold over the tables by the pigeonhole principle in
// the form Norouzi et al. give it: write threshold = m·r + a with 0 ≤ a < m;
// if two hashes are within threshold, then one of the first a+1 substrings
// is within r, or one of the remaining m-a-1 is within r-1 (otherwise the
// distance would be at least (a+1)(r+1) + (m-a-1)r = threshold+1). So the
// first a+1 tables are probed at radius r and the rest at r-1.
func radii(threshold int) [tables]int {
	var rad [tables]int
	r, a := threshold/tables, threshold%tables
	for t := range rad {
		if t <= a {
			rad[t] = r
		} else {
			rad[t] = r - 1
		}
	}
	return rad
}

// search appends to dst the live hashes of s within q.threshold of q.q.
func (s *segment) search(q *query, dst []Match) []Match {
	if len(s.words) == 0 {
		return dst
	}
	if q.force == forceLinear || (q.force != forceProbe && s.probeCost(q) >= s.scanCost()) {
		return s.scan(q, dst)
	}
	sc := scratchPool.Get().(*scratch)
	for t := range tables {
		if q.radius[t] >= 0 {
			dst = s.probe(q, t, sc, dst)
		}
	}
	scratchPool.Put(sc)
	return dst
}

// Batch sizes of a probe's passes: enough independent loads to keep the
// memory system busy, few enough that their lines stay in cache between
// passes and the scratch stays in L1 and L2.
const (
	blockBatch = 128
	rangeBatch = 512
	candBatch  = 256
)

// scratch holds a probe's batches.
type scratch struct {
	// The blocks to visit, and the budget left for each after the flips
	// spent on its coarse bits.
	block   [blockBatch]uint32
	rem     [blockBatch]uint8
	hdr     [blockBatch]uint32 // data index of the block's header
	posBase [blockBatch]uint32 // pos index of the block's first entry

	// The buckets to scan: data[start:end], data index less pos index,
	// and the budget for lo.
	start, end [rangeBatch]uint32
	posOff     [rangeBatch]uint32
	budget     [rangeBatch]uint8

	// Candidates: pos indexes, then word indexes.
	cand [candBatch]uint32

	// The buckets of a block by their own flip count from the query's:
	// sub[:within[k+1]] are those with at most k flips.
	sub      [1 << midBits]uint16
	subFlips [1 << midBits]uint8
	within   [midBits + 2]int

	qmid uint32 // the query's bucket within a block
	sink uint16
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// probe finds every entry of table t whose substring is within q.radius[t]
// of the query's, and verifies it. Every flip pattern of weight j ≤ r over
// the block bits gives a block; in a block, each bucket whose own flips
// keep the total within r is scanned, and inside a bucket lo rejects the
// entries whose remaining bits exceed what is left. No entry within the
// radius can be skipped, so the probe is exact; what it lets through is
// verified on the full hash.
//
// The work is done in batches, in passes that each do one thing: list
// blocks, look up where they are, touch their headers, list buckets, touch
// their entries, filter, look up candidates' positions, touch their
// hashes, verify. The touching passes make independent loads with no
// branches on what they load, so the processor keeps many cache misses in
// flight at once; a bucket-at-a-time loop would wait for each in turn, and
// misses are nearly all a probe costs.
func (s *segment) probe(q *query, t int, sc *scratch, dst []Match) []Match {
	r := q.radius[t]
	tab := &s.tab[t]
	key := substring(&q.q, t) >> tab.shift
	coarse := s.dirBits - s.midBits
	qhi := key >> s.midBits
	qmid := key & (1<<s.midBits - 1)
	sc.qmid = qmid

	ns := 0
	for jm := range int(s.midBits) + 1 {
		for sb := range uint32(1) << s.midBits {
			if bits.OnesCount32(sb^qmid) == jm {
				sc.sub[ns], sc.subFlips[ns] = uint16(sb), uint8(jm)
				ns++
			}
		}
		sc.within[jm+1] = ns
	}

	n := 0
	for j := 0; j <= r && j <= int(coarse); j++ {
		for _, m := range flips(coarse, j) {
			sc.block[n] = qhi ^ m
			sc.rem[n] = uint8(min(r-j, 255))
			n++
			if n == blockBatch {
				dst = s.visitBlocks(q, t, sc, n, dst)
				n = 0
			}
		}
	}
	return s.visitBlocks(q, t, sc, n, dst)
}

// visitBlocks resolves the first n blocks of sc.
func (s *segment) visitBlocks(q *query, t int, sc *scratch, n int, dst []Match) []Match {
	tab := &s.tab[t]
	for i := range n {
		c := sc.block[i]
		sc.hdr[i], sc.posBase[i] = tab.blocks[2*c], tab.blocks[2*c+1]
	}
	// Touch each header, and where the query's own bucket would begin if
	// the block's entries were spread evenly: for most blocks that is the
	// one bucket to scan, so its miss overlaps the header's instead of
	// waiting for it. A wrong guess costs a wasted load, nothing more.
	guess := uint32(1)<<s.midBits + uint32((uint64(sc.qmid)*2+1)*uint64(len(tab.pos))>>(s.dirBits+1))
	last := uint32(len(tab.data) - 1)
	sink := sc.sink
	for i := range n {
		sink ^= tab.data[sc.hdr[i]] ^ tab.data[min(sc.hdr[i]+guess, last)]
	}
	sc.sink = sink // keeps the touching loads

	nsub := uint32(1) << s.midBits
	mid := int(s.midBits)
	nr := 0
	for i := range n {
		if nr+int(nsub) > rangeBatch {
			dst = s.scanRanges(q, t, sc, nr, dst)
			nr = 0
		}
		h := sc.hdr[i]
		first := h + nsub               // data index of the block's first entry
		posOff := first - sc.posBase[i] // data index less pos index, in this block
		rem := int(sc.rem[i])
		hdr := tab.data[h : h+nsub]
		if hdr[nsub-1] == bigBlock {
			nr = s.bigRanges(tab, sc, i, first, posOff, rem, nr)
			continue
		}
		if rem == 0 {
			// The common case (the flips went to the block bits): only
			// the query's own bucket.
			sb := sc.qmid
			lo := uint32(0)
			if sb > 0 {
				lo = uint32(hdr[sb-1])
			}
			if hi := uint32(hdr[sb]); lo < hi {
				sc.start[nr], sc.end[nr], sc.posOff[nr], sc.budget[nr] = first+lo, first+hi, posOff, 0
				nr++
			}
			continue
		}
		for k := range sc.within[min(rem, mid)+1] {
			sb := sc.sub[k]
			lo := uint32(0)
			if sb > 0 {
				lo = uint32(hdr[sb-1])
			}
			if hi := uint32(hdr[sb]); lo < hi {
				sc.start[nr], sc.end[nr], sc.posOff[nr] = first+lo, first+hi, posOff
				sc.budget[nr] = uint8(rem - int(sc.subFlips[k]))
				nr++
			}
		}
	}
	return s.scanRanges(q, t, sc, nr, dst)
}

// bigRanges is visitBlocks's bucket listing for a block whose counts need
// more than 16 bits.
func (s *segment) bigRanges(tab *table, sc *scratch, i int, first, posOff uint32, rem, nr int) int {
	full := tab.big[sc.block[i]]
	for k := range sc.within[min(rem, int(s.midBits))+1] {
		sb := sc.sub[k]
		lo := uint32(0)
		if sb > 0 {
			lo = full[sb-1]
		}
		if lo < full[sb] {
			sc.start[nr], sc.end[nr], sc.posOff[nr] = first+lo, first+full[sb], posOff
			sc.budget[nr] = uint8(rem - int(sc.subFlips[k]))
			nr++
		}
	}
	return nr
}

// scanRanges filters the first n buckets of sc and verifies what passes.
func (s *segment) scanRanges(q *query, t int, sc *scratch, n int, dst []Match) []Match {
	tab := &s.tab[t]
	data := tab.data
	sink := sc.sink
	for i := range n {
		sink ^= data[sc.start[i]]
	}
	sc.sink = sink
	qlo := uint16(substring(&q.q, t))
	mask := tab.loMask
	nc := 0
	for i := range n {
		budget := int(sc.budget[i])
		base := sc.start[i] - sc.posOff[i]
		lo := data[sc.start[i]:sc.end[i]]
		for len(lo) > 0 {
			// A bucket can hold more entries than a batch of candidates
			// (a family of near-identical pictures), so take it in parts.
			if nc == candBatch {
				dst = s.verifyAll(q, t, sc, nc, dst)
				nc = 0
			}
			part := lo[:min(len(lo), candBatch-nc)]
			nc = filter(part, qlo, mask, budget, base, sc.cand[nc:], nc)
			base += uint32(len(part))
			lo = lo[len(part):]
		}
	}
	return s.verifyAll(q, t, sc, nc, dst)
}

// filter appends to cand the pos indexes (base+k) of the entries of lo
// within budget of qlo on the mask bits, and returns nc plus their count;
// cand has room for all of lo. Most buckets are filtered with a budget
// of 0 or 1 (the flips went to the bucket bits), which need no popcount.
// Each entry is written unconditionally and counted conditionally, which
// spares a hard-to-predict branch per entry.
func filter(lo []uint16, qlo, mask uint16, budget int, base uint32, cand []uint32, nc int) int {
	c := 0
	cand = cand[:len(lo)]
	switch budget {
	case 0:
		for k, v := range lo {
			cand[c] = base + uint32(k)
			if (v^qlo)&mask == 0 {
				c++
			}
		}
	case 1:
		for k, v := range lo {
			cand[c] = base + uint32(k)
			if x := (v ^ qlo) & mask; x&(x-1) == 0 {
				c++
			}
		}
	default:
		for k, v := range lo {
			cand[c] = base + uint32(k)
			if bits.OnesCount16((v^qlo)&mask) <= budget {
				c++
			}
		}
	}
	return nc + c
}

// verifyAll verifies the first n candidates of sc, in passes for the same
// reason as the probe: positions first, then the hashes, then the checks.
func (s *segment) verifyAll(q *query, t int, sc *scratch, n int, dst []Match) []Match {
	pos := s.tab[t].pos
	for i := range n {
		sc.cand[i] = pos[sc.cand[i]]
	}
	var sink uint64
	for i := range n {
		sink ^= s.words[sc.cand[i]][0]
	}
	sc.sink ^= uint16(sink)
	for i := range n {
		dst = s.verify(q, t, sc.cand[i], dst)
	}
	return dst
}

// verify checks a candidate found in table t against the full hash, and
// reports it only if t is the first table within whose radius it lies: a
// hash within the radius of several tables is met several times, and
// deciding ownership from the hash itself removes the duplicates without
// a set. Every match has an owner (that is the pigeonhole argument), and
// the owner's probe cannot miss it.
func (s *segment) verify(q *query, t int, p uint32, dst []Match) []Match {
	w := &s.words[p]
	x := [4]uint64{w[0] ^ q.q[0], w[1] ^ q.q[1], w[2] ^ q.q[2], w[3] ^ q.q[3]}
	dist := bits.OnesCount64(x[0]) + bits.OnesCount64(x[1]) + bits.OnesCount64(x[2]) + bits.OnesCount64(x[3])
	if dist > q.threshold {
		return dst
	}
	if bits.OnesCount32(substring(&x, t)) > q.radius[t] {
		return dst // let through on bits the table does not keep; a later table owns it
	}
	for u := range t {
		if bits.OnesCount32(substring(&x, u)) <= q.radius[u] {
			return dst // table u has reported it
		}
	}
	return s.emit(q, p, dist, dst)
}

// emit appends hash p unless a tombstone newer than the segment kills it.
func (s *segment) emit(q *query, p uint32, dist int, dst []Match) []Match {
	id := s.ids[p]
	if len(q.tombs) > 0 {
		if e, ok := q.tombs[tombKey{s.words[p], id}]; ok && e > s.epoch {
			return dst
		}
	}
	return append(dst, Match{ID: id, Distance: dist, Hash: fromWords(s.words[p])})
}

// scan is the linear search, used when the threshold is so large that
// probing would touch more of the segment than reading all of it.
func (s *segment) scan(q *query, dst []Match) []Match {
	q0, q1, q2, q3 := q.q[0], q.q[1], q.q[2], q.q[3]
	for i := range s.words {
		w := &s.words[i]
		dist := bits.OnesCount64(w[0]^q0) + bits.OnesCount64(w[1]^q1) + bits.OnesCount64(w[2]^q2) + bits.OnesCount64(w[3]^q3)
		if dist <= q.threshold {
			dst = s.emit(q, uint32(i), dist, dst)
		}
	}
	return dst
}

// Cost model, in nanoseconds, fitted on this package's benchmarks (an AMD
// EPYC virtual machine): a probe pays a cache miss or two per block and
// per bucket, a little per entry it filters, and two misses per candidate;
// a scan is bound by memory bandwidth, about 4 ns a hash with both cores
// reading. At 1M hashes the crossover falls between thresholds 56 and 63;
// below it the probe wins by far (about 25 times at 31).
const (
	costBlock     = 40.0
	costBucket    = 30.0
	costEntry     = 2.0
	costCandidate = 40.0
	costScan      = 4.0
)

func (s *segment) scanCost() float64 { return costScan * float64(len(s.words)) }

// probeCost estimates probing every table at its radius, assuming hashes
// spread evenly over substrings.
func (s *segment) probeCost(q *query) float64 {
	coarse := int(s.dirBits - s.midBits)
	mid := int(s.midBits)
	n := float64(len(s.words))
	perBucket := n / float64(uint64(1)<<s.dirBits)
	var cost float64
	for t := range tables {
		r := q.radius[t]
		if r < 0 {
			continue
		}
		for j := 0; j <= r && j <= coarse; j++ {
			var buckets float64
			for jm := 0; jm <= r-j && jm <= mid; jm++ {
				buckets += binomial(mid, jm)
			}
			cost += binomial(coarse, j) * (costBlock + buckets*(costBucket+perBucket*costEntry))
		}
		w := int(layout.width[t])
		var within float64
		for k := 0; k <= r && k <= w; k++ {
			within += binomial(w, k)
		}
		cost += costCandidate * n * within / float64(uint64(1)<<w)
	}
	return cost
}

func binomial(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	c := 1.0
	for i := range k {
		c = c * float64(n-i) / float64(i+1)
	}
	return c
}

// flipCache holds, for each width and weight, every flip pattern of that
// weight over that many bits, in increasing order (so consecutive blocks
// differ mostly in low bits and land near each other). Patterns are made
// on first use and kept: the widths in use are few.
var flipCache [maxDirBits + 1][maxDirBits + 1]atomic.Pointer[[]uint32]

func flips(width uint, weight int) []uint32 {
	p := &flipCache[width][weight]
	if f := p.Load(); f != nil {
		return *f
	}
	f := makeFlips(width, weight)
	p.Store(&f)
	return f
}

// makeFlips lists the width-bit numbers with weight bits set, by Gosper's
// hack (the next larger number with the same popcount).
func makeFlips(width uint, weight int) []uint32 {
	if weight > int(width) {
		return nil
	}
	out := make([]uint32, 0, int(binomial(int(width), weight)))
	if weight == 0 {
		return append(out, 0)
	}
	limit := uint64(1) << width
	for v := uint64(1)<<weight - 1; v < limit; {
		out = append(out, uint32(v))
		c := v & -v
		r := v + c
		v = (((r ^ v) >> 2) / c) | r
	}
	return out
}
