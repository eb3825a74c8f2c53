package match

import (
	"math/rand/v2"

	"github.com/canopy-org/canopy/internal/pdq"
)

// randomHash returns a uniformly random hash.
func randomHash(r *rand.Rand) pdq.Hash {
	var h pdq.Hash
	for i := 0; i < len(h); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			h[i+j] = byte(v >> (8 * j))
		}
	}
	return h
}

// flipBits returns h with k distinct random bits flipped.
func flipBits(r *rand.Rand, h pdq.Hash, k int) pdq.Hash {
	for _, b := range r.Perm(256)[:k] {
		h[b/8] ^= 1 << (b % 8)
	}
	return h
}

// uniformHashes returns n uniformly random hashes.
func uniformHashes(r *rand.Rand, n int) []pdq.Hash {
	hs := make([]pdq.Hash, n)
	for i := range hs {
		hs[i] = randomHash(r)
	}
	return hs
}

// clusteredHashes returns n hashes in near-duplicate families, as a bank
// holds them: each family is a random centre and 1 to maxFamily members
// 0 to 40 bits from it (so up to 80 bits from each other), the way crops,
// re-encodings and watermarks of one picture spread around its hash.
func clusteredHashes(r *rand.Rand, n, maxFamily int) []pdq.Hash {
	hs := make([]pdq.Hash, 0, n)
	for len(hs) < n {
		centre := randomHash(r)
		size := 1 + r.IntN(maxFamily)
		for range min(size, n-len(hs)) {
			hs = append(hs, flipBits(r, centre, r.IntN(41)))
		}
	}
	return hs
}

// queriesFor returns n queries against hs: half are indexed hashes with
// 0 to maxFlip bits flipped (a new copy of a known picture), half random
// (an unknown picture), so both hits and misses are measured.
func queriesFor(r *rand.Rand, hs []pdq.Hash, n, maxFlip int) []pdq.Hash {
	qs := make([]pdq.Hash, n)
	for i := range qs {
		if i%2 == 0 && len(hs) > 0 {
			qs[i] = flipBits(r, hs[r.IntN(len(hs))], r.IntN(maxFlip+1))
		} else {
			qs[i] = randomHash(r)
		}
	}
	return qs
}

// linearMatch is the reference: every pair within threshold, sorted as
// MatchPDQ sorts.
func linearMatch(entries []PDQEntry, q pdq.Hash, threshold int) []Match {
	var out []Match
	for _, e := range entries {
		if d := pdq.Distance(e.Hash, q); d <= threshold {
			out = append(out, Match{ID: e.ID, Distance: d, Hash: e.Hash})
		}
	}
	sortMatches(out)
	return out
}

func entriesOf(hs []pdq.Hash) []PDQEntry {
	es := make([]PDQEntry, len(hs))
	for i, h := range hs {
		es[i] = PDQEntry{ID: uint32(i), Hash: h}
	}
	return es
}
