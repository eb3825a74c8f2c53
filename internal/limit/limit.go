// Package limit keeps abuse in check without keeping track of people: it
// rate-limits requests per source in memory only. Sources are known by a
// keyed hash under a key made at start-up and never written anywhere, and
// idle entries are forgotten, so no address outlives the process, nor even
// a quiet minute in its memory.
package limit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// Limiter is a set of token buckets, one per source.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time
	key   []byte

	mu      sync.Mutex
	buckets map[uint64]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter that allows burst requests at once and perMinute
// requests a minute after that, per source.
func New(perMinute, burst int) *Limiter {
	key := make([]byte, 32)
	rand.Read(key)
	return &Limiter{
		rate:    float64(perMinute) / 60,
		burst:   float64(burst),
		now:     time.Now,
		key:     key,
		buckets: make(map[uint64]*bucket),
	}
}

// SetClock replaces the limiter's clock, for tests.
func (l *Limiter) SetClock(now func() time.Time) { l.now = now }

// Allow reports whether source may make a request now, and if not, how
// long until it may.
func (l *Limiter) Allow(source string) (bool, time.Duration) {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(source))
	id := binary.BigEndian.Uint64(m.Sum(nil))
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[id]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep forgets buckets that have refilled: they hold nothing a fresh
// bucket would not.
func (l *Limiter) sweep(now time.Time) {
	for id, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, id)
		}
	}
	l.swept = now
}

// Len returns how many sources the limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Source names who is calling, for Allow, from a request's remote address
// ("host:port"): the IPv4 address, or the IPv6 /64, since one household or
// phone holds a whole /64. It is only ever used as a limiter key.
func Source(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String()
}
