// Package access is the node's permission matrix, written once: which role
// may do what. Handlers ask Can before they act; docs/permissions.md is
// generated from the same table (go generate ./internal/access), and a
// test fails when the two disagree.
package access

import (
	"fmt"
	"slices"
	"strings"

	"github.com/canopy-org/canopy"
)

//go:generate go run ./gen -out ../../docs/permissions.md

// Permission is one thing staff can do.
type Permission string

// Permissions. Each names one action on one kind of thing.
const (
	QueueView           Permission = "queue.view"           // see the triage queue: categories, flags, ages, clocks
	ReportView          Permission = "report.view"          // see a report's triage fields and timeline
	ReportOpen          Permission = "report.open"          // open a report's sensitive content (audited)
	ReportClaim         Permission = "report.claim"         // take a report to work on
	ReportAssess        Permission = "report.assess"        // record an assessment and an outcome
	ReportReview        Permission = "report.review"        // review, confirm or reopen another's decision
	ReportMerge         Permission = "report.merge"         // merge duplicate reports
	ReportMessage       Permission = "report.message"       // write to an anonymous reporter
	AccountManage       Permission = "account.manage"       // create, change and disable staff accounts
	AuditRead           Permission = "audit.read"           // read the audit log and who opened what
	OwnAccount          Permission = "account.own"          // manage one's own second factors and sessions
	ReportRefer         Permission = "report.refer"         // choose a report's jurisdiction, refer it to a peer, answer a peer's referral
	PeerManage          Permission = "peer.manage"          // add, change, suspend and remove peer nodes and routing rules
	CaseManage          Permission = "case.manage"          // open, read and work on support cases (each opening is audited)
	CaseHold            Permission = "case.hold"            // place and lift legal holds on support cases
	ServiceManage       Permission = "service.manage"       // maintain the directory of support services
	ReportTakedown      Permission = "report.takedown"      // send a report's takedown notices and record what became of its addresses
	HostManage          Permission = "host.manage"          // maintain the list of hosts that take notices
	IndicatorsView      Permission = "indicators.view"      // read the indicators dashboard: counts and times, never a report
	InvestigationManage Permission = "investigation.manage" // open investigations, add and read evidence (each access is in its chain of custody)
	InvestigationHold   Permission = "investigation.hold"   // place and lift legal holds on investigations
)

// Rule is one row of the matrix.
type Rule struct {
	Permission  Permission
	Description string
	Roles       []canopy.Role
}

var (
	admin      = canopy.RoleAdministrator
	analyst    = canopy.RoleAnalyst
	supervisor = canopy.RoleSupervisor
	liaison    = canopy.RoleLiaison
	caseworker = canopy.RoleCaseworker
	auditor    = canopy.RoleAuditor
)

// Matrix is the whole permission table, in display order. The
// administrator runs the node but does not read reports; the auditor reads
// the record of what everyone did but no report.
var Matrix = []Rule{
	{QueueView, "See the triage queue (categories, flags, ages, service-level clocks)", []canopy.Role{analyst, supervisor, liaison}},
	{ReportView, "See a report's triage fields and timeline", []canopy.Role{analyst, supervisor, liaison}},
	{ReportOpen, "Open a report's sensitive content (each opening is audited)", []canopy.Role{analyst, supervisor, liaison}},
	{ReportClaim, "Claim a report", []canopy.Role{analyst, supervisor}},
	{ReportAssess, "Assess a report and record its outcome", []canopy.Role{analyst, supervisor}},
	{ReportReview, "Review, confirm or reopen a decision", []canopy.Role{supervisor}},
	{ReportMerge, "Merge duplicate reports", []canopy.Role{analyst, supervisor}},
	{ReportMessage, "Write to an anonymous reporter", []canopy.Role{analyst, supervisor}},
	{ReportRefer, "Choose a report's jurisdiction, refer it abroad, and answer referrals from abroad", []canopy.Role{analyst, supervisor, liaison}},
	{ReportTakedown, "Send a report's takedown notices and record what became of its addresses", []canopy.Role{analyst, supervisor}},
	{HostManage, "Maintain the list of hosts that take takedown notices, import and export it", []canopy.Role{admin, supervisor}},
	{IndicatorsView, "Read the indicators dashboard and compare with other countries (counts and times, never a report)", canopy.Roles},
	{InvestigationManage, "Open investigations and add, read, verify and destroy their evidence (each access is in the item's chain of custody)", []canopy.Role{analyst, supervisor, liaison}},
	{InvestigationHold, "Place and lift a legal hold on an investigation, which stops the destruction and the purge of its evidence", []canopy.Role{supervisor, liaison}},
	{AccountManage, "Create, change and disable staff accounts", []canopy.Role{admin}},
	{PeerManage, "Add, change, suspend and remove peer nodes, routing rules and bank subscriptions", []canopy.Role{admin}},
	{CaseManage, "Open and work on support cases: needs, service referrals, safety plans, check-ins, consent (each opening is audited)", []canopy.Role{caseworker}},
	{CaseHold, "Place and lift a legal hold on a support case, which stops its deletion", []canopy.Role{admin}},
	{ServiceManage, "Maintain the directory of support services, import and export it", []canopy.Role{admin, caseworker}},
	{AuditRead, "Read the audit log and see who opened a report", []canopy.Role{auditor}},
	{OwnAccount, "Manage one's own second factors and sessions", canopy.Roles},
}

var table = func() map[Permission][]canopy.Role {
	m := make(map[Permission][]canopy.Role, len(Matrix))
	for _, r := range Matrix {
		if _, dup := m[r.Permission]; dup {
			panic("access: permission listed twice: " + string(r.Permission))
		}
		m[r.Permission] = r.Roles
	}
	return m
}()

// Can reports whether role may do p. An unknown permission is refused.
func Can(role canopy.Role, p Permission) bool {
	return slices.Contains(table[p], role)
}

// InJurisdiction reports whether an account may work on a report about
// country: accounts with no jurisdictions work on all the node serves, and
// a report with no known country is everyone's.
func InJurisdiction(a *canopy.Account, country string) bool {
	return len(a.Jurisdictions) == 0 || country == "" || slices.Contains(a.Jurisdictions, country)
}

// Markdown renders the matrix as the text of docs/permissions.md.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Permissions\n\n")
	b.WriteString("Generated from `internal/access` by `go generate ./internal/access`; do not edit by hand.\n")
	b.WriteString("A test fails when this file and the code disagree.\n\n")
	b.WriteString("A refused request answers 403 on pages and in the API, or 404 where saying\n")
	b.WriteString("that a record exists would already reveal something, and is written to the\n")
	b.WriteString("audit log as `permission.denied`. Staff also see only reports in their\n")
	b.WriteString("jurisdictions (an account with none sees every jurisdiction the node serves).\n\n")
	b.WriteString("| permission | what it allows |")
	for _, r := range canopy.Roles {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString("\n|---|---|")
	for range canopy.Roles {
		b.WriteString(":---:|")
	}
	b.WriteString("\n")
	for _, rule := range Matrix {
		fmt.Fprintf(&b, "| `%s` | %s |", rule.Permission, rule.Description)
		for _, r := range canopy.Roles {
			if slices.Contains(rule.Roles, r) {
				b.WriteString(" ✓ |")
			} else {
				b.WriteString("   |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
