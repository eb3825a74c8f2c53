package limit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(60, 3) // one a second, three at once
	l.SetClock(func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth request: ok=%v wait=%v, want refused for up to 1s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another source was limited by the first")
	}
	now = now.Add(time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refilled token refused")
	}
	// After a quiet spell every bucket is full again and forgotten.
	now = now.Add(5 * time.Minute)
	l.Allow("c")
	if n := l.Len(); n != 1 {
		t.Fatalf("limiter remembers %d sources after they went quiet, want 1", n)
	}
}

func TestSource(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7:4000":         "203.0.113.7",
		"[2001:db8:1:2::1]:443":    "2001:db8:1:2::",
		"[2001:db8:1:2:ffff::3]:1": "2001:db8:1:2::",
		"[::ffff:10.0.0.1]:80":     "10.0.0.1",
		"not an address":           "not an address",
	} {
		if got := Source(in); got != want {
			t.Errorf("Source(%q) = %q, want %q", in, got, want)
		}
	}
}
