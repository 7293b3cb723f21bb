// Package sealer encrypts values at rest (secrets, parameters, credentials) with AES-256-GCM
// under a key gantry creates on first start and keeps in its data dir.
package sealer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// KeySize is the size of the master key in bytes (AES-256).
const KeySize = 32

// version prefixes every sealed value, so the format can change.
const version byte = 1

// Sealer seals and opens values with one master key. It is safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer over key, which must be KeySize bytes.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealer key: %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Open loads the master key from path, creating it (mode 0600, parents 0700) when it is missing.
func Open(path string) (*Sealer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if key, err = create(path); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("sealer key: %w", err)
	}
	return New(key)
}

func create(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sealer key: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, key, 0o600); err != nil {
		return nil, fmt.Errorf("sealer key: %w", err)
	}
	// Link, not rename: if another process created the key meanwhile, its key wins.
	err := os.Link(tmp, path)
	os.Remove(tmp)
	if errors.Is(err, os.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("sealer key: %w", err)
	}
	return key, nil
}

// Seal encrypts plaintext. aad (additional data, such as the record's ARN) is authenticated
// but not stored: Open must be given the same aad, so a sealed value cannot be moved to
// another record.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return s.aead.Seal(out, out[1:], plaintext, aad), nil
}

// ErrCorrupt is returned for a sealed value that does not open under this key and aad.
var ErrCorrupt = errors.New("sealed value does not open: wrong key, wrong context or corrupt")

// Open decrypts a value Seal produced with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrCorrupt
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}
