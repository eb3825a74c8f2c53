package match

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// exactSizes are the value lengths of the algorithms whose length is
// known, so that a hex string passed where the raw bytes belong is caught
// at load time instead of silently never matching.
var exactSizes = map[string]int{
	"md5":      16,
	"sha1":     20,
	"sha256":   32,
	"photodna": 144,
}

// maxExactLen bounds an opaque value; no image hash in use is near it.
const maxExactLen = 1024

// exactIndex maps (algorithm, value) to ids. Lookups are one map access,
// so a read-write mutex costs less than the copying a lock-free scheme
// would need.
type exactIndex struct {
	mu    sync.RWMutex
	algos map[string]*exactTable
	n     int
}

// exactTable holds one algorithm. Most values belong to one entry, so
// they cost a map slot and the value bytes; a value shared by several
// entries (the same file in several banks) moves to many.
type exactTable struct {
	one  map[string]uint32   // value -> its only id
	many map[string][]uint32 // value -> its ids, ascending, at least two
}

// AddExact indexes value under id for the named algorithm ("md5", "sha1",
// "sha256", "photodna", or any other name for an opaque hash; names are
// case-insensitive). value is the raw hash, not its hex. Adding a pair
// that is already present changes nothing: the exact side is a set.
func (x *Index) AddExact(id uint32, algo string, value []byte) error {
	algo, err := checkExact(algo, value)
	if err != nil {
		return err
	}
	e := &x.exact
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.algos[algo]
	if t == nil {
		t = &exactTable{one: make(map[string]uint32)}
		e.algos[algo] = t
	}
	if ids, ok := t.many[string(value)]; ok {
		i, found := slices.BinarySearch(ids, id)
		if !found {
			t.many[string(value)] = slices.Insert(ids, i, id)
			e.n++
		}
		return nil
	}
	if other, ok := t.one[string(value)]; ok {
		if other == id {
			return nil
		}
		if t.many == nil {
			t.many = make(map[string][]uint32)
		}
		delete(t.one, string(value))
		t.many[string(value)] = []uint32{min(id, other), max(id, other)}
		e.n++
		return nil
	}
	t.one[string(value)] = id
	e.n++
	return nil
}

// RemoveExact removes the pair and reports whether it was present.
func (x *Index) RemoveExact(id uint32, algo string, value []byte) bool {
	algo = strings.ToLower(algo)
	e := &x.exact
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.algos[algo]
	if t == nil {
		return false
	}
	if ids, ok := t.many[string(value)]; ok {
		i, found := slices.BinarySearch(ids, id)
		if !found {
			return false
		}
		ids = slices.Delete(ids, i, i+1)
		if len(ids) == 1 {
			delete(t.many, string(value))
			t.one[string(value)] = ids[0]
		} else {
			t.many[string(value)] = ids
		}
		e.n--
		return true
	}
	if other, ok := t.one[string(value)]; ok && other == id {
		delete(t.one, string(value))
		e.n--
		return true
	}
	return false
}

// MatchExact appends to dst, in ascending order, the ids indexed under
// exactly this algorithm and value, and returns the extended slice.
func (x *Index) MatchExact(algo string, value []byte, dst []uint32) []uint32 {
	e := &x.exact
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.algos[strings.ToLower(algo)]
	if t == nil {
		return dst
	}
	// string(value) in a map index does not allocate.
	if id, ok := t.one[string(value)]; ok {
		return append(dst, id)
	}
	return append(dst, t.many[string(value)]...)
}

func (e *exactIndex) len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.n
}

func checkExact(algo string, value []byte) (string, error) {
	algo = strings.ToLower(algo)
	if algo == "" {
		return "", fmt.Errorf("match: add exact hash: empty algorithm name")
	}
	if want, ok := exactSizes[algo]; ok && len(value) != want {
		return "", fmt.Errorf("match: add exact hash: %s value is %d bytes, want %d", algo, len(value), want)
	}
	if len(value) == 0 || len(value) > maxExactLen {
		return "", fmt.Errorf("match: add exact hash: %s value is %d bytes, want 1 to %d", algo, len(value), maxExactLen)
	}
	return algo, nil
}
