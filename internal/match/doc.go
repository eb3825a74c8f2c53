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
// m = 10 substrings (six of 26 bits, four of 25). Write the threshold as
// m·r + a with 0 ≤ a < m: two hashes within the threshold must agree
// within radius r on one of the first a+1 substrings or within r-1 on one
// of the others, for otherwise they would differ in at least
// (a+1)(r+1) + (m-a-1)·r = threshold+1 bits. At the PDQ threshold of 31
// that is radius 3 on two substrings and radius 2 on eight. So the index
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
// (past threshold 52 or so at a million hashes; at ten million the probe
// still wins at 63): every threshold from 0 to
// 256 gives exactly what a linear scan gives, and the tests hold it to
// that on random and clustered hashes and on the PDQ reference data.
//
// Why ten substrings: with eight of 32 bits (word-aligned, radius 3 in
// every table) a query visits about 2.5 times as many buckets; with
// twelve of 21 or 22 bits (radius 2 and 1) the buckets are fewer, but a
// bucket fixes nearly all of a substring's bits, so nothing is left to
// filter on and about 5 times as many candidates reach the full hash. Buckets
// and candidates are cache misses, and misses are what a query costs.
//
// # Memory layout
//
// A table buckets its entries by the top d bits of the substring, d about
// log2(n)-3 (eight entries a bucket: d = 21 at ten million hashes), by a
// counting sort. Thirty-two adjacent buckets form a block, laid out in one
// run of a uint16 array, starting on a cache line: a one-line header of
// cumulative bucket sizes, then for each entry the low 16 bits of its
// substring ("lo", which still holds the 4 or 5 substring bits below the
// bucket). A second array gives each entry's position in the segment.
// So a probe of a bucket costs a header line and an entry line in the
// same page, and lo rejects nearly every entry that is not within the
// radius before its hash is read. Per hash, at ten million:
//
//	hash                      32 bytes
//	ID                         4
//	10 tables × (lo 2 + position 4 + headers, alignment, block index ≈ 0.7)
//	                          67
//	total                   ≈ 103 bytes (measured: 102.8)
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
