package match

import (
	"fmt"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/pdq"
)

// FuzzReadHexHashes holds ReadHexHashes to a plain restatement of the
// format: split into lines, drop comments and surrounding blanks, and
// every remaining line must be a hash. Seeds are in testdata.
func FuzzReadHexHashes(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ReadHexHashes(strings.NewReader(in))
		want, wantLine := restated(in)
		if wantLine < 0 {
			return // a line the scanner may refuse as too long: only no panic is asked
		}
		if wantLine > 0 {
			prefix := fmt.Sprintf("match: read hashes: line %d: ", wantLine)
			if err == nil || !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("ReadHexHashes(%q) error = %v, want one starting %q", in, err, prefix)
			}
			if got != nil {
				t.Fatalf("hashes returned with an error")
			}
			return
		}
		if err != nil {
			t.Fatalf("ReadHexHashes(%q): %v", in, err)
		}
		if len(got) != len(want) {
			t.Fatalf("ReadHexHashes(%q) = %d hashes, want %d", in, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("hash %d = %v, want %v", i, got[i], want[i])
			}
		}
	})
}

// restated parses in independently of the scanner. It returns the hashes,
// or the 1-based number of the first bad line, or -1 when some line is
// too long for the result to be predicted simply.
func restated(in string) ([]pdq.Hash, int) {
	lines := strings.Split(in, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1] // a final newline ends the last line, it does not start one
	}
	var out []pdq.Hash
	for i, l := range lines {
		if len(l) >= maxLine-1 {
			return nil, -1
		}
		if i == 0 {
			l = strings.TrimPrefix(l, "\uFEFF")
		}
		l, _, _ = strings.Cut(l, "#")
		l = strings.Trim(l, " \t\r")
		if l == "" {
			continue
		}
		h, err := pdq.ParseHash(l)
		if err != nil {
			return nil, i + 1
		}
		out = append(out, h)
	}
	return out, 0
}
