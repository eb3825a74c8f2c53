package match

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestExact(t *testing.T) {
	x := New(Options{})
	md5 := bytes.Repeat([]byte{0xab}, 16)
	sha := bytes.Repeat([]byte{0xcd}, 32)
	photo := bytes.Repeat([]byte{7}, 144)
	for _, c := range []struct {
		id    uint32
		algo  string
		value []byte
	}{
		{3, "md5", md5},
		{1, "MD5", md5}, // names are case-insensitive
		{2, "md5", md5},
		{2, "md5", md5}, // a set: no duplicate
		{9, "sha256", sha},
		{4, "photodna", photo},
		{5, "vendor-x", []byte("opaque")},
	} {
		if err := x.AddExact(c.id, c.algo, c.value); err != nil {
			t.Fatalf("AddExact(%d, %s): %v", c.id, c.algo, err)
		}
	}
	if got := x.MatchExact("md5", md5, nil); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Errorf("md5 = %v, want [1 2 3]", got)
	}
	if got := x.MatchExact("sha256", md5[:16], nil); got != nil {
		t.Errorf("wrong value matched %v", got)
	}
	if got := x.MatchExact("sha1", sha[:20], nil); got != nil {
		t.Errorf("unknown algorithm matched %v", got)
	}
	if got := x.MatchExact("md5", sha[:16], nil); got != nil {
		t.Errorf("md5 of other bytes matched %v", got)
	}
	if got := x.MatchExact("Vendor-X", []byte("opaque"), []uint32{100}); !slices.Equal(got, []uint32{100, 5}) {
		t.Errorf("append to dst = %v", got)
	}
	if x.Len() != 6 {
		t.Errorf("Len = %d, want 6", x.Len())
	}
	if !x.RemoveExact(2, "md5", md5) || x.RemoveExact(2, "md5", md5) {
		t.Error("RemoveExact(2) should succeed once")
	}
	if !x.RemoveExact(3, "md5", md5) {
		t.Error("RemoveExact(3) failed")
	}
	if got := x.MatchExact("md5", md5, nil); !slices.Equal(got, []uint32{1}) {
		t.Errorf("after removals md5 = %v, want [1]", got)
	}
	if !x.RemoveExact(1, "md5", md5) || x.MatchExact("md5", md5, nil) != nil {
		t.Error("last id not removed")
	}
	if x.RemoveExact(1, "nope", md5) {
		t.Error("removed from an unknown algorithm")
	}
	if x.Len() != 3 {
		t.Errorf("Len = %d, want 3", x.Len())
	}
}

func TestExactRejects(t *testing.T) {
	x := New(Options{})
	for _, c := range []struct {
		algo  string
		value []byte
		want  string
	}{
		{"md5", []byte("0123456789abcdef0123456789abcdef"), "md5 value is 32 bytes, want 16"}, // hex passed as bytes
		{"sha1", make([]byte, 32), "sha1 value is 32 bytes, want 20"},
		{"", make([]byte, 16), "empty algorithm"},
		{"opaque", nil, "want 1 to"},
		{"opaque", make([]byte, maxExactLen+1), "want 1 to"},
	} {
		err := x.AddExact(1, c.algo, c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "match: ") {
			t.Errorf("AddExact(%q, %d bytes) = %v, want error containing %q", c.algo, len(c.value), err, c.want)
		}
	}
	if x.Len() != 0 {
		t.Errorf("Len = %d after rejected adds", x.Len())
	}
}

func TestExactConcurrent(t *testing.T) {
	x := New(Options{})
	v := func(i int) []byte {
		return []byte{byte(i), byte(i >> 8), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 2000 {
			x.AddExact(uint32(i), "md5", v(i%100))
			if i%7 == 0 {
				x.RemoveExact(uint32(i), "md5", v(i%100))
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			var dst []uint32
			for i := range 2000 {
				dst = x.MatchExact("md5", v(i%100), dst[:0])
				if !slices.IsSorted(dst) {
					t.Errorf("unsorted ids %v", dst)
					return
				}
			}
		})
	}
	wg.Wait()
}
