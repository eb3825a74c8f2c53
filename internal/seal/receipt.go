package seal

import (
	"crypto/rand"
	"strings"
)

// Receipt codes are what an anonymous reporter keeps to follow a report up.
// They are drawn from Crockford's base32 alphabet (no I, L, O or U), so
// they read aloud without ambiguity, and shown in groups of four:
// "K7QM-3XPA-9RTD-H2WF" carries 80 bits.
const (
	receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	receiptChars    = 16 // 16 × 5 bits = 80 bits of entropy
)

// NewReceipt returns a fresh receipt code in its display form.
func NewReceipt() string {
	var raw [10]byte // 80 bits
	rand.Read(raw[:])
	var b strings.Builder
	var acc uint64
	var bits uint
	n := 0
	for _, c := range raw {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(receiptAlphabet[(acc>>bits)&31])
			n++
		}
	}
	return b.String()
}

// NormaliseReceipt turns what a reporter typed into the canonical code:
// case, spaces and dashes do not matter, and the letters people confuse
// with digits (O, I, L) are read as the digits. It returns "" when the
// input cannot be a receipt code at all.
func NormaliseReceipt(s string) string {
	if len(s) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if r > 127 || strings.IndexByte(receiptAlphabet, byte(r)) < 0 {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != receiptChars {
		return ""
	}
	return b.String()
}
