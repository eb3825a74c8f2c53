package intake_test

import (
	"context"
	"testing"

	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// BenchmarkFollowupMiss times the follow-up answer for a receipt that
// differs from a real one by one character, for a well-formed code that
// was never issued, and for text that is not a code at all. The three
// take one path (normalise, keyed hash, one indexed lookup), so their
// times should be alike; compare them with benchstat.
func BenchmarkFollowupMiss(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	s := newService(b, db)
	ctx := context.Background()
	var real string
	for range 1000 {
		rc, err := s.Submit(ctx, valid())
		if err != nil {
			b.Fatal(err)
		}
		real = rc.Code
	}
	wrong := []byte(real)
	wrong[len(wrong)-1] ^= 1 // still in the alphabet? make sure
	if wrong[len(wrong)-1] == real[len(real)-1] || !isCodeChar(wrong[len(wrong)-1]) {
		wrong[len(wrong)-1] = '0'
		if real[len(real)-1] == '0' {
			wrong[len(wrong)-1] = '1'
		}
	}
	for _, tc := range []struct{ name, code string }{
		{"wrong", string(wrong)}, {"unknown", "ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, {"malformed", "not a code"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Followup(ctx, tc.code); err == nil {
					b.Fatal("a miss opened a report")
				}
			}
		})
	}
}

func isCodeChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U'
}
