package bank

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/match"
	"github.com/canopy-org/canopy/internal/pdq"
	"github.com/canopy-org/canopy/internal/store"
)

// DefaultThreshold is PDQ's published match threshold.
const DefaultThreshold = pdq.MatchThreshold

// Matcher is the node's in-memory view of every bank, ready for matching:
// the hashes live in a match.Index under their entry ids, and a compact
// table says which bank and category each id belongs to.
type Matcher struct {
	index *match.Index

	mu       sync.RWMutex
	banks    []string          // bank names, by the number meta uses
	bankNum  map[string]uint16 // bank id → number
	meta     []entryMeta       // by entry id
	category []string          // category codes, by the number meta uses

	// Observe, when set before the matcher is used, is told how long
	// each Match took (the operators' match latency).
	Observe func(time.Duration)
}

// entryMeta is what a hit needs to say about an entry, in four bytes.
type entryMeta struct {
	bank     uint16
	category uint8
	live     bool
}

// NewMatcher returns an empty matcher.
func NewMatcher() *Matcher {
	m := &Matcher{index: match.New(match.Options{}), bankNum: map[string]uint16{}, category: []string{""}}
	for _, c := range canopy.Categories {
		m.category = append(m.category, c.Code)
	}
	return m
}

// Load indexes every entry of every bank.
func (m *Matcher) Load(ctx context.Context, db *store.DB) (int, error) {
	banks, err := db.Banks(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range banks {
		var batch []canopy.BankChange
		err := db.BankEntries(ctx, b.ID, func(e canopy.BankEntry) error {
			batch = append(batch, canopy.BankChange{Op: canopy.BankAdd, BankEntry: e})
			if len(batch) == 10000 {
				m.Apply(b, batch)
				n += len(batch)
				batch = batch[:0]
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("bank: load %s: %w", b.Name, err)
		}
		m.Apply(b, batch)
		n += len(batch)
	}
	return n, nil
}

// Apply brings the index in step with changes a bank has made durable.
func (m *Matcher) Apply(b *canopy.Bank, changes []canopy.BankChange) {
	if len(changes) == 0 {
		return
	}
	m.mu.Lock()
	num, ok := m.bankNum[b.ID]
	if !ok {
		num = uint16(len(m.banks))
		m.banks = append(m.banks, b.Name)
		m.bankNum[b.ID] = num
	}
	// PDQ changes go to the index in batches, in the order they were
	// made: a run of additions, then a run of removals, and so on, so a
	// hash removed and added again ends up present.
	var run []match.PDQEntry
	runOp := ""
	var pending []func()
	flush := func() {
		if len(run) == 0 {
			return
		}
		batch, op := run, runOp
		pending = append(pending, func() {
			if op == canopy.BankAdd {
				m.index.AddPDQBatch(batch)
			} else {
				m.index.RemovePDQBatch(batch)
			}
		})
		run = nil
	}
	for _, c := range changes {
		id := uint32(c.ID)
		if int(id) >= len(m.meta) {
			m.meta = slices.Grow(m.meta, int(id)+1-len(m.meta))[:int(id)+1]
		}
		m.meta[id] = entryMeta{bank: num, category: uint8(max(0, slices.Index(m.category, c.Category))), live: c.Op == canopy.BankAdd}
		if c.Algorithm == "pdq" {
			h, err := pdq.ParseHash(c.Value)
			if err != nil {
				continue // the bank validated it; nothing to index otherwise
			}
			if c.Op != runOp {
				flush()
				runOp = c.Op
			}
			run = append(run, match.PDQEntry{ID: id, Hash: h})
			continue
		}
		algo, v := exactKey(c.Algorithm, c.Value)
		if c.Op == canopy.BankAdd {
			m.index.AddExact(id, algo, v) // lengths were checked by the bank
		} else {
			m.index.RemoveExact(id, algo, v)
		}
	}
	flush()
	m.mu.Unlock()
	for _, apply := range pending {
		apply()
	}
}

// exactKey is the name and bytes an exact hash is indexed under: the raw
// hash for hex algorithms; for an opaque scheme, whose values come in
// whatever text form its tools print, the SHA-256 of that text under the
// scheme's name with ".sha256", so any length indexes alike.
func exactKey(algorithm, value string) (string, []byte) {
	if _, ok := hexLen[algorithm]; ok {
		if b, err := hex.DecodeString(value); err == nil {
			return algorithm, b
		}
	}
	sum := sha256.Sum256([]byte(value))
	return algorithm + ".sha256", sum[:]
}

// Len returns how many hashes are indexed.
func (m *Matcher) Len() int { return m.index.Len() }

// Match finds the banks that hold a hash: by value for exact hashes, and
// within threshold bits for PDQ (threshold ≤ 0 means the default).
func (m *Matcher) Match(h canopy.ContentHash, threshold int) []canopy.Hit {
	if m.Observe != nil {
		start := time.Now()
		defer func() { m.Observe(time.Since(start)) }()
	}
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	var hits []canopy.Hit
	add := func(id uint32, distance int) {
		if int(id) >= len(m.meta) || !m.meta[id].live {
			return
		}
		e := m.meta[id]
		hits = append(hits, canopy.Hit{Bank: m.banks[e.bank], Category: m.category[e.category], Algorithm: h.Algorithm, Distance: distance})
	}
	if h.Algorithm == "pdq" {
		q, err := pdq.ParseHash(h.Value)
		if err != nil {
			return nil
		}
		found := m.index.MatchPDQ(q, threshold, nil)
		m.mu.RLock()
		for _, f := range found {
			add(f.ID, f.Distance)
		}
		m.mu.RUnlock()
	} else {
		algo, v := exactKey(h.Algorithm, h.Value)
		ids := m.index.MatchExact(algo, v, nil)
		m.mu.RLock()
		for _, id := range ids {
			add(id, 0)
		}
		m.mu.RUnlock()
	}
	// Nearest first, then by bank, one hit per bank and category.
	slices.SortFunc(hits, func(a, b canopy.Hit) int {
		if a.Distance != b.Distance {
			return a.Distance - b.Distance
		}
		return cmpString(a.Bank+a.Category, b.Bank+b.Category)
	})
	return slices.CompactFunc(hits, func(a, b canopy.Hit) bool { return a.Bank == b.Bank && a.Category == b.Category })
}

// MatchReport matches every hash a report carries; it is what intake calls.
func (m *Matcher) MatchReport(hashes []canopy.ContentHash) []canopy.Hit {
	var out []canopy.Hit
	for _, h := range hashes {
		out = append(out, m.Match(h, 0)...)
	}
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
