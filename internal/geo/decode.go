package geo

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error that comes from the content of a
// database file rather than from reading it, so that a caller can tell an
// operator "this file is broken" apart from "this file is missing".
var ErrInvalid = errors.New("invalid MaxMind DB")

// corrupt reports a malformed database. Lookups only build errors on the
// way out, so the cost of formatting stays off the hot path.
func corrupt(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrInvalid)...)
}

// kind is the type number of a field in a data section. The values are
// those of the specification and are read from files, so they never change.
type kind uint8

const (
	kindExtended  kind = 0
	kindPointer   kind = 1
	kindString    kind = 2
	kindDouble    kind = 3
	kindBytes     kind = 4
	kindUint16    kind = 5
	kindUint32    kind = 6
	kindMap       kind = 7
	kindInt32     kind = 8
	kindUint64    kind = 9
	kindUint128   kind = 10
	kindArray     kind = 11
	kindContainer kind = 12 // data cache container
	kindEnd       kind = 13 // end marker
	kindBool      kind = 14
	kindFloat     kind = 15
)

var kindNames = [...]string{
	kindExtended:  "extended",
	kindPointer:   "pointer",
	kindString:    "string",
	kindDouble:    "double",
	kindBytes:     "bytes",
	kindUint16:    "uint16",
	kindUint32:    "uint32",
	kindMap:       "map",
	kindInt32:     "int32",
	kindUint64:    "uint64",
	kindUint128:   "uint128",
	kindArray:     "array",
	kindContainer: "data cache container",
	kindEnd:       "end marker",
	kindBool:      "boolean",
	kindFloat:     "float",
}

func (k kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("type %d", uint8(k))
}

// section is a data section or the metadata section of a file. Pointers in
// each are offsets from the start of that section, so keeping each as its
// own slice makes a pointer a plain index and every bounds check a
// comparison with len.
type section []byte

// header decodes the control byte, and the bytes that extend it, of the
// field at off. For a pointer, n is the offset it points to and next is the
// field after the pointer. For any other kind, n is the size from the
// control byte (a byte length, an entry count, or a boolean's value) and
// next is where the payload starts; the payload itself is not checked.
func (s section) header(off uint) (k kind, n, next uint, err error) {
	end := uint(len(s))
	if off >= end {
		return 0, 0, 0, corrupt("field at %d is past the end of the section (%d bytes)", off, end)
	}
	c := s[off]
	off++
	k = kind(c >> 5)

	if k == kindPointer {
		// 001SSVVV: SS says how many bytes follow, VVV are the high bits of
		// the pointer, except for the 4-byte form, which ignores them.
		ss := uint(c>>3) & 3
		if ss+1 > end-off {
			return 0, 0, 0, corrupt("pointer at %d is truncated", off-1)
		}
		v := uint(c & 7)
		b := s[off : off+ss+1]
		switch ss {
		case 0:
			n = v<<8 | uint(b[0])
		case 1:
			n = (v<<16 | uint(b[0])<<8 | uint(b[1])) + 2048
		case 2:
			n = (v<<24 | uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])) + 526336
		default:
			n = uint(b[0])<<24 | uint(b[1])<<16 | uint(b[2])<<8 | uint(b[3])
		}
		return kindPointer, n, off + ss + 1, nil
	}

	if k == kindExtended {
		if off >= end {
			return 0, 0, 0, corrupt("extended type at %d is truncated", off-1)
		}
		e := s[off]
		off++
		// Only types 8 to 15 need the extended form; anything else is
		// either a type that has a short form or one that does not exist.
		if e < 1 || e > 8 {
			return 0, 0, 0, corrupt("unknown extended type %d at %d", int(e)+7, off-2)
		}
		k = kind(7 + e)
	}

	n = uint(c & 0x1f)
	if n >= 29 {
		// 29, 30 and 31 say that 1, 2 or 3 more bytes hold the size, offset
		// so that each form starts where the shorter one ends.
		m := n - 28
		if m > end-off {
			return 0, 0, 0, corrupt("size of field at %d is truncated", off-1)
		}
		b := s[off : off+m]
		switch m {
		case 1:
			n = 29 + uint(b[0])
		case 2:
			n = 285 + (uint(b[0])<<8 | uint(b[1]))
		default:
			n = 65821 + (uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2]))
		}
		off += m
	}
	return k, n, off, nil
}

// payloadSize returns how many bytes follow the header of a scalar of kind
// k and size n, rejecting sizes the specification does not allow.
func payloadSize(k kind, n uint) (uint, error) {
	limit := n
	switch k {
	case kindString, kindBytes, kindContainer:
		// The specification leaves the layout of a data cache container
		// to the writer; like other readers, treat it as opaque bytes.
		return n, nil
	case kindDouble:
		if n != 8 {
			return 0, corrupt("double of %d bytes", n)
		}
		return n, nil
	case kindFloat:
		if n != 4 {
			return 0, corrupt("float of %d bytes", n)
		}
		return n, nil
	case kindUint16:
		limit = 2
	case kindUint32, kindInt32:
		limit = 4
	case kindUint64:
		limit = 8
	case kindUint128:
		limit = 16
	case kindBool:
		if n > 1 {
			return 0, corrupt("boolean with value %d", n)
		}
		return 0, nil // the value is the size
	case kindEnd:
		if n != 0 {
			return 0, corrupt("end marker of size %d", n)
		}
		return 0, nil
	default:
		return 0, corrupt("%s is not a scalar", k)
	}
	if n > limit {
		return 0, corrupt("%s of %d bytes", k, n)
	}
	return n, nil
}

// skip returns the offset just past the field at off, including all that a
// map or array holds. A pointer is skipped without being followed, as the
// field is the pointer itself. It works with a counter rather than
// recursion so that deep nesting cannot exhaust the stack, and every step
// consumes at least a byte, so it ends within len(s) steps.
func (s section) skip(off uint) (uint, error) {
	end := uint(len(s))
	for pending := uint(1); pending > 0; pending-- {
		k, n, next, err := s.header(off)
		if err != nil {
			return 0, err
		}
		switch k {
		case kindPointer:
			off = next
			continue
		case kindMap:
			pending += 2 * n
			off = next
		case kindArray:
			pending += n
			off = next
		default:
			size, err := payloadSize(k, n)
			if err != nil {
				return 0, fmt.Errorf("field at %d: %w", off, err)
			}
			if size > end-next {
				return 0, corrupt("%s at %d is truncated", k, off)
			}
			off = next + size
		}
		// Every field takes at least one byte. Checking that they can
		// still fit stops a hostile count early and keeps pending small.
		if pending-1 > end-off {
			return 0, corrupt("field before %d holds more fields than bytes remain", off)
		}
	}
	return off, nil
}

// follow decodes the header of the field at off and, if that field is a
// pointer, the header of the field it points to. after is where the
// pointer ends, or 0 if the field at off is not a pointer. The
// specification forbids a pointer to a pointer; rejecting one means a
// hostile file cannot send the decoder round in circles.
func (s section) follow(off uint) (k kind, n, payload, after uint, err error) {
	k, n, payload, err = s.header(off)
	if err != nil || k != kindPointer {
		return k, n, payload, 0, err
	}
	after = payload
	k, n, payload, err = s.header(n)
	if err != nil {
		return 0, 0, 0, 0, fmt.Errorf("pointer at %d: %w", off, err)
	}
	if k == kindPointer {
		return 0, 0, 0, 0, corrupt("pointer at %d points to another pointer", off)
	}
	return k, n, payload, after, nil
}

// str returns the bytes of the string at off, following a pointer, and the
// offset of the field after it. The bytes alias the section, so comparing
// them with a constant costs no allocation.
func (s section) str(off uint) (b []byte, next uint, err error) {
	k, n, p, next, err := s.follow(off)
	if err != nil {
		return nil, 0, err
	}
	if k != kindString {
		return nil, 0, corrupt("%s at %d, want string", k, off)
	}
	if n > uint(len(s))-p {
		return nil, 0, corrupt("string at %d is truncated", off)
	}
	if next == 0 { // not reached through a pointer
		next = p + n
	}
	return s[p : p+n], next, nil
}

// mapAt returns the number of entries in the map at off, following a
// pointer, and the offset of its first key.
func (s section) mapAt(off uint) (n, first uint, err error) {
	k, n, p, _, err := s.follow(off)
	if err != nil {
		return 0, 0, err
	}
	if k != kindMap {
		return 0, 0, corrupt("%s at %d, want map", k, off)
	}
	return n, p, nil
}

// uint returns the unsigned integer at off, following a pointer. Any
// unsigned kind is accepted as long as the value fits, since writers differ
// in the width they pick for metadata.
func (s section) uint(off uint) (uint64, error) {
	k, n, p, _, err := s.follow(off)
	if err != nil {
		return 0, err
	}
	switch k {
	case kindUint16, kindUint32, kindUint64, kindUint128:
	default:
		return 0, corrupt("%s at %d, want unsigned integer", k, off)
	}
	size, err := payloadSize(k, n)
	if err != nil {
		return 0, err
	}
	if size > uint(len(s))-p {
		return 0, corrupt("%s at %d is truncated", k, off)
	}
	var v uint64
	for _, b := range s[p : p+size] {
		if v>>56 != 0 {
			return 0, corrupt("%s at %d overflows 64 bits", k, off)
		}
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// country returns the ISO code of the record at off: country.iso_code if
// it has one, else registered_country.iso_code, else "". It compares keys
// in place and skips every other value, so a lookup builds nothing. Only
// the first of duplicate keys counts: otherwise a hostile record could
// repeat "country" with pointers to one large map and make each lookup
// take time quadratic in the size of the file.
func (s section) country(off uint) (string, error) {
	n, p, err := s.mapAt(off)
	if err != nil {
		return "", fmt.Errorf("record: %w", err)
	}
	const none = ^uint(0)
	registered := none
	seenCountry := false
	for range n {
		key, v, err := s.str(p)
		if err != nil {
			return "", fmt.Errorf("record key: %w", err)
		}
		switch string(key) {
		case "country":
			if seenCountry {
				break
			}
			seenCountry = true
			code, err := s.isoCode(v)
			if err != nil {
				return "", fmt.Errorf("country: %w", err)
			}
			if code != "" {
				return code, nil
			}
		case "registered_country":
			if registered == none {
				registered = v
			}
		}
		if p, err = s.skip(v); err != nil {
			return "", fmt.Errorf("record value: %w", err)
		}
	}
	if registered == none {
		return "", nil
	}
	code, err := s.isoCode(registered)
	if err != nil {
		return "", fmt.Errorf("registered_country: %w", err)
	}
	return code, nil
}

// isoCode returns the iso_code entry of the map at off, or "" if it has
// none.
func (s section) isoCode(off uint) (string, error) {
	n, p, err := s.mapAt(off)
	if err != nil {
		return "", err
	}
	for range n {
		key, v, err := s.str(p)
		if err != nil {
			return "", fmt.Errorf("key: %w", err)
		}
		if string(key) == "iso_code" {
			b, _, err := s.str(v)
			if err != nil {
				return "", fmt.Errorf("iso_code: %w", err)
			}
			return alpha2(b)
		}
		if p, err = s.skip(v); err != nil {
			return "", fmt.Errorf("value: %w", err)
		}
	}
	return "", nil
}

// alpha2Codes holds every pair of capital letters, AA to ZZ, so alpha2 can
// return a code by slicing a string that already exists rather than
// allocating one per lookup.
var alpha2Codes = func() string {
	b := make([]byte, 0, 26*26*2)
	for i := byte('A'); i <= 'Z'; i++ {
		for j := byte('A'); j <= 'Z'; j++ {
			b = append(b, i, j)
		}
	}
	return string(b)
}()

// alpha2 returns b in capitals if it has the shape of an ISO 3166-1 alpha-2
// code. Codes outside the official list (XK, EU) pass, because databases
// use them and routing decides what to do with them; anything else is an
// error, so that a hostile file cannot feed arbitrary text to callers.
func alpha2(b []byte) (string, error) {
	if len(b) == 2 {
		i, j := b[0]|0x20, b[1]|0x20 // lower case, if letters
		if 'a' <= i && i <= 'z' && 'a' <= j && j <= 'z' {
			k := (int(i-'a')*26 + int(j-'a')) * 2
			return alpha2Codes[k : k+2], nil
		}
	}
	if len(b) > 16 {
		b = b[:16]
	}
	return "", corrupt("iso_code %q is not an ISO 3166-1 alpha-2 code", b)
}
