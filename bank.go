package canopy

import "time"

// Bank is a named set of hashes of known material, with where it came
// from and under what terms it may be used.
type Bank struct {
	ID          string
	Name        string // short, stable, used in URLs: letters, digits, '-', '_'
	SourceOrg   string // the organisation that supplied the hashes
	Agreement   string // the agreement or licence they are held under
	Description string
	Created     time.Time
	CreatedBy   string
}

// BankEntry is one hash in a bank, with its provenance. Algorithm is pdq,
// md5, sha1 or sha256 (lowercase hex values), or the name of a licensed
// scheme such as photodna, whose values Canopy keeps and exchanges as
// opaque text without interpreting them.
type BankEntry struct {
	// ID is the sequence number of the change that added the entry: stable
	// for as long as the entry is in the bank, and the match index's
	// reference for it.
	ID        int64
	Algorithm string
	Value     string
	Quality   int // PDQ quality 0–100; -1 when unknown or not PDQ
	Category  string
	Labels    []string
	AddedBy   string
	Added     time.Time
}

// Bank change operations. Stored and sent: append-only.
const (
	BankAdd    = "add"
	BankRemove = "remove"
)

// BankChange is one addition or removal, numbered in the order it was
// made; a consumer syncs a bank by asking for the changes after the last
// sequence number it saw.
type BankChange struct {
	Seq int64
	Op  string
	BankEntry
}

// Hit is a known-content match: a hash a report carries, found in a bank.
type Hit struct {
	Bank      string `json:"bank"`
	Category  string `json:"category,omitempty"`
	Algorithm string `json:"algorithm"`
	Distance  int    `json:"distance"` // Hamming distance for PDQ, 0 for exact hashes
}
