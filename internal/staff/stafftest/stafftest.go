// Package stafftest gives tests what a member of staff's phone would: the
// six-digit code of an authenticator app (RFC 6238: HMAC-SHA-1 of the
// 30-second step, truncated as RFC 4226 §5.3 says). It is written apart
// from internal/staff on purpose, so a test that signs in checks the
// staff package against an independent implementation.
package stafftest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"time"
)

// Code is the authenticator code for secret at time at.
func Code(secret []byte, at time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000)
}
