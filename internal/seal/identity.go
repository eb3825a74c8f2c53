package seal

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// Identity is the node's signing identity: an Ed25519 key that signs what
// the node vouches for in public, such as the checkpoints of its audit log.
// Anyone holding the node's verifier key (VerifierKey) can check those
// signatures; the private key never leaves this package.
//
// The key lives in its own file, beside the master key, and not inside it:
// the verifier key is published, so the identity must stay the same when
// the master key is rotated, and losing it must not cost any data.
type Identity struct {
	name     string
	priv     ed25519.PrivateKey
	vkey     string
	verifier note.Verifier
}

// LoadOrCreateIdentity reads the node's Ed25519 seed from path, creating the
// file with a new random key (mode 0600) when it does not exist. name is the
// node's name in signatures (note's key name): it must be non-empty and
// hold no spaces and no '+'. The same key under another name is another
// verifier key, so a node keeps its name.
func LoadOrCreateIdentity(path, name string) (*Identity, error) {
	if !validKeyName(name) {
		return nil, fmt.Errorf("seal: node name %q must be non-empty, without spaces or '+'", name)
	}
	seed, err := readKeyFile(path, "node key")
	if errors.Is(err, fs.ErrNotExist) {
		seed = make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		seed, err = createKeyFile(path, "node key", seed)
	}
	if err != nil {
		return nil, err
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("seal: node key %s is %d bytes, want %d", path, len(seed), ed25519.SeedSize)
	}
	return newIdentity(name, seed)
}

func newIdentity(name string, seed []byte) (*Identity, error) {
	priv := ed25519.NewKeyFromSeed(seed)
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("seal: node verifier key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("seal: node verifier key: %w", err)
	}
	return &Identity{name: name, priv: priv, vkey: vkey, verifier: v}, nil
}

// Name returns the node's name in signatures.
func (id *Identity) Name() string { return id.name }

// VerifierKey returns the public key in note's "name+hash+key" form, the
// one string an auditor needs to check what the node signed.
func (id *Identity) VerifierKey() string { return id.vkey }

// Verifier returns the verifier of the node's signatures.
func (id *Identity) Verifier() note.Verifier { return id.verifier }

// Signer returns a signer for notes. It signs with the key without handing
// it out.
func (id *Identity) Signer() note.Signer { return signer{id} }

type signer struct{ id *Identity }

func (s signer) Name() string    { return s.id.name }
func (s signer) KeyHash() uint32 { return s.id.verifier.KeyHash() }
func (s signer) Sign(msg []byte) ([]byte, error) {
	return ed25519.Sign(s.id.priv, msg), nil
}

// validKeyName is note's rule for key names.
func validKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 &&
		!strings.Contains(name, "+")
}

// readKeyFile reads a key file and refuses one that others can read.
func readKeyFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("seal: read %s: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: read %s: %w", what, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("seal: %s %s is readable by others (mode %v); chmod 600 it", what, path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<10))
	if err != nil {
		return nil, fmt.Errorf("seal: read %s %s: %w", what, path, err)
	}
	return b, nil
}

// createKeyFile writes key to a new file at path. The key is written and
// synced under a temporary name, then linked into place, which fails if
// path exists: two processes starting at once end up with one key between
// them, and a crash never leaves a half-written key file behind. It
// returns the key now at path, which is another process's when it won.
func createKeyFile(path, what string, key []byte) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("seal: create key directory: %w", err)
	}
	var suffix [8]byte
	rand.Read(suffix[:])
	tmp := path + ".tmp-" + hex.EncodeToString(suffix[:])
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seal: create %s: %w", what, err)
	}
	defer os.Remove(tmp)
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: write %s: %w", what, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: sync %s: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("seal: close %s: %w", what, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path, what)
		}
		return nil, fmt.Errorf("seal: create %s: %w", what, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return key, nil
}
