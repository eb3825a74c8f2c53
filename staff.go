package canopy

import "time"

// Role is what a staff account may do. Roles are stored: add new ones,
// never rename or reuse one.
type Role string

// The roles of a node's staff.
const (
	RoleAdministrator Role = "administrator" // accounts, peers, configuration; not report content
	RoleAnalyst       Role = "analyst"       // triage and assessment
	RoleSupervisor    Role = "supervisor"    // an analyst who also reviews and reopens decisions
	RoleLiaison       Role = "liaison"       // law-enforcement liaison
	RoleCaseworker    Role = "caseworker"    // survivor support
	RoleAuditor       Role = "auditor"       // independent oversight: reads the audit log, nothing else
)

// Roles lists every role in display order.
var Roles = []Role{RoleAdministrator, RoleAnalyst, RoleSupervisor, RoleLiaison, RoleCaseworker, RoleAuditor}

// IsRole reports whether r is a known role.
func IsRole(r Role) bool {
	for _, v := range Roles {
		if v == r {
			return true
		}
	}
	return false
}

// Account is a member of the node's staff.
type Account struct {
	ID    string
	Email string
	Name  string
	Role  Role
	// Jurisdictions are the ISO 3166-1 codes whose reports the account
	// works on; empty means every jurisdiction the node serves.
	Jurisdictions []string
	Created       time.Time
	Disabled      bool
	// Enrolled is true once the account has a password and a second
	// factor; until then it can do nothing but finish enrolling.
	Enrolled bool
}

// Session is a signed-in staff member's session, kept on the server.
type Session struct {
	ID        string // an opaque handle for listing and revoking, not the cookie secret
	AccountID string
	Created   time.Time
	LastSeen  time.Time
	// Elevated is when the session last proved the second factor.
	Elevated time.Time
}
