package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/federation"
)

// TestNetworkCommands walks two nodes' administrators through joining
// them from the shell: each prints its identity, adds the other with the
// line it printed, sets a route, lists and suspends.
func TestNetworkCommands(t *testing.T) {
	ctx := context.Background()
	fr, be := t.TempDir(), t.TempDir()
	cmd := func(dir string, args ...string) (string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		// Flags after the positional arguments, as an operator types them.
		err := run(ctx, append(args, "--data", dir), &out, &errs)
		if err != nil {
			return out.String() + errs.String(), err
		}
		return out.String(), nil
	}
	must := func(dir string, args ...string) string {
		t.Helper()
		out, err := cmd(dir, args...)
		if err != nil {
			t.Fatalf("canopy %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	out := must(be, "node", "info", "--json", "--jurisdictions", "BE")
	var info federation.NodeInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("node info --json: %v\n%s", err, out)
	}
	if len(info.SigningKey) != 43 || len(info.EncryptionKey) != 43 || info.Protocol != 1 || info.Jurisdictions[0] != "BE" {
		t.Fatalf("node info = %+v", info)
	}
	text := must(be, "node", "info")
	// The line a peer's administrator types is printed whole.
	line := regexp.MustCompile(`canopy peer add .*`).FindString(text)
	if !strings.Contains(line, "ed25519:"+info.SigningKey) || !strings.Contains(line, "x25519:"+info.EncryptionKey) {
		t.Fatalf("node info does not print the peer add line:\n%s", text)
	}

	// Bad input gets a specific answer and adds nothing.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"peer", "add", "--id", "be", "--url", "https://be.example", "--signing-key", "nonsense", "--encryption-key", "x25519:" + info.EncryptionKey}, "--signing-key"},
		{[]string{"peer", "add", "--id", "Be!", "--url", "https://be.example", "--signing-key", info.SigningKey, "--encryption-key", info.EncryptionKey}, "error.peer.id"},
		{[]string{"peer", "add", "--id", "be", "--url", "ftp://be.example", "--signing-key", info.SigningKey, "--encryption-key", info.EncryptionKey}, "error.peer.url"},
		// Plain http only to this machine.
		{[]string{"peer", "add", "--id", "be", "--url", "http://be.example", "--signing-key", info.SigningKey, "--encryption-key", info.EncryptionKey}, "error.peer.url"},
		// The keys' types are checked when given.
		{[]string{"peer", "add", "--id", "be", "--url", "https://be.example", "--signing-key", "x25519:" + info.SigningKey, "--encryption-key", info.EncryptionKey}, "--signing-key"},
		{[]string{"peer", "add", "--id", "be", "--url", "https://be.example", "--signing-key", info.SigningKey, "--encryption-key", info.EncryptionKey, "--share", "contact"}, "share"},
		{[]string{"route", "set", "BE", "nobody"}, "error.peer.not_found"},
		{[]string{"route", "set", "XX", "nobody"}, "error.country"},
	} {
		out, err := cmd(fr, c.args...)
		if err == nil || !strings.Contains(err.Error()+out, c.want) {
			t.Errorf("canopy %s: %v %q, want an error naming %s", strings.Join(c.args, " "), err, out, c.want)
		}
	}

	out = must(fr, "peer", "add", "--id", "be", "--url", "https://hotline.be.example/", "--peer-name", info.Name,
		"--signing-key", "ed25519:"+info.SigningKey, "--encryption-key", "x25519:"+info.EncryptionKey, "--jurisdictions", "BE,LU",
		"--share", "urls,description")
	if !strings.Contains(out, "added peer be") || !strings.Contains(out, "description,urls") {
		t.Errorf("peer add said %q", out)
	}
	if out, err := cmd(fr, "peer", "add", "--id", "be2", "--url", "https://x.example", "--signing-key", info.SigningKey, "--encryption-key", info.EncryptionKey); err == nil {
		t.Errorf("the same key twice was accepted: %s", out)
	}
	must(fr, "route", "set", "be", "be", "--auto")
	must(fr, "route", "set", "LU", "be")
	out = must(fr, "route", "list")
	if !strings.Contains(out, "BE  ") || !strings.Contains(out, "at once") || !strings.Contains(out, "when an analyst confirms") {
		t.Errorf("route list:\n%s", out)
	}
	must(fr, "route", "remove", "LU")
	if out, err := cmd(fr, "route", "remove", "LU"); err == nil {
		t.Errorf("removing a route twice: %s", out)
	}
	out = must(fr, "peer", "list")
	if !strings.Contains(out, "be ") || !strings.Contains(out, "active") || !strings.Contains(out, "https://hotline.be.example ") {
		t.Errorf("peer list:\n%s", out)
	}
	must(fr, "peer", "set", "be", "--share", "urls")
	must(fr, "peer", "suspend", "be")
	if out := must(fr, "peer", "list"); !strings.Contains(out, "suspended") {
		t.Errorf("after suspend:\n%s", out)
	}
	must(fr, "peer", "resume", "be")
	must(fr, "peer", "remove", "be")
	if out, err := cmd(fr, "peer", "resume", "be"); err == nil {
		t.Errorf("a removed peer came back: %s", out)
	}
}
