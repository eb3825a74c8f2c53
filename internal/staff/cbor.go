package staff

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// This file is a small CBOR (RFC 8949) decoder for the few structures
// WebAuthn hands a relying party: the attestation object, the COSE public
// key inside authenticator data, and authenticator extension outputs. It
// comes from a browser, so from anyone, and is strict and bounded:
//
//   - only what WebAuthn uses: unsigned and negative integers that fit in
//     an int64, byte and text strings, arrays, maps, false, true and null;
//     tags, floats, undefined and other simple values are refused;
//   - definite lengths only (CTAP2's canonical form has no indefinite
//     ones);
//   - text must be UTF-8; map keys must be integers or text, and unique;
//   - nesting is at most cborMaxDepth deep, the input at most cborMaxSize
//     bytes, and a declared length or count larger than the bytes left is
//     refused before anything is allocated, so the work and memory are
//     linear in the input.
//
// Shortest-form integers, which CTAP2's canonical form also asks for, are
// not enforced: some authenticators do not follow it, and nothing here
// depends on the encoding being unique (signatures are checked over the
// bytes as received).

const (
	cborMaxDepth = 16
	cborMaxSize  = 64 << 10
)

// cborMap is a decoded map, in the order of the input. Keys are int64 or
// string.
type cborMap []cborPair

type cborPair struct {
	key, val any
}

// get returns the value under key, which must be an int64 or a string to
// match anything: an untyped constant such as 1 would be an int, so the
// callers use typed constants.
func (m cborMap) get(key any) (any, bool) {
	for _, p := range m {
		if p.key == key {
			return p.val, true
		}
	}
	return nil, false
}

func (m cborMap) int(key any) (int64, bool) {
	v, _ := m.get(key)
	n, ok := v.(int64)
	return n, ok
}

func (m cborMap) bytes(key any) ([]byte, bool) {
	v, _ := m.get(key)
	b, ok := v.([]byte)
	return b, ok
}

func (m cborMap) text(key any) (string, bool) {
	v, _ := m.get(key)
	s, ok := v.(string)
	return s, ok
}

func (m cborMap) mapv(key any) (cborMap, bool) {
	v, _ := m.get(key)
	mv, ok := v.(cborMap)
	return mv, ok
}

var errCBORTruncated = errors.New("cbor: truncated")

// decodeCBOR decodes data, which must hold exactly one item.
func decodeCBOR(data []byte) (any, error) {
	v, n, err := decodeCBORPrefix(data)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, fmt.Errorf("cbor: %d bytes after the item", len(data)-n)
	}
	return v, nil
}

// decodeCBORPrefix decodes the item at the start of data and returns it
// with the number of bytes it took, for items followed by other data (the
// COSE key in authenticator data). Byte strings in the result share
// data's memory.
func decodeCBORPrefix(data []byte) (any, int, error) {
	if len(data) > cborMaxSize {
		return nil, 0, fmt.Errorf("cbor: %d bytes, more than %d", len(data), cborMaxSize)
	}
	d := cborDecoder{data: data}
	v, err := d.item(0)
	if err != nil {
		return nil, 0, err
	}
	return v, d.off, nil
}

type cborDecoder struct {
	data []byte
	off  int
}

func (d *cborDecoder) left() int { return len(d.data) - d.off }

func (d *cborDecoder) take(n uint64) ([]byte, error) {
	if n > uint64(d.left()) {
		return nil, errCBORTruncated
	}
	b := d.data[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return b, nil
}

// head reads an item's initial byte and argument.
func (d *cborDecoder) head() (major byte, info byte, arg uint64, err error) {
	if d.left() < 1 {
		return 0, 0, 0, errCBORTruncated
	}
	ib := d.data[d.off]
	d.off++
	major, info = ib>>5, ib&0x1f
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info <= 27:
		b, err := d.take(1 << (info - 24))
		if err != nil {
			return 0, 0, 0, err
		}
		for _, c := range b {
			arg = arg<<8 | uint64(c)
		}
		return major, info, arg, nil
	case info == 31:
		return 0, 0, 0, fmt.Errorf("cbor: indefinite length (major type %d)", major)
	}
	return 0, 0, 0, fmt.Errorf("cbor: reserved additional information %d", info)
}

func (d *cborDecoder) item(depth int) (any, error) {
	if depth > cborMaxDepth {
		return nil, fmt.Errorf("cbor: nested deeper than %d", cborMaxDepth)
	}
	major, info, arg, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		if arg > math.MaxInt64 {
			return nil, errors.New("cbor: integer out of range")
		}
		return int64(arg), nil
	case 1:
		if arg > math.MaxInt64 {
			return nil, errors.New("cbor: integer out of range")
		}
		return -1 - int64(arg), nil
	case 2:
		return d.take(arg)
	case 3:
		b, err := d.take(arg)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			return nil, errors.New("cbor: text is not UTF-8")
		}
		return string(b), nil
	case 4:
		// Every item takes at least a byte.
		if arg > uint64(d.left()) {
			return nil, errCBORTruncated
		}
		a := make([]any, 0, arg)
		for range arg {
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		return a, nil
	case 5:
		if arg > uint64(d.left())/2 {
			return nil, errCBORTruncated
		}
		m := make(cborMap, 0, arg)
		seen := make(map[any]bool, arg)
		for range arg {
			k, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case int64, string:
			default:
				return nil, errors.New("cbor: map key is not an integer or text")
			}
			if seen[k] {
				return nil, errors.New("cbor: duplicate map key")
			}
			seen[k] = true
			v, err := d.item(depth + 1)
			if err != nil {
				return nil, err
			}
			m = append(m, cborPair{k, v})
		}
		return m, nil
	case 6:
		return nil, errors.New("cbor: tags are not accepted")
	}
	// Major type 7: simple values and floats.
	switch {
	case info == 20:
		return false, nil
	case info == 21:
		return true, nil
	case info == 22:
		return nil, nil
	case info >= 25 && info <= 27:
		return nil, errors.New("cbor: floats are not accepted")
	}
	return nil, fmt.Errorf("cbor: simple value %d is not accepted", arg)
}
