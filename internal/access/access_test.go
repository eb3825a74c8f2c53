package access

import (
	"os"
	"testing"

	"github.com/canopy-org/canopy"
)

func TestDocsMatchCode(t *testing.T) {
	b, err := os.ReadFile("../../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != Markdown() {
		t.Fatal("docs/permissions.md is stale: run go generate ./internal/access")
	}
}

func TestMatrix(t *testing.T) {
	for _, rule := range Matrix {
		if len(rule.Roles) == 0 {
			t.Errorf("%s: no role may do it", rule.Permission)
		}
		for _, r := range rule.Roles {
			if !canopy.IsRole(r) {
				t.Errorf("%s: unknown role %q", rule.Permission, r)
			}
		}
	}
	// The separations the node promises.
	for _, tc := range []struct {
		role canopy.Role
		p    Permission
		want bool
	}{
		{canopy.RoleAdministrator, ReportOpen, false}, // runs the node, reads no report
		{canopy.RoleAuditor, ReportOpen, false},       // oversees, reads no report
		{canopy.RoleAuditor, AuditRead, true},
		{canopy.RoleCaseworker, QueueView, false},
		{canopy.RoleAnalyst, ReportReview, false}, // no one reviews their own work
		{canopy.RoleSupervisor, ReportReview, true},
		{canopy.RoleAnalyst, AccountManage, false},
		{canopy.RoleLiaison, ReportAssess, false},
		{canopy.RoleAnalyst, "no.such.permission", false},
	} {
		if got := Can(tc.role, tc.p); got != tc.want {
			t.Errorf("Can(%s, %s) = %v, want %v", tc.role, tc.p, got, tc.want)
		}
	}
}

func TestInJurisdiction(t *testing.T) {
	fr := &canopy.Account{Jurisdictions: []string{"FR"}}
	all := &canopy.Account{}
	if !InJurisdiction(fr, "FR") || InJurisdiction(fr, "DE") || !InJurisdiction(fr, "") || !InJurisdiction(all, "DE") {
		t.Fatal("jurisdiction scoping wrong")
	}
}
