package audit

import (
	"crypto/sha256"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// tree is a Merkle tree (RFC 6962, as tlog hashes it) reduced to its right
// edge: the roots of its complete subtrees, largest first, one per bit set
// in size. That is all it takes to append a leaf and to compute the root,
// so the log keeps the tree in memory in O(log n) and verification
// rebuilds it from a stream of entries in the same space.
type tree struct {
	size int64
	edge []tlog.Hash
}

// push appends a leaf and returns, appended to buf, the hashes tlog stores
// for it, in stored-hash order from tlog.StoredHashIndex(0, size): the
// leaf hash, then the root of each complete subtree the leaf closes.
func (t *tree) push(leaf tlog.Hash, buf []tlog.Hash) []tlog.Hash {
	buf = append(buf, leaf)
	h := leaf
	for k := t.size; k&1 == 1; k >>= 1 {
		last := len(t.edge) - 1
		h = tlog.NodeHash(t.edge[last], h)
		t.edge = t.edge[:last]
		buf = append(buf, h)
	}
	t.edge = append(t.edge, h)
	t.size++
	return buf
}

// root returns the tree's root hash; the empty tree's is the hash of
// nothing, as RFC 6962 has it.
func (t *tree) root() tlog.Hash {
	if t.size == 0 {
		return sha256.Sum256(nil)
	}
	h := t.edge[len(t.edge)-1]
	for i := len(t.edge) - 2; i >= 0; i-- {
		h = tlog.NodeHash(t.edge[i], h)
	}
	return h
}

func (t *tree) clone() tree {
	return tree{size: t.size, edge: slices.Clone(t.edge)}
}

// edgeIndexes returns the stored-hash indexes of the right edge of a tree
// of n leaves, largest subtree first: what loading the tree reads.
func edgeIndexes(n int64) []int64 {
	var out []int64
	var lo int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			out = append(out, tlog.StoredHashIndex(level, lo>>level))
			lo += 1 << level
		}
	}
	return out
}
