package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the length of the master key: AES-256.
const MasterKeySize = 32

// LoadOrCreateMasterKey reads the master key that seals signing keys at
// rest: 32 random bytes, standard base64 in a text file (so `openssl rand
// -base64 32 > FILE` makes a valid one). When the file is missing it is
// created with mode 0600 if create is true, and is an error otherwise:
// nodes that share a PostgreSQL database must share one key, so only the
// single-node SQLite setup may invent its own.
//
// The file's permissions are not checked when reading: a key provided by a
// secret manager (a mounted volume, say) often has modes we do not control.
func LoadOrCreateMasterKey(path string, create bool) ([]byte, error) {
	key, err := readMasterKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if !create {
		return nil, fmt.Errorf("token: master key file %s does not exist", path)
	}

	key = make([]byte, MasterKeySize)
	rand.Read(key) // never fails since Go 1.24
	// Write a temporary file and hard-link it into place: readers never see
	// a half-written key, and if another process (a CLI command started
	// with the server) created the file first, we adopt its key instead of
	// overwriting it and orphaning the private keys it already sealed.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".grantd-master-*")
	if err != nil {
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readMasterKey(path)
		}
		return nil, fmt.Errorf("token: create master key: %w", err)
	}
	return key, nil
}

func readMasterKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("token: read master key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("token: master key file %s is not base64", path)
	}
	if len(key) != MasterKeySize {
		return nil, fmt.Errorf("token: master key in %s has %d bytes, want %d", path, len(key), MasterKeySize)
	}
	return key, nil
}

// Seal encrypts plaintext with AES-256-GCM under the master key. The
// random nonce is prefixed to the result. aad is authenticated but not
// stored: the keyring passes the key id, so a sealed private key copied
// onto another key's row does not open.
func Seal(master, plaintext, aad []byte) ([]byte, error) {
	aead, err := masterAEAD(master)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, plaintext, aad), nil
}

// Open reverses Seal. It fails when the master key, the aad or a single
// byte of sealed differs.
func Open(master, sealed, aad []byte) ([]byte, error) {
	aead, err := masterAEAD(master)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, nil, sealed, aad)
	if err != nil {
		return nil, errors.New("token: cannot open sealed data: wrong master key or corrupted data")
	}
	return plain, nil
}

func masterAEAD(master []byte) (cipher.AEAD, error) {
	// aes.NewCipher would also accept 16 and 24 bytes; a truncated key
	// must fail loudly rather than silently downgrade to AES-128.
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("token: master key has %d bytes, want %d", len(master), MasterKeySize)
	}
	block, err := aes.NewCipher(master)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}
