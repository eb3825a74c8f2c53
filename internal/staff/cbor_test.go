package staff

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"reflect"
	"strings"
	"testing"
)

// cborEncode is the tests' encoder: shortest-form heads, maps in the order
// given. It handles what decodeCBOR returns, plus int for convenience.
func cborEncode(v any) []byte {
	var b []byte
	var enc func(v any)
	enc = func(v any) {
		switch v := v.(type) {
		case int:
			enc(int64(v))
		case int64:
			if v >= 0 {
				b = cborHead(b, 0, uint64(v))
			} else {
				b = cborHead(b, 1, uint64(-1-v))
			}
		case []byte:
			b = cborHead(b, 2, uint64(len(v)))
			b = append(b, v...)
		case string:
			b = cborHead(b, 3, uint64(len(v)))
			b = append(b, v...)
		case []any:
			b = cborHead(b, 4, uint64(len(v)))
			for _, x := range v {
				enc(x)
			}
		case cborMap:
			b = cborHead(b, 5, uint64(len(v)))
			for _, p := range v {
				enc(p.key)
				enc(p.val)
			}
		case bool:
			if v {
				b = append(b, 0xf5)
			} else {
				b = append(b, 0xf4)
			}
		case nil:
			b = append(b, 0xf6)
		default:
			panic("cborEncode: unsupported type")
		}
	}
	enc(v)
	return b
}

func cborHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestCBORDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want any
	}{
		// Examples from RFC 8949 appendix A.
		{"00", int64(0)},
		{"17", int64(23)},
		{"18 18", int64(24)},
		{"19 03e8", int64(1000)},
		{"1b 000000e8d4a51000", int64(1000000000000)},
		{"1b 7fffffffffffffff", int64(math.MaxInt64)},
		{"20", int64(-1)},
		{"38 63", int64(-100)},
		{"3b 7fffffffffffffff", int64(math.MinInt64)},
		{"40", []byte{}},
		{"44 01020304", []byte{1, 2, 3, 4}},
		{"60", ""},
		{"62 c3bc", "ü"},
		{"80", []any{}},
		{"83 01 820203 820405", []any{int64(1), []any{int64(2), int64(3)}, []any{int64(4), int64(5)}}},
		{"a2 01 02 03 04", cborMap{{int64(1), int64(2)}, {int64(3), int64(4)}}},
		{"a2 61 61 01 61 62 82 02 03", cborMap{{"a", int64(1)}, {"b", []any{int64(2), int64(3)}}}},
		{"f4", false},
		{"f5", true},
		{"f6", nil},
		// Not shortest form, but well formed: accepted.
		{"19 0001", int64(1)},
	} {
		got, err := decodeCBOR(unhex(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("decode %s = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
}

func TestCBORRejects(t *testing.T) {
	deep := bytes.Repeat([]byte{0x81}, cborMaxDepth+1)
	deep = append(deep, 0)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated head", unhex("19 03")},
		{"truncated bytes", unhex("44 0102")},
		{"truncated array", unhex("83 01 02")},
		{"truncated map", unhex("a1 01")},
		{"trailing bytes", unhex("01 02")},
		{"huge byte string", unhex("5b ffffffffffffffff 00")},
		{"huge text", unhex("7a ffffffff 61")},
		{"huge array", unhex("9b 00000000ffffffff 00")},
		{"huge map", unhex("bb 7fffffffffffffff 00 00")},
		{"map count beyond input", unhex("a3 01 02 03 04")},
		{"deep nesting", deep},
		{"indefinite bytes", unhex("5f 41 00 ff")},
		{"indefinite text", unhex("7f 61 61 ff")},
		{"indefinite array", unhex("9f 01 ff")},
		{"indefinite map", unhex("bf 01 02 ff")},
		{"break", unhex("ff")},
		{"reserved info", unhex("1c")},
		{"tag", unhex("c1 1a 514b67b0")},
		{"half float", unhex("f9 3c00")},
		{"double", unhex("fb 3ff199999999999a")},
		{"undefined", unhex("f7")},
		{"simple value", unhex("f8 20")},
		{"uint beyond int64", unhex("1b 8000000000000000")},
		{"negative beyond int64", unhex("3b 8000000000000000")},
		{"invalid UTF-8", unhex("62 c328")},
		{"duplicate key", unhex("a2 01 02 01 03")},
		{"duplicate text key", unhex("a2 61 61 01 61 61 02")},
		{"byte string key", unhex("a1 41 00 01")},
		{"array key", unhex("a1 80 01")},
		{"too large", append(cborHead(nil, 2, cborMaxSize), make([]byte, cborMaxSize)...)},
	} {
		if v, err := decodeCBOR(tc.in); err == nil {
			t.Errorf("%s: decoded %x as %#v", tc.name, tc.in, v)
		}
	}
	// Nesting up to the limit is fine.
	ok := bytes.Repeat([]byte{0x81}, cborMaxDepth)
	if _, err := decodeCBOR(append(ok, 0)); err != nil {
		t.Errorf("nesting %d deep: %v", cborMaxDepth, err)
	}
}

func TestCBORPrefix(t *testing.T) {
	v, n, err := decodeCBORPrefix(unhex("a1 01 02 ff ff"))
	if err != nil || n != 3 || !reflect.DeepEqual(v, cborMap{{int64(1), int64(2)}}) {
		t.Fatalf("prefix = %#v, %d, %v", v, n, err)
	}
}

// FuzzCBOR checks that the decoder never panics, that what it accepts
// re-encodes to something it decodes to the same value, and that the
// parsers built on it (authenticator data, COSE keys) hold up too.
func FuzzCBOR(f *testing.F) {
	f.Add(unhex("a2 01 02 03 04"))
	f.Add(unhex("83 01 820203 820405"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseAuthData(data)
		parseCOSEKey(data)
		v, n, err := decodeCBORPrefix(data)
		if err != nil {
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("used %d of %d bytes", n, len(data))
		}
		again, err := decodeCBOR(cborEncode(v))
		if err != nil {
			t.Fatalf("re-encoded %#v does not decode: %v", v, err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("round trip: %#v became %#v", v, again)
		}
	})
}
