package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/bundle"
)

// TestEvidenceCommands exports an investigation from the shell and checks
// the bundle offline with the node's key: it verifies, and it stops
// verifying when a byte of a file changes or another key is given.
func TestEvidenceCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	m := NewMain(io.Discard)
	m.Logger = slog.New(slog.DiscardHandler)
	m.DataDir, m.DatabaseURL = dir, ""
	if err := m.open(ctx); err != nil {
		t.Fatal(err)
	}
	liaison := &canopy.Account{ID: "li1", Role: canopy.RoleLiaison}
	inv, err := m.Evidence.Open(ctx, liaison, "Operation Lantern", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Evidence.Acquire(ctx, liaison, inv.ID, "chat log.txt", strings.NewReader("the chat, as seized"), "seized"); err != nil {
		t.Fatal(err)
	}
	key := m.Network.Info().SigningKey
	m.Close()

	cmd := func(args ...string) (string, string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		err := run(ctx, args, &out, &errs)
		return out.String(), errs.String(), err
	}
	b := filepath.Join(t.TempDir(), "bundle")
	out, errs, err := cmd("evidence", "export", inv.ID, b, "--data", dir)
	if err != nil || !strings.Contains(out, "wrote "+b) || !strings.Contains(out, "--key ed25519:"+key) ||
		!strings.Contains(out, "fingerprint (tell the receiver): "+fingerprintOf(t, filepath.Join(b, bundle.KeyFile))) {
		t.Fatalf("export: %v %q %q", err, out, errs)
	}
	out, errs, err = cmd("evidence", "verify", b, "--key", "ed25519:"+key)
	if err != nil || !strings.Contains(out, "verifies: investigation "+inv.ID) || strings.Contains(out, "FAIL") {
		t.Fatalf("verify: %v %q %q", err, out, errs)
	}
	other := strings.Repeat("A", 43)
	if out, _, err = cmd("evidence", "verify", b, "--key", "ed25519:"+other); err == nil || !strings.Contains(out, "FAIL") {
		t.Fatalf("verify with another key: %v %q", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(b, "files", "evidence", "*"))
	if len(files) != 1 {
		t.Fatalf("files in the bundle: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	raw[0] ^= 1
	os.Chmod(files[0], 0o600)
	if err := os.WriteFile(files[0], raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err = cmd("evidence", "verify", b, "--key", "ed25519:"+key); err == nil || !strings.Contains(out, "FAIL") {
		t.Fatalf("verify a changed file: %v %q", err, out)
	}
	for _, args := range [][]string{{"evidence"}, {"evidence", "export", inv.ID}, {"evidence", "verify", b}, {"evidence", "burn"}} {
		if _, _, err := cmd(args...); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("canopy %s: %v, want usage", strings.Join(args, " "), err)
		}
	}
}

// fingerprintOf is the SHA-256 of the DER key in a bundle's node.pub, as
// a receiver computes it with openssl and sha256sum.
func fingerprintOf(t *testing.T, pubPEM string) string {
	t.Helper()
	b, err := os.ReadFile(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", pubPEM)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}
