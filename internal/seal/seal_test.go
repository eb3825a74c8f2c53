package seal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvelope(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "master.key")
	k, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key mode %v, want 0600", fi.Mode().Perm())
	}
	dk, wrapped, err := k.NewDataKey("r1")
	if err != nil {
		t.Fatal(err)
	}
	sealed := dk.Seal([]byte("a secret description"), "r1/content")
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("sealed value contains plaintext")
	}

	// The same master key, loaded again, opens what the first one sealed.
	k2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	dk2, err := k2.OpenDataKey("r1", wrapped)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := dk2.Open(sealed, "r1/content")
	if err != nil || string(pt) != "a secret description" {
		t.Fatalf("Open = %q, %v", pt, err)
	}

	// A wrapped key or sealed value moved to another record does not open.
	if _, err := k2.OpenDataKey("r2", wrapped); err == nil {
		t.Fatal("data key of r1 opened as r2")
	}
	if _, err := dk2.Open(sealed, "r2/content"); err == nil {
		t.Fatal("content of r1 opened in r2's context")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := dk2.Open(tampered, "r1/content"); err == nil {
		t.Fatal("tampered value opened")
	}

	// Another master key opens nothing.
	other, _ := New(bytes.Repeat([]byte{7}, KeySize))
	if _, err := other.OpenDataKey("r1", wrapped); err == nil {
		t.Fatal("foreign master key unwrapped the data key")
	}
}

func TestLoadRefusesLooseKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, KeySize), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadOrCreate on a 0644 key = %v, want a refusal", err)
	}
}

func TestReceipts(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		r := NewReceipt()
		if len(r) != 19 || strings.Count(r, "-") != 3 {
			t.Fatalf("receipt %q has the wrong shape", r)
		}
		n := NormaliseReceipt(r)
		if n == "" || seen[n] {
			t.Fatalf("receipt %q normalised to %q (seen %v)", r, n, seen[n])
		}
		seen[n] = true
	}
	for _, tc := range []struct{ in, want string }{
		{"k7qm-3xpa-9rtd-h2wf", "K7QM3XPA9RTDH2WF"},
		{" K7QM 3XPA 9RTD H2WF ", "K7QM3XPA9RTDH2WF"},
		{"K7QM-3XPA-9RTD-H2WO", "K7QM3XPA9RTDH2W0"}, // O read as zero
		{"i7qm-3xpa-9rtd-h2wl", "17QM3XPA9RTDH2W1"},
		{"K7QM-3XPA-9RTD", ""},           // too short
		{"K7QM-3XPA-9RTD-H2WF-A", ""},    // too long
		{"K7QM-3XPA-9RTD-H2WU", ""},      // U is not in the alphabet
		{"K7QM-3XPA-9RTD-H2W\u00e9", ""}, // non-ASCII
		{"", ""},
	} {
		if got := NormaliseReceipt(tc.in); got != tc.want {
			t.Errorf("NormaliseReceipt(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	k, _ := New(bytes.Repeat([]byte{3}, KeySize))
	if bytes.Equal(k.ReceiptHash("A"), k.ReceiptHash("B")) {
		t.Fatal("different receipts hash alike")
	}
}

func TestKeyedHashesAndSystemKey(t *testing.T) {
	k, _ := New(bytes.Repeat([]byte{5}, KeySize))
	k2, _ := New(bytes.Repeat([]byte{6}, KeySize))
	if bytes.Equal(k.Hash("session", "x"), k.Hash("recovery", "x")) {
		t.Fatal("purposes share a hash")
	}
	if bytes.Equal(k.Hash("session", "x"), k2.Hash("session", "x")) {
		t.Fatal("different master keys give one hash")
	}
	if bytes.Equal(k.Hash("a", "bc"), k.Hash("ab", "c")) {
		t.Fatal("purpose and value run together")
	}
	sealed := k.System().Seal([]byte("totp seed"), "account/1/totp")
	if pt, err := k.System().Open(sealed, "account/1/totp"); err != nil || string(pt) != "totp seed" {
		t.Fatalf("system key round trip: %q %v", pt, err)
	}
	if _, err := k2.System().Open(sealed, "account/1/totp"); err == nil {
		t.Fatal("another node's system key opened the secret")
	}
}
