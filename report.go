package canopy

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"
)

// Channels a report can arrive through.
const (
	ChannelPortal   = "portal"   // the public web portal
	ChannelAPI      = "api"      // a partner app through POST /api/v1/reports
	ChannelPlatform = "platform" // an online service's bulk submission
	ChannelPeer     = "peer"     // another node, through federation
)

// Report is one report as the node keeps it. The fields outside Content are
// the minimum the node needs to triage, route and count without opening
// the report; Content is sealed with the report's own data key before it
// is stored.
type Report struct {
	ID           string
	Received     time.Time
	Channel      string
	Reporter     string
	Category     string
	Flags        []string
	ChildCountry string // ISO 3166-1 alpha-2, or "" when unknown
	Language     string // the language the reporter used
	Hashes       []ContentHash
	Content      ReportContent
}

// ReportContent is what the reporter told us. It is sensitive: it is sealed
// at rest, never logged, and shown to staff only on an audited opening.
type ReportContent struct {
	Description string   `json:"description,omitempty"`
	URLs        []string `json:"urls,omitempty"`
	Platform    string   `json:"platform,omitempty"`
	Accounts    []string `json:"accounts,omitempty"`
	Contact     *Contact `json:"contact,omitempty"`
}

// Contact is how a reporter who chose not to stay anonymous may be reached.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Empty reports whether no contact detail was given.
func (c *Contact) Empty() bool {
	return c == nil || (c.Name == "" && c.Email == "" && c.Phone == "")
}

// ContentHash is a hash of a file the reporter knows about. The portal
// accepts hashes, never files.
type ContentHash struct {
	Algorithm string `json:"algorithm"` // md5, sha1, sha256 or pdq
	Value     string `json:"value"`     // lowercase hex
}

// Hash algorithms and the hex length of their values; 0 marks a licensed
// scheme (PhotoDNA) whose values are kept and exchanged as opaque text.
var HashAlgorithms = map[string]int{"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64, "photodna": 0}

// HasFlag reports whether the report carries flag.
func (r *Report) HasFlag(flag string) bool { return contains(r.Flags, flag) }

// Languages the node's portal speaks, in the order the switcher shows them.
// English is the reference catalog every other must match.
var Languages = []string{"en", "fr", "es", "ar"}

// IsLanguage reports whether the node speaks lang.
func IsLanguage(lang string) bool { return contains(Languages, lang) }

// NewID returns a new record identifier: 26 characters of lowercase
// base32, safe in URLs and file names. The first 48 bits are the time in
// milliseconds and the other 80 are random, so ids sort by creation and
// new rows land at the end of the database's indexes instead of on a
// random page; the time they reveal is no finer than what the record
// itself says.
func NewID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	return IDFromBytes(b[:])
}

// IDFromBytes formats 16 bytes as a record identifier, for ids derived
// from other data rather than made by NewID.
func IDFromBytes(b []byte) string {
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// idEncoding is base32 with the extended-hex alphabet, which sorts as the
// bytes do.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)
