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

// NewID returns a new random record identifier: 26 characters of lowercase
// base32 (128 bits), safe in URLs and file names, revealing nothing about
// when or where it was made.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)
