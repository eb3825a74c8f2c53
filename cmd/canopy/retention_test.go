package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestRetentionCommands sets a policy from the shell, refuses a bad one,
// shows the policies, and runs a purge.
func TestRetentionCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd := func(args ...string) (string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		err := run(ctx, append(args, "--data", dir), &out, &errs)
		return out.String(), err
	}
	if out, err := cmd("retention", "set", "report_not_illegal", "365"); err != nil || !strings.Contains(out, "kept 365 days") {
		t.Fatalf("set: %v %q", err, out)
	}
	if _, err := cmd("retention", "set", "everything", "365"); err == nil {
		t.Error("a policy of no known kind was set")
	}
	if _, err := cmd("retention", "set", "report_not_illegal", "soon"); err == nil {
		t.Error("a policy of no number of days was set")
	}
	if out, err := cmd("retention", "set", "evidence", "3650"); err != nil || !strings.Contains(out, "kept 3650 days") {
		t.Fatalf("set evidence: %v %q", err, out)
	}
	if out, err := cmd("retention", "purge"); err != nil || out != "report_not_illegal: 0 purged\nevidence: 0 purged\n" {
		t.Fatalf("purge: %v %q", err, out)
	}
	out, err := cmd("retention", "show")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"report_not_illegal   365 days (set ", "support_case         kept until a policy is set",
		"evidence             3650 days", "delivered_message    kept until a policy is set"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"retention"}, {"retention", "set", "x"}, {"retention", "forget"}} {
		if _, err := cmd(args...); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("canopy %s: %v, want usage", strings.Join(args, " "), err)
		}
	}
}
