package stafftest

import (
	"testing"
	"time"
)

// TestCode checks the codes against RFC 6238 appendix B (SHA-1; eight
// digits there, the last six are the code).
func TestCode(t *testing.T) {
	secret := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471",
		1234567890: "005924", 2000000000: "279037", 20000000000: "353130"} {
		if got := Code(secret, time.Unix(unix, 0)); got != want {
			t.Errorf("Code at %d = %s, want %s", unix, got, want)
		}
	}
}
