package match

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/canopy-org/canopy/internal/pdq"
)

// refDir is where CI lays the shared reference material: beside the clone,
// three levels up from this package.
const refDir = "../../../shared/pdq"

// readRef loads a hash list from the reference material, skipping the test
// on a developer's machine without it but failing in CI, where a missing
// file would otherwise leave the index silently untested on real hashes.
func readRef(t *testing.T, name string) []pdq.Hash {
	t.Helper()
	f, err := os.Open(filepath.Join(refDir, name))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PDQ reference hashes missing (want shared/pdq beside the clone): %v", err)
		}
		t.Skipf("PDQ reference hashes not found, skipping: %v", err)
	}
	defer f.Close()
	hs, err := ReadHexHashes(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return hs
}

// TestHaystackNeedles runs the reference implementation's own index test
// data: every needle's matches in the haystack are those of a linear scan.
func TestHaystackNeedles(t *testing.T) {
	haystack := readRef(t, "haystack.txt")
	needles := readRef(t, "needles.txt")
	if len(haystack) == 0 || len(needles) == 0 {
		t.Fatalf("haystack %d hashes, needles %d", len(haystack), len(needles))
	}
	entries := entriesOf(haystack)
	for _, force := range []strategy{costBased, forceProbe} {
		x := New(Options{force: force})
		x.AddPDQBatch(entries)
		x.Compact()
		matched, total := 0, 0
		for _, n := range needles {
			got := x.MatchPDQ(n, pdq.MatchThreshold, nil)
			want := linearMatch(entries, n, pdq.MatchThreshold)
			if !slices.Equal(got, want) {
				t.Fatalf("needle %v: index found %v, linear scan %v", n, brief(got), brief(want))
			}
			if len(got) > 0 {
				matched++
			}
			total += len(got)
			for _, th := range thresholds {
				checkSame(t, x, entries, n, th)
			}
		}
		t.Logf("strategy %d: %d haystack hashes, %d needles; %d needles match, %d matches in all within %d",
			force, len(haystack), len(needles), matched, total, pdq.MatchThreshold)
	}
}
