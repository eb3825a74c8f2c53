package bundle

import (
	"bytes"
	"testing"
)

// FuzzParseSums checks that SHA256SUMS has exactly one accepted encoding
// for a given list: whatever parses renders back to the same bytes.
// Seeds are in testdata/fuzz/FuzzParseSums.
func FuzzParseSums(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseSums(data)
		if err != nil {
			return
		}
		if out := formatSums(entries); !bytes.Equal(out, data) {
			t.Fatalf("parsed %q, renders as %q", data, out)
		}
		for _, e := range entries {
			if checkName(e.Path) != nil || !isHex(e.Hex, 64) {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}
