package canopy

import "unicode"

// IsControlRune reports the characters that have no place in text people
// type into Canopy: control and format characters, bidirectional
// overrides and isolates (which can make a name read as another), byte
// order marks and private use. Every validator of free text uses it.
func IsControlRune(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0xfeff || r == 0xfffe || r == 0xffff:
		return true
	}
	return unicode.Is(unicode.Co, r)
}
