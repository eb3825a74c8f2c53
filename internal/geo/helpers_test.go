package geo

import (
	"bytes"
	"math/big"
	"net"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// enc appends fields in the MaxMind DB encoding. It is written by hand so
// that tests can build the malformed files that mmdbwriter refuses to
// produce, and pointers of every size.
type enc []byte

func (e enc) head(k kind, n int) enc {
	t := k
	if k > kindMap {
		t = kindExtended
	}
	c := byte(t) << 5
	var size []byte
	switch {
	case n < 29:
		c |= byte(n)
	case n < 285:
		c |= 29
		size = []byte{byte(n - 29)}
	case n < 65821:
		c |= 30
		m := n - 285
		size = []byte{byte(m >> 8), byte(m)}
	default:
		c |= 31
		m := n - 65821
		size = []byte{byte(m >> 16), byte(m >> 8), byte(m)}
	}
	e = append(e, c)
	if t == kindExtended {
		e = append(e, byte(k-7))
	}
	return append(e, size...)
}

func (e enc) str(s string) enc { return append(e.head(kindString, len(s)), s...) }

// uint writes v as kind k in as few bytes as it needs.
func (e enc) uint(k kind, v uint64) enc {
	var b []byte
	for ; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append(e.head(k, len(b)), b...)
}

// ptr writes a pointer to v in the form with ss+1 extra bytes.
func (e enc) ptr(ss int, v uint) enc {
	switch ss {
	case 0:
		return append(e, 0x20|byte(v>>8)&7, byte(v))
	case 1:
		v -= 2048
		return append(e, 0x28|byte(v>>16)&7, byte(v>>8), byte(v))
	case 2:
		v -= 526336
		return append(e, 0x30|byte(v>>24)&7, byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(e, 0x38, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// country writes {"country": {"iso_code": code}}.
func (e enc) country(code string) enc {
	return e.head(kindMap, 1).str("country").head(kindMap, 1).str("iso_code").str(code)
}

// field is a metadata entry: a key and its encoded value.
type field struct {
	key string
	val enc
}

func metadata(fields ...field) enc {
	e := enc(metadataMarker).head(kindMap, len(fields))
	for _, f := range fields {
		e = append(e.str(f.key), f.val...)
	}
	return e
}

// raw describes a database to assemble by hand.
type raw struct {
	recordSize int         // 24 if zero
	ipVersion  int         // 4 if zero
	nodes      [][2]uint32 // left and right records
	data       enc         // the data section
	meta       enc         // replaces the metadata built from the above
	metaEdit   func([]field) []field
}

// dataRecord is the record value that points at offset off of the data
// section of a tree with n nodes.
func dataRecord(n, off int) uint32 { return uint32(n + 16 + off) }

func (r raw) bytes() []byte {
	rs := r.recordSize
	if rs == 0 {
		rs = 24
	}
	ipv := r.ipVersion
	if ipv == 0 {
		ipv = 4
	}
	var b []byte
	for _, n := range r.nodes {
		l, rr := n[0], n[1]
		switch rs {
		case 24:
			b = append(b, byte(l>>16), byte(l>>8), byte(l), byte(rr>>16), byte(rr>>8), byte(rr))
		case 28:
			b = append(b, byte(l>>16), byte(l>>8), byte(l), byte(l>>24)<<4|byte(rr>>24)&0xf,
				byte(rr>>16), byte(rr>>8), byte(rr))
		default:
			b = append(b, byte(l>>24), byte(l>>16), byte(l>>8), byte(l),
				byte(rr>>24), byte(rr>>16), byte(rr>>8), byte(rr))
		}
	}
	b = append(b, make([]byte, 16)...)
	b = append(b, r.data...)
	meta := r.meta
	if meta == nil {
		fields := []field{
			{"binary_format_major_version", enc{}.uint(kindUint16, 2)},
			{"binary_format_minor_version", enc{}.uint(kindUint16, 0)},
			{"build_epoch", enc{}.uint(kindUint64, 1767225600)},
			{"database_type", enc{}.str("Raw-Test")},
			{"ip_version", enc{}.uint(kindUint16, uint64(ipv))},
			{"node_count", enc{}.uint(kindUint32, uint64(len(r.nodes)))},
			{"record_size", enc{}.uint(kindUint16, uint64(rs))},
		}
		if r.metaEdit != nil {
			fields = r.metaEdit(fields)
		}
		meta = metadata(fields...)
	}
	return append(b, meta...)
}

// oneNode is a tree of one node for an IPv4 database: 0.0.0.0/1 goes to
// the record at data offset 0, 128.0.0.0/1 finds nothing.
var oneNode = [][2]uint32{{dataRecord(1, 0), 1}}

// setField replaces or adds a metadata field.
func setField(key string, val enc) func([]field) []field {
	return func(fs []field) []field {
		for i := range fs {
			if fs[i].key == key {
				fs[i].val = val
				return fs
			}
		}
		return append(fs, field{key, val})
	}
}

func dropField(key string) func([]field) []field {
	return func(fs []field) []field {
		var out []field
		for _, f := range fs {
			if f.key != key {
				out = append(out, f)
			}
		}
		return out
	}
}

// network is a network to insert with mmdbwriter and the record to store.
type network struct {
	cidr string
	rec  mmdbtype.Map
}

// build writes a database with mmdbwriter.
func build(tb testing.TB, recordSize, ipVersion int, networks []network) []byte {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "Canopy-Test-Country",
		Description:             map[string]string{"en": "test", "fr": "essai"},
		Languages:               []string{"en", "fr"},
		RecordSize:              recordSize,
		IPVersion:               ipVersion,
		BuildEpoch:              1767225600,
		IncludeReservedNetworks: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range networks {
		_, ipn, err := net.ParseCIDR(n.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(ipn, n.rec); err != nil {
			tb.Fatalf("insert %s: %v", n.cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// place is a country as GeoLite2 stores it.
func place(code string) mmdbtype.Map {
	return mmdbtype.Map{
		"geoname_id": mmdbtype.Uint32(len(code) * 1000),
		"iso_code":   mmdbtype.String(code),
		"names": mmdbtype.Map{
			"en": mmdbtype.String("Country " + code),
			"fr": mmdbtype.String("Pays " + code),
		},
	}
}

// extras are fields of every type the writer can produce. Keys are
// written in sorted order, so the "a_" ones come before "country" and
// make the reader skip each type.
func extras() mmdbtype.Map {
	u128 := new(big.Int).Lsh(big.NewInt(1), 127)
	return mmdbtype.Map{
		"a_array":   mmdbtype.Slice{mmdbtype.String("x"), mmdbtype.Uint16(7), mmdbtype.Slice{mmdbtype.Bool(true)}},
		"a_bool":    mmdbtype.Bool(true),
		"a_false":   mmdbtype.Bool(false),
		"a_bytes":   mmdbtype.Bytes{0, 1, 2, 0xab, 0xcd, 0xef},
		"a_double":  mmdbtype.Float64(3.14159),
		"a_float":   mmdbtype.Float32(2.5),
		"a_int32":   mmdbtype.Int32(-123456),
		"a_long":    mmdbtype.String(string(bytes.Repeat([]byte("long "), 100))),
		"a_map":     mmdbtype.Map{"nested": mmdbtype.Map{"deeper": mmdbtype.Uint64(1 << 40)}},
		"a_uint16":  mmdbtype.Uint16(65535),
		"a_uint32":  mmdbtype.Uint32(1 << 31),
		"a_uint64":  mmdbtype.Uint64(1<<64 - 1),
		"a_uint128": (*mmdbtype.Uint128)(u128),
		"a_zero":    mmdbtype.Uint32(0),
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148)},
		"z_after":   mmdbtype.String("after"),
	}
}

// record is a GeoLite2-like record with the extras. Empty codes leave the
// field out.
func record(country, registered string) mmdbtype.Map {
	m := extras()
	if country != "" {
		m["country"] = place(country)
	}
	if registered != "" {
		m["registered_country"] = place(registered)
	}
	return m
}
