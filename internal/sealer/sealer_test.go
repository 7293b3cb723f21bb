package sealer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != KeySize {
		t.Fatalf("key file: %v %v", st, err)
	}
	secret := []byte("hunter2-value")
	sealed, err := s.Seal(secret, []byte("arn:a"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the plaintext")
	}
	again, _ := s.Seal(secret, []byte("arn:a"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	// The same key file opens it after a restart.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(sealed, []byte("arn:a")); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s2.Open(sealed, []byte("arn:b")); err != ErrCorrupt {
		t.Fatalf("other aad: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s2.Open(sealed, []byte("arn:a")); err != ErrCorrupt {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := s2.Open([]byte{1, 2}, nil); err != ErrCorrupt {
		t.Fatalf("short: %v", err)
	}
	other, _ := Open(filepath.Join(t.TempDir(), "k"))
	if _, err := other.Open(again, []byte("arn:a")); err != ErrCorrupt {
		t.Fatalf("other key: %v", err)
	}
}

func TestNewKeySize(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key was accepted")
	}
}
