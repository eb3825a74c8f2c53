package evidence_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/canopy-org/canopy/internal/evidence"
)

// FuzzSafeName: whatever name a file arrives with, what goes into a
// bundle's file list or a download's Content-Disposition is plain ASCII
// of the safe set, never starts with a dot, is at most 100 bytes, keeps
// an extension of safe characters, and is the same when made safe again.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"photo one.png", "../../etc/passwd", ".hidden", "x\r\nContent-Type: text/html\r\n\r\n.png",
		"\"; filename*=UTF-8''evil.exe", strings.Repeat("é", 80) + ".jpg", "\u202egpj.exe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		out := evidence.SafeName(name)
		if len(out) > 100 || strings.HasPrefix(out, ".") {
			t.Fatalf("SafeName(%q) = %q", name, out)
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("SafeName(%q) = %q holds %q", name, out, c)
			}
		}
		if again := evidence.SafeName(out); again != out {
			t.Fatalf("SafeName is not stable: %q then %q", out, again)
		}
		if utf8.ValidString(name) && strings.HasSuffix(name, ".png") && len(out) >= 4 && !strings.HasSuffix(out, ".png") {
			t.Fatalf("SafeName(%q) = %q lost the extension", name, out)
		}
	})
}
