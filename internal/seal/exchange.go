package seal

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
)

// ExchangeKey is the node's encryption key pair: an X25519 key that other
// nodes encrypt their messages to, with HPKE (RFC 9180) in base mode,
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20-Poly1305. Like the
// signing identity it lives in a file of its own, so the master key can be
// rotated without peers having to learn a new key.
type ExchangeKey struct {
	priv *ecdh.PrivateKey
	hpke hpke.PrivateKey
}

// The HPKE suite every Canopy message uses. Fixed: a new suite is a new
// protocol version.
var (
	suiteKDF  = hpke.HKDFSHA256()
	suiteAEAD = hpke.ChaCha20Poly1305()
)

// LoadOrCreateExchangeKey reads the node's X25519 private key from path,
// creating it (mode 0600) on first start.
func LoadOrCreateExchangeKey(path string) (*ExchangeKey, error) {
	raw, err := readKeyFile(path, "exchange key")
	if errors.Is(err, fs.ErrNotExist) {
		k, gerr := ecdh.X25519().GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, fmt.Errorf("seal: generate exchange key: %w", gerr)
		}
		raw, err = createKeyFile(path, "exchange key", k.Bytes())
	}
	if err != nil {
		return nil, err
	}
	return NewExchangeKey(raw)
}

// NewExchangeKey returns the exchange key whose X25519 private scalar is
// raw (32 bytes).
func NewExchangeKey(raw []byte) (*ExchangeKey, error) {
	priv, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: exchange key: %w", err)
	}
	hk, err := hpke.NewDHKEMPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("seal: exchange key: %w", err)
	}
	return &ExchangeKey{priv: priv, hpke: hk}, nil
}

// Public returns the 32-byte X25519 public key peers encrypt to.
func (k *ExchangeKey) Public() []byte { return k.priv.PublicKey().Bytes() }

// Open decrypts a message sealed to this key by SealTo with the same info.
func (k *ExchangeKey) Open(info, sealed []byte) ([]byte, error) {
	plain, err := hpke.Open(k.hpke, suiteKDF, suiteAEAD, info, sealed)
	if err != nil {
		return nil, fmt.Errorf("seal: open message: %w", err)
	}
	return plain, nil
}

// SealTo encrypts plaintext to the holder of the X25519 public key pub.
// info binds the ciphertext to its context (for federation, the message's
// header), so it cannot be lifted into another message. The result is the
// HPKE encapsulated key (32 bytes) followed by the ciphertext.
func SealTo(pub, info, plaintext []byte) ([]byte, error) {
	pk, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("seal: recipient key: %w", err)
	}
	hpk, err := hpke.NewDHKEMPublicKey(pk)
	if err != nil {
		return nil, fmt.Errorf("seal: recipient key: %w", err)
	}
	out, err := hpke.Seal(hpk, suiteKDF, suiteAEAD, info, plaintext)
	if err != nil {
		return nil, fmt.Errorf("seal: seal message: %w", err)
	}
	return out, nil
}

// PublicKey returns the node's Ed25519 public signing key.
func (id *Identity) PublicKey() ed25519.PublicKey { return id.priv.Public().(ed25519.PublicKey) }

// Sign signs msg with the node's Ed25519 key. Callers domain-separate what
// they sign (federation messages begin with their protocol line), so a
// signature over one kind of thing can never pass for another.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.priv, msg) }
