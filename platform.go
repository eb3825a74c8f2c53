package canopy

import "time"

// Platform is an online service that works with the node through the API:
// submitting reports, matching hashes, syncing banks.
type Platform struct {
	ID        string
	Name      string
	Contact   string // a trust-and-safety contact address
	Created   time.Time
	CreatedBy string
	Disabled  bool
}

// API key scopes. Stored: append-only.
const (
	ScopeSubmit   = "submit"   // POST /api/v1/platform/reports
	ScopeMatch    = "match"    // POST /api/v1/match
	ScopeSync     = "sync"     // GET /api/v1/banks/{bank}/changes
	ScopeTakedown = "takedown" // POST /api/v1/platform/takedowns/{id}: a host confirms what became of an address
)

// Scopes lists every scope.
var Scopes = []string{ScopeSubmit, ScopeMatch, ScopeSync, ScopeTakedown}

// APIKey is a platform's credential. Its secret is shown once, when it is
// made, and stored only as a keyed hash.
type APIKey struct {
	ID         string
	PlatformID string
	Name       string
	Scopes     []string
	Created    time.Time
	CreatedBy  string
	Revoked    time.Time
	LastUsed   time.Time
}

// Allows reports whether the key carries scope.
func (k *APIKey) Allows(scope string) bool { return contains(k.Scopes, scope) }
