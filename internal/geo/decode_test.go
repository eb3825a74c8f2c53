package geo

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestHeader(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		kind kind
		n    uint
		next uint
	}{
		// Examples from the specification.
		{"short string", []byte{0x43}, kindString, 3, 1},
		{"size 29", []byte{0x5d, 0x00}, kindString, 29, 2},
		{"size 284", []byte{0x5d, 0xff}, kindString, 284, 2},
		{"size 285", []byte{0x5e, 0x00, 0x00}, kindString, 285, 3},
		{"size 65820", []byte{0x5e, 0xff, 0xff}, kindString, 65820, 3},
		{"size 65821", []byte{0x5f, 0x00, 0x00, 0x00}, kindString, 65821, 4},
		{"largest size", []byte{0x5f, 0xff, 0xff, 0xff}, kindString, 16843036, 4},
		{"map", []byte{0xe2}, kindMap, 2, 1},
		{"int32", []byte{0x04, 0x01}, kindInt32, 4, 2},
		{"uint64", []byte{0x08, 0x02}, kindUint64, 8, 2},
		{"uint128", []byte{0x10, 0x03}, kindUint128, 16, 2},
		{"array", []byte{0x03, 0x04}, kindArray, 3, 2},
		{"data cache container", []byte{0x00, 0x05}, kindContainer, 0, 2},
		{"end marker", []byte{0x00, 0x06}, kindEnd, 0, 2},
		{"boolean", []byte{0x01, 0x07}, kindBool, 1, 2},
		{"float", []byte{0x04, 0x08}, kindFloat, 4, 2},
		{"extended size 29", []byte{0x1d, 0x04, 0x05}, kindArray, 34, 3},
		{"pointer 11 bits", []byte{0x27, 0xff}, kindPointer, 2047, 2},
		{"pointer 19 bits", []byte{0x28, 0x00, 0x00}, kindPointer, 2048, 3},
		{"pointer 19 bits max", []byte{0x2f, 0xff, 0xff}, kindPointer, 526335, 3},
		{"pointer 27 bits", []byte{0x30, 0x00, 0x00, 0x00}, kindPointer, 526336, 4},
		{"pointer 27 bits max", []byte{0x37, 0xff, 0xff, 0xff}, kindPointer, 134744063, 4},
		{"pointer 32 bits", []byte{0x3f, 0x00, 0x00, 0x00, 0x05}, kindPointer, 5, 5},
		{"pointer 32 bits max", []byte{0x38, 0xff, 0xff, 0xff, 0xff}, kindPointer, math.MaxUint32, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, n, next, err := section(tt.in).header(0)
			if err != nil || k != tt.kind || n != tt.n || next != tt.next {
				t.Errorf("header(% x) = %s, %d, %d, %v; want %s, %d, %d", tt.in, k, n, next, err, tt.kind, tt.n, tt.next)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated size", []byte{0x5d}},
		{"truncated 2-byte size", []byte{0x5e, 0x01}},
		{"truncated 3-byte size", []byte{0x5f, 0x01, 0x02}},
		{"truncated extended", []byte{0x00}},
		{"extended map", []byte{0x00, 0x00}},
		{"extended type 16", []byte{0x00, 0x09}},
		{"extended type 255", []byte{0x00, 0xff}},
		{"truncated extended size", []byte{0x1f, 0x03, 0x00}},
		{"truncated pointer", []byte{0x20}},
		{"truncated 32-bit pointer", []byte{0x38, 0x00, 0x00, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if k, n, _, err := section(tt.in).header(0); !errors.Is(err, ErrInvalid) {
				t.Errorf("header(% x) = %s, %d, %v; want ErrInvalid", tt.in, k, n, err)
			}
		})
	}
}

func TestSkip(t *testing.T) {
	deep := enc{}
	for range 100000 {
		deep = deep.head(kindArray, 1)
	}
	deep = deep.str("bottom")
	tests := []struct {
		name string
		in   enc
		ok   bool
	}{
		{"string", enc{}.str("hello"), true},
		{"long string", enc{}.str(strings.Repeat("x", 70000)), true},
		{"double", append(enc{}.head(kindDouble, 8), make([]byte, 8)...), true},
		{"float", append(enc{}.head(kindFloat, 4), make([]byte, 4)...), true},
		{"bytes", append(enc{}.head(kindBytes, 3), 1, 2, 3), true},
		{"uint16", enc{}.uint(kindUint16, 65535), true},
		{"uint32", enc{}.uint(kindUint32, 1<<32-1), true},
		{"uint64", enc{}.uint(kindUint64, 1<<64-1), true},
		{"uint128", append(enc{}.head(kindUint128, 16), make([]byte, 16)...), true},
		{"int32", enc{}.uint(kindInt32, 1<<31), true},
		{"zero-size uint", enc{}.head(kindUint32, 0), true},
		{"map", enc{}.head(kindMap, 2).str("a").uint(kindUint16, 1).str("b").head(kindArray, 2).str("x").str("y"), true},
		{"empty map", enc{}.head(kindMap, 0), true},
		{"array", enc{}.head(kindArray, 2).head(kindBool, 1).head(kindBool, 0), true},
		{"data cache container", append(enc{}.head(kindContainer, 4), "abcd"...), true},
		{"end marker", enc{}.head(kindEnd, 0), true},
		{"pointer not followed", enc{}.ptr(3, 1<<30), true},
		{"map of pointers", enc{}.head(kindMap, 1).ptr(0, 500).ptr(1, 5000), true},
		{"deep nesting", deep, true},
		{"double of 4 bytes", append(enc{}.head(kindDouble, 4), make([]byte, 4)...), false},
		{"float of 8 bytes", append(enc{}.head(kindFloat, 8), make([]byte, 8)...), false},
		{"uint16 of 3 bytes", append(enc{}.head(kindUint16, 3), 1, 2, 3), false},
		{"uint32 of 5 bytes", append(enc{}.head(kindUint32, 5), 1, 2, 3, 4, 5), false},
		{"int32 of 5 bytes", append(enc{}.head(kindInt32, 5), 1, 2, 3, 4, 5), false},
		{"uint64 of 9 bytes", append(enc{}.head(kindUint64, 9), make([]byte, 9)...), false},
		{"uint128 of 17 bytes", append(enc{}.head(kindUint128, 17), make([]byte, 17)...), false},
		{"boolean of 2", enc{}.head(kindBool, 2), false},
		{"end marker of size 1", append(enc{}.head(kindEnd, 1), 0), false},
		{"truncated string", enc{}.head(kindString, 10).str("ab"), false},
		{"truncated map", enc{}.head(kindMap, 2).str("a").str("b"), false},
		{"huge map", enc{}.head(kindMap, 16843036), false},
		{"huge array", enc{}.head(kindArray, 1000).str("a"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A trailing byte shows that skip stops where the field ends.
			in := append(tt.in[:len(tt.in):len(tt.in)], 0xaa)
			next, err := section(in).skip(0)
			switch {
			case tt.ok && (err != nil || next != uint(len(tt.in))):
				t.Errorf("skip = %d, %v; want %d", next, err, len(tt.in))
			case !tt.ok && !errors.Is(err, ErrInvalid):
				t.Errorf("skip = %d, %v; want ErrInvalid", next, err)
			}
		})
	}
}

func TestAlpha2(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BE", "BE"}, {"be", "BE"}, {"bE", "BE"}, {"AA", "AA"}, {"zz", "ZZ"}, {"XK", "XK"},
		{"", ""}, {"B", ""}, {"BEL", ""}, {"B1", ""}, {"@A", ""}, {"[A", ""}, {"`a", ""}, {"{a", ""},
		{"\xc3\xa9", ""}, {strings.Repeat("x", 1000), ""},
	}
	for _, tt := range tests {
		got, err := alpha2([]byte(tt.in))
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("alpha2(%.20q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	be := []byte("be")
	if n := testing.AllocsPerRun(100, func() { alpha2(be) }); n != 0 {
		t.Errorf("alpha2 allocates %v times", n)
	}
}

// TestRawRecords looks up records built by hand, for the encodings that
// mmdbwriter does not produce.
func TestRawRecords(t *testing.T) {
	// pointed places a country map after a padding field, so that the
	// pointer to it needs the form with ss+1 extra bytes.
	pointed := func(ss, pad int) enc {
		rec := enc{}.head(kindMap, 1).str("country")
		padding := append(enc{}.head(kindBytes, pad), make([]byte, pad)...)
		target := len(rec) + ss + 2 + len(padding) // a pointer takes ss+2 bytes
		rec = append(rec.ptr(ss, uint(target)), padding...)
		return rec.head(kindMap, 1).str("iso_code").str("PT")
	}
	everything := enc{}.head(kindMap, 15).
		str("a").uint(kindUint16, 1).
		str("b").uint(kindUint32, 1<<20).
		str("c").uint(kindUint64, 1<<60).
		str("d").uint(kindUint128, 1<<63).
		str("e").uint(kindInt32, 5).
		str("f").head(kindBool, 1).
		str("g")
	everything = append(everything.head(kindDouble, 8), make([]byte, 8)...).str("h")
	everything = append(everything.head(kindFloat, 4), make([]byte, 4)...).str("i")
	everything = append(everything.head(kindBytes, 300), make([]byte, 300)...).str("j")
	everything = append(everything.head(kindContainer, 2), 0, 0).str("k").
		head(kindEnd, 0).str("l").
		head(kindArray, 2).head(kindMap, 1).str("x").str("y").head(kindArray, 0).str("m").
		ptr(3, 1<<31). // skipped, so never followed
		str("n").str(strings.Repeat("n", 70000)).
		str("country").head(kindMap, 2).
		str("names").head(kindMap, 1).str("en").str("Chile").
		str("iso_code").str("CL")

	tests := []struct {
		name string
		data enc
		want string
	}{
		{"plain", enc{}.country("BE"), "BE"},
		{"lower case", enc{}.country("be"), "BE"},
		{"empty record", enc{}.head(kindMap, 0), ""},
		{"country without iso_code", enc{}.head(kindMap, 1).str("country").head(kindMap, 0), ""},
		{"registered only", enc{}.head(kindMap, 1).str("registered_country").head(kindMap, 1).str("iso_code").str("DE"), "DE"},
		{"registered first", enc{}.head(kindMap, 2).
			str("registered_country").head(kindMap, 1).str("iso_code").str("DE").
			str("country").head(kindMap, 1).str("iso_code").str("AT"), "AT"},
		{"country empty, registered after", enc{}.head(kindMap, 2).
			str("country").head(kindMap, 1).str("geoname_id").uint(kindUint32, 1).
			str("registered_country").head(kindMap, 1).str("iso_code").str("DE"), "DE"},
		{"pointer 11 bits", pointed(0, 10), "PT"},
		{"pointer 19 bits", pointed(1, 3000), "PT"},
		{"pointer 27 bits", pointed(2, 530000), "PT"},
		{"pointer 32 bits", pointed(3, 10), "PT"},
		{"record behind pointer", enc{}.ptr(0, 2).country("IE"), "IE"},
		{"keys and value behind pointers", enc{}.head(kindMap, 1).ptr(0, 8).head(kindMap, 1).ptr(0, 16).ptr(0, 25).
			str("country").str("iso_code").str("LU"), "LU"},
		{"every type before country", everything, "CL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Load(raw{nodes: oneNode, data: tt.data}.bytes())
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Country(netip.MustParseAddr("1.2.3.4"))
			if err != nil || got != tt.want {
				t.Errorf("Country = %q, %v; want %q", got, err, tt.want)
			}
			// The right half of the one-node tree has no data.
			if got, err := db.Country(netip.MustParseAddr("200.1.2.3")); got != "" || err != nil {
				t.Errorf("Country(200.1.2.3) = %q, %v; want nothing", got, err)
			}
		})
	}
}

// TestCorruptRecords checks that lookups in broken files fail with an
// error rather than a panic, a hang, or a made-up answer.
func TestCorruptRecords(t *testing.T) {
	tests := []struct {
		name  string
		nodes [][2]uint32
		data  enc
	}{
		{"record past data", [][2]uint32{{dataRecord(1, 1000), 1}}, enc{}.country("BE")},
		{"record inside a field", [][2]uint32{{dataRecord(1, 13), 1}}, enc{}.country("BE")},
		{"record at end of data", [][2]uint32{{dataRecord(1, len(enc{}.country("BE"))), 1}}, enc{}.country("BE")},
		{"record in separator", [][2]uint32{{5, 1}}, enc{}.country("BE")},
		{"tree loops", [][2]uint32{{0, 0}}, enc{}.country("BE")},
		{"tree loops between nodes", [][2]uint32{{1, 1}, {0, 0}}, enc{}.country("BE")},
		{"pointer to itself", oneNode, enc{}.ptr(0, 0)},
		{"pointer to pointer", oneNode, enc{}.ptr(0, 2).ptr(0, 4).country("BE")},
		{"pointer past end", oneNode, enc{}.ptr(3, 1<<30)},
		{"key pointer past end", oneNode, enc{}.head(kindMap, 1).ptr(1, 9000).str("x")},
		{"key pointer to pointer", oneNode, enc{}.head(kindMap, 1).ptr(0, 3).ptr(0, 3)},
		{"record is a string", oneNode, enc{}.str("BE")},
		{"record is an array", oneNode, enc{}.head(kindArray, 1).country("BE")},
		{"country is a string", oneNode, enc{}.head(kindMap, 1).str("country").str("BE")},
		{"registered is a string", oneNode, enc{}.head(kindMap, 1).str("registered_country").str("BE")},
		{"iso_code is a number", oneNode, enc{}.head(kindMap, 1).str("country").head(kindMap, 1).str("iso_code").uint(kindUint16, 66)},
		{"iso_code of three letters", oneNode, enc{}.country("BEL")},
		{"iso_code empty", oneNode, enc{}.country("")},
		{"iso_code not letters", oneNode, enc{}.country("B1")},
		{"key is a number", oneNode, enc{}.head(kindMap, 1).uint(kindUint16, 1).country("BE")},
		{"truncated record", oneNode, enc{}.head(kindMap, 3).str("a").str("b")},
		{"huge record", oneNode, enc{}.head(kindMap, 16843036).str("a").str("b")},
		{"bad field before country", oneNode, append(enc{}.head(kindMap, 2).str("a").head(kindDouble, 3), 1, 2, 3).str("country").head(kindMap, 0)},
		{"unknown type before country", oneNode, append(enc{}.head(kindMap, 2).str("a"), 0x00, 0x09).str("country").head(kindMap, 0)},
		{"truncated string", oneNode, enc{}.head(kindMap, 1).str("country").head(kindMap, 1).str("iso_code").head(kindString, 5).str("B")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Load(raw{nodes: tt.nodes, data: tt.data}.bytes())
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Country(netip.MustParseAddr("1.2.3.4"))
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "geo: look up 1.2.3.4: ") {
				t.Errorf("Country = %q, %v; want a geo: look up error matching ErrInvalid", got, err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	good := raw{nodes: oneNode, data: enc{}.country("BE")}
	withMeta := func(edit func([]field) []field) []byte {
		r := good
		r.metaEdit = edit
		return r.bytes()
	}
	valid := good.bytes()
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no marker", []byte("not a database")},
		{"marker only", metadataMarker},
		{"metadata not a map", append(bytes.Clone(metadataMarker), enc{}.str("x")...)},
		{"metadata truncated", valid[:len(valid)-3]},
		{"marker too far from the end", append(bytes.Clone(valid), make([]byte, 128*1024)...)},
		{"truncated file", valid[:3]},
		{"format version 1", withMeta(setField("binary_format_major_version", enc{}.uint(kindUint16, 1)))},
		{"format version 3", withMeta(setField("binary_format_major_version", enc{}.uint(kindUint16, 3)))},
		{"no format version", withMeta(dropField("binary_format_major_version"))},
		{"format version a string", withMeta(setField("binary_format_major_version", enc{}.str("2")))},
		{"record size 20", withMeta(setField("record_size", enc{}.uint(kindUint16, 20)))},
		{"record size 0", withMeta(setField("record_size", enc{}.uint(kindUint16, 0)))},
		{"no record size", withMeta(dropField("record_size"))},
		{"IP version 5", withMeta(setField("ip_version", enc{}.uint(kindUint16, 5)))},
		{"no IP version", withMeta(dropField("ip_version"))},
		{"no nodes", withMeta(setField("node_count", enc{}.uint(kindUint32, 0)))},
		{"no node count", withMeta(dropField("node_count"))},
		{"node count over 32 bits", withMeta(setField("node_count", enc{}.uint(kindUint64, 1<<32)))},
		{"tree bigger than file", withMeta(setField("node_count", enc{}.uint(kindUint32, 100)))},
		{"no room for separator", withMeta(setField("node_count", enc{}.uint(kindUint32, 5)))},
		{"node count a negative int32", withMeta(setField("node_count", enc{}.uint(kindInt32, 1<<31)))},
		{"build epoch over int64", withMeta(setField("build_epoch", enc{}.uint(kindUint64, 1<<64-1)))},
		{"uint128 over 64 bits", withMeta(setField("build_epoch", append(enc{}.head(kindUint128, 9), 1, 0, 0, 0, 0, 0, 0, 0, 0)))},
		{"database type a number", withMeta(setField("database_type", enc{}.uint(kindUint16, 1)))},
		{"bad field in metadata", withMeta(setField("languages", enc{}.head(kindArray, 5)))},
		{"metadata pointer to itself", withMeta(func(fs []field) []field {
			// With record_size first, its value starts at 13: after the
			// map's header and the 12 bytes of the key.
			fs = dropField("record_size")(fs)
			return append([]field{{"record_size", enc{}.ptr(0, 13)}}, fs...)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Load(tt.in)
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "geo: load database: ") {
				t.Errorf("Load = %v, %v; want a geo: load database error matching ErrInvalid", db, err)
			}
		})
	}
}

func TestLoadMetadataVariants(t *testing.T) {
	good := raw{nodes: oneNode, data: enc{}.country("BE")}
	tests := []struct {
		name string
		in   []byte
	}{
		{"uint128 node count", func() []byte {
			r := good
			r.metaEdit = setField("node_count", append(enc{}.head(kindUint128, 16), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))
			return r.bytes()
		}()},
		{"metadata through pointers", func() []byte {
			// Metadata pointers count from the end of the marker. The
			// pointed-to values go after the map, whose length does not
			// depend on where they are, so build it twice.
			pool := enc{}.uint(kindUint16, 2).uint(kindUint16, 4).str("node_count")
			body := func(at uint) enc {
				return enc{}.head(kindMap, 5).
					str("binary_format_major_version").ptr(0, at).
					str("ip_version").ptr(0, at+2).
					ptr(0, at+4).uint(kindUint32, 1).
					str("record_size").uint(kindUint16, 24).
					str("database_type").str("x")
			}
			r := good
			r.meta = append(append(enc(metadataMarker), body(uint(len(body(0))))...), pool...)
			return r.bytes()
		}()},
		{"marker in the data", func() []byte {
			r := good
			r.data = append(enc{}.country("BE").head(kindBytes, len(metadataMarker)), metadataMarker...)
			return r.bytes()
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Load(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := db.Country(netip.MustParseAddr("1.2.3.4")); got != "BE" || err != nil {
				t.Errorf("Country = %q, %v; want BE", got, err)
			}
		})
	}
}

// TestRepeatedKeys checks that a record repeating "country", each time
// pointing to the same large map, costs a lookup time linear in the size
// of the file rather than quadratic.
func TestRepeatedKeys(t *testing.T) {
	const n = 100000
	data := enc{}.str("country").str("x") // at 0 and 8
	big := len(data)
	data = data.head(kindMap, n)
	for range n {
		data = data.ptr(0, 8).ptr(0, 8)
	}
	rec := len(data)
	data = data.head(kindMap, n)
	for range n {
		data = data.ptr(0, 0).ptr(0, uint(big))
	}
	db, err := Load(raw{recordSize: 32, nodes: [][2]uint32{{dataRecord(1, rec), 1}}, data: data}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := db.Country(netip.MustParseAddr("1.2.3.4"))
	if got != "" || err != nil {
		t.Errorf("Country = %q, %v; want nothing", got, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("lookup took %v", d)
	}
}
