package match

import (
	"strings"
	"testing"
	"testing/iotest"

	"github.com/canopy-org/canopy/internal/pdq"
)

const (
	hashA = "f162eb9daab170c0567fe3632d9a5548c5612982dd5e374a7424ebbc8a835c95"
	hashB = "B062EB9D2AB170C0567FCB672D9A5548C5612982DD5E374A7424EBBC8B135CB5"
)

func TestReadHexHashes(t *testing.T) {
	a, _ := pdq.ParseHash(hashA)
	b, _ := pdq.ParseHash(hashB)
	for _, c := range []struct {
		name, in string
		want     []pdq.Hash
		err      string
	}{
		{"empty", "", nil, ""},
		{"one", hashA, []pdq.Hash{a}, ""},
		{"two", hashA + "\n" + hashB + "\n", []pdq.Hash{a, b}, ""},
		{"comments and blanks", "# bank: test\n\n  " + hashA + "  # first\n\t\n# end\n" + hashB, []pdq.Hash{a, b}, ""},
		{"crlf and bom", "\uFEFF" + hashA + "\r\n" + hashB + "\r\n", []pdq.Hash{a, b}, ""},
		{"short", hashA + "\n\n" + hashA[:63] + "\n", nil, "line 3: pdq: parse hash: want 64 hex digits, got 63"},
		{"bad digit", "# x\n" + hashA[:10] + "g" + hashA[11:], nil, "line 2: pdq: parse hash: invalid hex digit 'g' at offset 10"},
		{"two on a line", hashA + " " + hashB, nil, "line 1: pdq: parse hash: want 64 hex digits"},
		{"csv", hashA + ",100", nil, "line 1:"},
		{"too long", hashA + "\n" + strings.Repeat("a", maxLine+1), nil, "line 2: longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadHexHashes(strings.NewReader(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "match: read hashes: ") {
					t.Fatalf("error = %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d hashes, want %d", len(got), len(c.want))
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("hash %d = %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestReadHexHashesReadError(t *testing.T) {
	r := iotest.TimeoutReader(strings.NewReader(hashA + "\n" + hashB + "\n"))
	_, err := ReadHexHashes(iotest.OneByteReader(r))
	if err == nil || !strings.Contains(err.Error(), "reading line 1: timeout") {
		t.Fatalf("error = %v, want the read error", err)
	}
}
