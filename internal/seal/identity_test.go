package seal

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "node.key")
	id, err := LoadOrCreateIdentity(path, "hotline.example")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("node key mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.HasPrefix(id.VerifierKey(), "hotline.example+") {
		t.Fatalf("verifier key %q does not carry the node name", id.VerifierKey())
	}
	if id.Signer().Name() != "hotline.example" || id.Signer().KeyHash() != id.Verifier().KeyHash() {
		t.Fatal("signer and verifier disagree on name or key hash")
	}
	if left, _ := os.ReadDir(filepath.Dir(path)); len(left) != 1 {
		t.Fatalf("key directory holds %d files, want just node.key", len(left))
	}

	// A note signed by the node opens with the published key alone.
	signed, err := note.Sign(&note.Note{Text: "hello\n"}, id.Signer())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(id.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := note.Open(signed, note.VerifierList(v)); err != nil || n.Text != "hello\n" {
		t.Fatalf("note.Open = %v, %v", n, err)
	}

	// Loaded again, the identity is the same; under another name it is
	// another verifier key.
	again, err := LoadOrCreateIdentity(path, "hotline.example")
	if err != nil {
		t.Fatal(err)
	}
	if again.VerifierKey() != id.VerifierKey() {
		t.Fatal("identity changed on reload")
	}
	renamed, err := LoadOrCreateIdentity(path, "other")
	if err != nil {
		t.Fatal(err)
	}
	if renamed.VerifierKey() == id.VerifierKey() {
		t.Fatal("another name gave the same verifier key")
	}
}

func TestIdentityRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "two words", "a+b"} {
		if _, err := LoadOrCreateIdentity(filepath.Join(dir, "n.key"), name); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}

	open := filepath.Join(dir, "open.key")
	if _, err := LoadOrCreateIdentity(open, "node"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(open, "node"); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("world-readable key: err = %v", err)
	}

	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("tooshort"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(short, "node"); err == nil {
		t.Fatal("truncated key accepted")
	}
}

// Nodes starting at once against one data directory share one identity.
func TestIdentityCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.key")
	keys := make([]string, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			id, err := LoadOrCreateIdentity(path, "node")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = id.VerifierKey()
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatalf("racing creators got different keys: %q and %q", keys[0], k)
		}
	}
}
