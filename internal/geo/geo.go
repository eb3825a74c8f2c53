package geo

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"time"
)

// DB is a country database held in memory. It does not change after Load,
// so any number of goroutines may look addresses up at once.
type DB struct {
	tree       []byte  // the search tree, nodeCount nodes
	data       section // the data section, after the 16-byte separator
	meta       Metadata
	nodeCount  uint
	recordSize uint // bits per record: 24, 28 or 32

	// ipv4Start is the node reached from the root by 96 zero bits, where
	// an IPv6 tree keeps IPv4 addresses. Every IPv4 lookup would walk the
	// same 96 steps, so Load walks them once. In an IPv4 tree it is the
	// root.
	ipv4Start uint
}

// Metadata describes an installed database, so that an operator can see
// which database, and which build of it, a node is routing with.
type Metadata struct {
	DatabaseType string    // such as "GeoLite2-Country"
	BuildTime    time.Time // when the vendor built the file, in UTC
	IPVersion    int       // 4 for an IPv4-only database, 6 for both
	NodeCount    uint32    // nodes in the search tree
	RecordSize   int       // bits per search tree record: 24, 28 or 32
}

// metadataMarker starts the metadata section. Data may contain the same
// bytes, so the specification has readers take the last occurrence.
var metadataMarker = []byte("\xab\xcd\xefMaxMind.com")

// maxMetadata is the most the specification allows for the metadata
// section, marker included; searching no further saves scanning a large
// file that has no marker.
const maxMetadata = 128 * 1024

// Open reads the database at path into memory. A missing file yields an
// error that matches fs.ErrNotExist, so the caller can run without
// geolocation rather than fail.
func Open(path string) (*DB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geo: open database: %w", err)
	}
	db, err := load(b)
	if err != nil {
		return nil, fmt.Errorf("geo: load %s: %w", path, err)
	}
	return db, nil
}

// Load checks the metadata and the layout of the database in b and
// returns it ready for lookups. The DB keeps b, which the caller must not
// change afterwards.
func Load(b []byte) (*DB, error) {
	db, err := load(b)
	if err != nil {
		return nil, fmt.Errorf("geo: load database: %w", err)
	}
	return db, nil
}

func load(b []byte) (*DB, error) {
	tail := max(0, len(b)-maxMetadata)
	i := bytes.LastIndex(b[tail:], metadataMarker)
	if i < 0 {
		return nil, corrupt("no metadata marker")
	}
	dataEnd := tail + i
	meta, err := parseMetadata(section(b[dataEnd+len(metadataMarker):]))
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}

	// A node is two records; with node_count below 2^32 and at most 32
	// bits a record, the product cannot overflow.
	treeSize := uint64(meta.NodeCount) * uint64(meta.RecordSize) / 4
	if treeSize+16 > uint64(dataEnd) {
		return nil, corrupt("search tree of %d nodes needs %d bytes, file has %d before metadata",
			meta.NodeCount, treeSize+16, dataEnd)
	}
	db := &DB{
		tree:       b[:treeSize],
		data:       section(b[treeSize+16 : dataEnd]),
		meta:       meta,
		nodeCount:  uint(meta.NodeCount),
		recordSize: uint(meta.RecordSize),
	}
	if meta.IPVersion == 6 {
		var zero [16]byte
		db.ipv4Start, _ = db.walk(&zero, 0, 0, 96)
	}
	return db, nil
}

// parseMetadata reads the fields of the metadata map that lookups depend
// on and checks them; the rest, such as descriptions, is skipped.
func parseMetadata(s section) (Metadata, error) {
	var m Metadata
	n, p, err := s.mapAt(0)
	if err != nil {
		return m, err
	}
	const (
		haveMajor = 1 << iota
		haveNodes
		haveRecord
		haveIP
	)
	var have int
	for range n {
		key, v, err := s.str(p)
		if err != nil {
			return m, fmt.Errorf("key: %w", err)
		}
		var x uint64
		switch k := string(key); k {
		case "binary_format_major_version":
			if x, err = s.uint(v); err == nil && x != 2 {
				err = corrupt("format version %d, want 2", x)
			}
			have |= haveMajor
		case "node_count":
			if x, err = s.uint(v); err == nil && x > math.MaxUint32 {
				err = corrupt("%d nodes", x)
			}
			m.NodeCount = uint32(x)
			have |= haveNodes
		case "record_size":
			if x, err = s.uint(v); err == nil && x != 24 && x != 28 && x != 32 {
				err = corrupt("record size %d, want 24, 28 or 32", x)
			}
			m.RecordSize = int(x)
			have |= haveRecord
		case "ip_version":
			if x, err = s.uint(v); err == nil && x != 4 && x != 6 {
				err = corrupt("IP version %d, want 4 or 6", x)
			}
			m.IPVersion = int(x)
			have |= haveIP
		case "build_epoch":
			if x, err = s.uint(v); err == nil && x > math.MaxInt64 {
				err = corrupt("build epoch %d", x)
			}
			m.BuildTime = time.Unix(int64(x), 0).UTC()
		case "database_type":
			var b []byte
			b, _, err = s.str(v)
			m.DatabaseType = string(b)
		}
		if err != nil {
			return m, fmt.Errorf("%s: %w", key, err)
		}
		if p, err = s.skip(v); err != nil {
			return m, fmt.Errorf("%s: %w", key, err)
		}
	}
	switch {
	case have&haveMajor == 0:
		return m, corrupt("no binary_format_major_version")
	case have&haveNodes == 0:
		return m, corrupt("no node_count")
	case have&haveRecord == 0:
		return m, corrupt("no record_size")
	case have&haveIP == 0:
		return m, corrupt("no ip_version")
	case m.NodeCount == 0:
		return m, corrupt("empty search tree")
	}
	return m, nil
}

// Metadata describes the database.
func (db *DB) Metadata() Metadata { return db.meta }

// Country returns the ISO 3166-1 alpha-2 code, in capitals, of the country
// the database places ip in: the country where the address is used if the
// record says, else the country where its network is registered. It
// returns "" and no error when the database knows nothing of ip, which is
// an ordinary outcome (private ranges, new allocations, IPv6 addresses in
// an IPv4 database) that routing falls back from. An IPv4-mapped IPv6
// address is looked up as IPv4.
func (db *DB) Country(ip netip.Addr) (string, error) {
	if !ip.IsValid() {
		return "", errors.New("geo: look up invalid IP address")
	}
	ip = ip.Unmap()
	a := ip.As16()
	node, bit := uint(0), uint(0)
	switch {
	case ip.Is4():
		node, bit = db.ipv4Start, 96
	case db.meta.IPVersion == 4:
		return "", nil
	}
	node, bit = db.walk(&a, node, bit, 128)
	switch {
	case node < db.nodeCount:
		return "", fmt.Errorf("geo: look up %s: search tree has no leaf after %d bits: %w", ip, bit, ErrInvalid)
	case node == db.nodeCount:
		return "", nil
	}
	// A record above node_count points into the data section, counting
	// from the start of the 16-byte separator that precedes it.
	off := node - db.nodeCount - 16
	if node-db.nodeCount < 16 || off >= uint(len(db.data)) {
		return "", fmt.Errorf("geo: look up %s: record %d points outside the data section: %w", ip, node, ErrInvalid)
	}
	code, err := db.data.country(off)
	if err != nil {
		return "", fmt.Errorf("geo: look up %s: %w", ip, err)
	}
	return code, nil
}

// walk follows the bits of a from bit to stop, starting at node, until it
// leaves the tree, and returns the record it ends on and the next bit. A
// record below node_count is a node, node_count itself means no data, and
// anything above points into the data section. Load has checked that
// every node below node_count lies inside the tree, and the walk takes at
// most one step a bit, so even a tree that loops ends.
func (db *DB) walk(a *[16]byte, node, bit, stop uint) (uint, uint) {
	t, n := db.tree, db.nodeCount
	// One loop per record size keeps the switch out of the inner loop.
	switch db.recordSize {
	case 24:
		for ; bit < stop && node < n; bit++ {
			o := node*6 + uint(a[bit>>3]>>(7-bit&7)&1)*3
			r := t[o : o+3 : o+3]
			node = uint(r[0])<<16 | uint(r[1])<<8 | uint(r[2])
		}
	case 28:
		// The middle byte holds the top four bits of both records: the
		// high nibble for the left, the low nibble for the right.
		for ; bit < stop && node < n; bit++ {
			r := t[node*7 : node*7+7 : node*7+7]
			if a[bit>>3]>>(7-bit&7)&1 == 0 {
				node = uint(r[3]&0xf0)<<20 | uint(r[0])<<16 | uint(r[1])<<8 | uint(r[2])
			} else {
				node = uint(r[3]&0x0f)<<24 | uint(r[4])<<16 | uint(r[5])<<8 | uint(r[6])
			}
		}
	default:
		for ; bit < stop && node < n; bit++ {
			o := node*8 + uint(a[bit>>3]>>(7-bit&7)&1)*4
			r := t[o : o+4 : o+4]
			node = uint(r[0])<<24 | uint(r[1])<<16 | uint(r[2])<<8 | uint(r[3])
		}
	}
	return node, bit
}
