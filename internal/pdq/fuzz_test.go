package pdq

import (
	"bytes"
	"strings"
	"testing"
)

// isHash reports whether s is 64 hex digits, independently of ParseHash.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
			return false
		}
	}
	return true
}

func FuzzParseHash(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if (err == nil) != isHash(s) {
			t.Fatalf("ParseHash(%q) error = %v, but isHash = %v", s, err, isHash(s))
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pdq: parse hash: ") {
				t.Fatalf("error %q lacks context", err)
			}
			var u Hash
			if u.UnmarshalText([]byte(s)) == nil {
				t.Fatalf("UnmarshalText accepted %q", s)
			}
			return
		}
		if got := h.String(); got != strings.ToLower(s) {
			t.Fatalf("ParseHash(%q).String() = %q", s, got)
		}
		text, _ := h.MarshalText()
		var u Hash
		if err := u.UnmarshalText(text); err != nil || u != h {
			t.Fatalf("text round trip of %v: %v, %v", h, u, err)
		}
		if Distance(h, u) != 0 || Distance(h, Hash{}) != Distance(Hash{}, h) {
			t.Fatalf("Distance inconsistent for %v", h)
		}
	})
}

// fuzzMaxPixels keeps each run fast while still admitting images over 512
// pixels wide or tall, which take the pre-scaling path.
const fuzzMaxPixels = 1 << 18

func FuzzFromImageBytes(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(bytes.NewReader(data), fuzzMaxPixels)
		if err != nil {
			if img != nil {
				t.Fatal("Decode returned an image with its error")
			}
			if !strings.HasPrefix(err.Error(), "pdq: decode") {
				t.Fatalf("error %q lacks context", err)
			}
			return
		}
		size := img.Bounds().Size()
		if size.X <= 0 || size.Y <= 0 || size.X*size.Y > fuzzMaxPixels {
			t.Fatalf("Decode let through a %v image", size)
		}
		h, q, err := FromImage(img)
		if err != nil {
			t.Fatalf("FromImage: %v", err)
		}
		if q < 0 || q > 100 {
			t.Fatalf("quality %d out of range", q)
		}
		hs, dq, err := Dihedral(img)
		if err != nil || hs[0] != h || dq != q {
			t.Fatalf("Dihedral = %v, %d, %v; FromImage gave %v, %d", hs[0], dq, err, h, q)
		}
		if (size.X < minSide || size.Y < minSide) && (h != Hash{} || q != 0) {
			t.Fatalf("%v image: hash %v quality %d, want zero", size, h, q)
		}
	})
}
