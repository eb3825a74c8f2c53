// Package match is the in-memory index a Canopy node matches against: it
// finds the known PDQ hashes within a Hamming distance of a query hash,
// and looks exact hashes (MD5, SHA-1, SHA-256, licensed hashes such as
// PhotoDNA) up by value, across every bank the node holds. Each indexed
// hash carries only a uint32 the caller chose (an entry ID, which the
// caller maps to bank, category and labels), so that ten million hashes
// fit in about a gigabyte and nothing about the material is in here.
//
// # PDQ: multi-index hashing
//
// A linear scan compares the query with every hash; at ten million hashes
// that is 320 MB of memory read per query. The index instead uses
// multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming
// Space with Multi-Index Hashing", CVPR 2012). The 256 bits are cut into
// m = 11 substrings (three of 24 bits, eight of 23). Write the threshold
// as m·r + a with 0 ≤ a < m: two hashes within the threshold must agree
// within radius r on one of the first a+1 substrings or within r-1 on one
// of the others, for otherwise they would differ in at least
// (a+1)(r+1) + (m-a-1)·r = threshold+1 bits. At the PDQ threshold of 31
// that is radius 2 on ten substrings and radius 1 on one. So the index
// keeps one table per substring, and a query visits, in each table, every
// entry whose substring is within that table's radius of the query's
// substring, then compares the full hashes of those candidates.
//
// That is exact, not approximate: no hash within the threshold can be
// missed (the pigeonhole argument above), and every reported hash is
// checked on all 256 bits. A hash found by several tables is reported
// only by the first table within whose radius it lies, which needs no
// set of seen hashes. For large thresholds the probe would touch more
// memory than a scan, so each segment estimates both and scans instead
// (between thresholds 56 and 63 at a million hashes; at ten million the
// probe still wins, barely, at 63). Every threshold from 0 to 256 gives
// exactly what a linear scan gives, and the tests hold the index to that
// on random and clustered hashes and on the PDQ reference data.
//
// Why eleven substrings: a query's cost is its cache misses, one or two
// per bucket visited and two per candidate whose full hash is read. At
// ten million hashes and threshold 31, eleven substrings visit about 2,300
// buckets and verify about 2,900 candidates. Eight 32-bit substrings (the
// word-aligned choice) need radius 3 in every table: five times the
// buckets. Ten need radius 3 in two tables: twice the buckets. Twelve of
// 21 or 22 bits visit fewer buckets, but a bucket then fixes nearly all
// of its substring, leaving nothing to filter on: two and a half times
// the candidates. Measured, ten and twelve took 1.4 and 1.5 times as long
// per query as eleven.
//
// # Memory layout
//
// A table buckets its entries by the top d bits of the substring, d about
// log2(n)-3 (eight entries a bucket: d = 21 at ten million hashes), by a
// counting sort. Thirty-two adjacent buckets form a block, laid out in one
// run of a uint16 array, starting on a cache line: a one-line header of
// cumulative bucket sizes, then for each entry the low 16 bits of its
// substring ("lo", which still holds the 2 or 3 substring bits below the
// bucket). A second array gives each entry's position in the segment.
// So a probe of a bucket costs a header line and an entry line in the
// same page, and lo rejects most entries that are not within the radius
// before their hash is read. Per hash, at ten million:
//
//	hash                      32 bytes
//	ID                         4
//	11 tables × (lo 2 + position 4 + headers, alignment, block index ≈ 0.7)
//	                          74
//	total                   ≈ 110 bytes (measured: 109.4)
//
// The probe works in batches and in passes (list blocks, find them, touch
// their headers, list buckets, touch their entries, filter, find the
// candidates' hashes, verify), so that the processor has many independent
// cache misses in flight instead of waiting for one at a time, and the
// large arrays are advised onto transparent huge pages on Linux, because
// on a virtual machine a TLB miss costs more than the cache miss it
// accompanies.
//
// # Changes while serving
//
// Segments are immutable. A query loads one published view (segments, a
// small delta of recent additions, tombstones) with an atomic load and
// never blocks. AddPDQ appends to the delta, which queries scan linearly,
// so a hash is matchable as soon as AddPDQ returns. When the delta reaches
// Options.DeltaLimit a background goroutine freezes it into a segment and
// merges segments so that each is at least three times all smaller ones
// together (few segments to probe, few rebuilds per hash). RemovePDQ
// publishes a tombstone: a hash is dead where its tombstone is newer than
// the segment or delta item holding it, so a pair removed and added again
// is live again. Rebuilds drop dead hashes and tombstones that no longer
// kill anything; Compact merges everything into one segment.
//
// # Exact hashes
//
// Exact hashes are in a map per algorithm, from value to ID (or IDs, when
// several entries share a file), under a read-write mutex.
package match
