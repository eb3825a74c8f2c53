package pdq

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Hash is a 256-bit PDQ hash. The bytes are the hash read as one big-endian
// 256-bit number, so bit k of the algorithm is bit k of that number and the
// array is exactly the bytes the reference hex form spells out. Comparing
// two Hash values with == is exact equality.
type Hash [32]byte

// MatchThreshold is the published PDQ match threshold: two hashes whose
// Distance is at most this are considered the same picture.
const MatchThreshold = 31

// String returns the reference hex form: 64 lowercase hex digits, 16-bit
// word 15 first and word 0 last.
func (h Hash) String() string {
	const digits = "0123456789abcdef"
	var buf [64]byte
	for i, b := range h {
		buf[2*i] = digits[b>>4]
		buf[2*i+1] = digits[b&0x0f]
	}
	return string(buf[:])
}

// ParseHash parses the reference hex form. It accepts exactly 64 hex digits
// (either case) and nothing else: no prefix, no spaces, so that a truncated
// or padded value in a hash list is an error instead of a silent near-miss.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return Hash{}, fmt.Errorf("pdq: parse hash: want %d hex digits, got %d characters", 2*len(h), len(s))
	}
	for i := range h {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			at := 2 * i
			if ok1 {
				at++
			}
			return Hash{}, fmt.Errorf("pdq: parse hash: invalid hex digit %q at offset %d", s[at], at)
		}
		h[i] = hi<<4 | lo
	}
	return h, nil
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// MarshalText implements encoding.TextMarshaler with the reference hex form.
func (h Hash) MarshalText() ([]byte, error) {
	return []byte(h.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it is as strict as
// ParseHash.
func (h *Hash) UnmarshalText(text []byte) error {
	p, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// Words returns the hash as four 64-bit words, Words()[0] holding bits 0–63
// (bit k at position k%64 of word k/64). Reference 16-bit word i is thus
// uint16(w[i/4] >> (16 * (i%4))), the slot a multi-index hash keys on.
func (h Hash) Words() [4]uint64 {
	var w [4]uint64
	for i := range w {
		w[i] = binary.BigEndian.Uint64(h[32-8*(i+1):])
	}
	return w
}

// bit reports whether bit k (0 ≤ k < 256) of the hash is set, numbered as
// in the algorithm: k = 16·row + column of the 16×16 DCT coefficients.
func (h Hash) bit(k int) bool {
	return h[31-k/8]>>(k%8)&1 == 1
}

func (h *Hash) setBit(k int) {
	h[31-k/8] |= 1 << (k % 8)
}

// Distance returns the Hamming distance between a and b, 0 to 256.
func Distance(a, b Hash) int {
	// Word order does not matter for a popcount, so use the byte order that
	// loads without swapping on common hardware.
	n := 0
	for i := 0; i < len(a); i += 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]))
	}
	return n
}
