// Package seal is the only place in Canopy that touches key material. It
// keeps the node's master key, makes a data key for every sensitive record,
// wraps those keys under the master key (envelope encryption), and derives
// the keyed hashes the node stores in place of secrets such as receipt
// codes. Destroying a record's wrapped data key makes its content
// unreadable for good.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the size of the master key and of every data key: AES-256.
const KeySize = 32

// version prefixes every sealed value and wrapped key, so that the format
// can change without guessing what an old value is. Append-only.
const version byte = 1

// ErrOpen is returned when a sealed value cannot be opened: wrong key,
// tampered bytes, or a value sealed for another record.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Keyring holds the node's master key and the keys derived from it.
type Keyring struct {
	wrap       cipher.AEAD
	receiptKey []byte
	hashKey    []byte
	system     *DataKey
}

// LoadOrCreate reads the master key from path, creating the file with a new
// random key (mode 0600) when it does not exist. The master key is kept
// outside the database on purpose: a copy of the database alone reveals
// nothing.
func LoadOrCreate(path string) (*Keyring, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, KeySize)
		rand.Read(key)
		if err := writeNew(path, key); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("seal: read master key: %w", err)
	} else if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: master key %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	return New(key)
}

// writeNew creates path exclusively and syncs it and its directory, so a
// crash never leaves a node with data sealed under a key that was lost.
func writeNew(path string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("seal: create key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("seal: create master key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return fmt.Errorf("seal: write master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("seal: sync master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seal: close master key: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// New returns a keyring for a master key of KeySize bytes.
func New(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("seal: master key is %d bytes, want %d", len(master), KeySize)
	}
	wrapKey, err := hkdf.Key(sha256.New, master, nil, "canopy key wrapping v1", KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive wrapping key: %w", err)
	}
	receiptKey, err := hkdf.Key(sha256.New, master, nil, "canopy receipt hashing v1", KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive receipt key: %w", err)
	}
	hashKey, err := hkdf.Key(sha256.New, master, nil, "canopy keyed hashing v1", KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive hashing key: %w", err)
	}
	systemKey, err := hkdf.Key(sha256.New, master, nil, "canopy system secrets v1", KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive system key: %w", err)
	}
	aead, err := newAEAD(wrapKey)
	if err != nil {
		return nil, err
	}
	system, err := dataKey(systemKey)
	if err != nil {
		return nil, err
	}
	return &Keyring{wrap: aead, receiptKey: receiptKey, hashKey: hashKey, system: system}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead, nil
}

// DataKey seals and opens the content of one record.
type DataKey struct {
	aead cipher.AEAD
}

// NewDataKey makes a fresh data key for the record id and returns it with
// its wrapped form, which is what the store keeps.
func (k *Keyring) NewDataKey(id string) (*DataKey, []byte, error) {
	raw := make([]byte, KeySize)
	rand.Read(raw)
	dk, err := dataKey(raw)
	if err != nil {
		return nil, nil, err
	}
	return dk, sealWith(k.wrap, raw, []byte("dek:"+id)), nil
}

// OpenDataKey unwraps the data key of record id.
func (k *Keyring) OpenDataKey(id string, wrapped []byte) (*DataKey, error) {
	raw, err := openWith(k.wrap, wrapped, []byte("dek:"+id))
	if err != nil {
		return nil, fmt.Errorf("seal: unwrap data key of %s: %w", id, err)
	}
	return dataKey(raw)
}

func dataKey(raw []byte) (*DataKey, error) {
	aead, err := newAEAD(raw)
	if err != nil {
		return nil, err
	}
	return &DataKey{aead: aead}, nil
}

// Seal encrypts plaintext. context binds the ciphertext to where it is
// stored (record and field), so a sealed value copied elsewhere will not
// open.
func (d *DataKey) Seal(plaintext []byte, context string) []byte {
	return sealWith(d.aead, plaintext, []byte(context))
}

// Open decrypts a value made by Seal with the same context.
func (d *DataKey) Open(sealed []byte, context string) ([]byte, error) {
	return openWith(d.aead, sealed, []byte(context))
}

func sealWith(aead cipher.AEAD, plaintext, ad []byte) []byte {
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = version
	rand.Read(out[1:])
	return aead.Seal(out, out[1:1+aead.NonceSize()], plaintext, ad)
}

func openWith(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// System returns the key that seals the node's own secrets, such as staff
// second-factor seeds: records that belong to no report, and are never
// erased one by one.
func (k *Keyring) System() *DataKey { return k.system }

// Hash returns a keyed hash of value for purpose (such as "session" or
// "recovery"). The node stores these in place of secrets it only needs to
// recognise: without the master key a copy of the database cannot be
// searched for them.
func (k *Keyring) Hash(purpose, value string) []byte {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// ReceiptHash returns the keyed hash under which a receipt code is stored.
// Without the master key, a stolen database cannot be searched for a
// receipt, nor a receipt guessed offline.
func (k *Keyring) ReceiptHash(normalised string) []byte {
	m := hmac.New(sha256.New, k.receiptKey)
	m.Write([]byte(normalised))
	return m.Sum(nil)
}
