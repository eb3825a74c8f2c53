package audit

import (
	"fmt"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// The in-memory tree stores and roots exactly what tlog does.
func TestTreeMatchesTlog(t *testing.T) {
	stored := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, ok := stored[x]
			if !ok {
				return nil, fmt.Errorf("no hash %d", x)
			}
			out[i] = h
		}
		return out, nil
	})
	var tr tree
	for n := int64(0); n <= 1100; n++ {
		want, err := tlog.TreeHash(n, reader)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.root(); got != want {
			t.Fatalf("root of %d = %v, want %v", n, got, want)
		}
		edge, err := reader.ReadHashes(edgeIndexes(n))
		if err != nil || !slices.Equal(edge, tr.edge) {
			t.Fatalf("edge of %d = %v, want %v (%v)", n, tr.edge, edge, err)
		}
		data := fmt.Appendf(nil, "leaf %d", n)
		wantStored, err := tlog.StoredHashes(n, data, reader)
		if err != nil {
			t.Fatal(err)
		}
		gotStored := tr.push(tlog.RecordHash(data), nil)
		if !slices.Equal(gotStored, wantStored) {
			t.Fatalf("stored hashes of leaf %d = %v, want %v", n, gotStored, wantStored)
		}
		for i, h := range wantStored {
			stored[tlog.StoredHashIndex(0, n)+int64(i)] = h
		}
	}
}
