package token

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateMasterKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "grantd.key")

	if _, err := LoadOrCreateMasterKey(path, false); err == nil {
		t.Fatal("missing file with create=false: want an error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("create=false made the file: %v", err)
	}

	key, err := LoadOrCreateMasterKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != MasterKeySize {
		t.Fatalf("len(key) = %d, want %d", len(key), MasterKeySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if got := strings.TrimSpace(string(b)); got != base64.StdEncoding.EncodeToString(key) {
		t.Errorf("file holds %q, want the base64 of the key", got)
	}

	for _, create := range []bool{true, false} {
		again, err := LoadOrCreateMasterKey(path, create)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, key) {
			t.Errorf("create=%v: an existing key was replaced", create)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir has %d entries, want only the key file", len(entries))
	}
}

// A server and a CLI command started together on a new SQLite database
// both create the key: they must end up with the same one.
func TestCreateMasterKeyRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "grantd.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateMasterKey(path, true)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("racing creators got different keys")
		}
	}
}

func TestLoadMasterKeyBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
	}{
		{"empty", ""},
		{"not base64", "not base64 at all!\n"},
		{"16 bytes", base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"33 bytes", base64.StdEncoding.EncodeToString(make([]byte, 33))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadOrCreateMasterKey(path, true); err == nil {
				t.Fatal("want an error")
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Error("a bad key file was overwritten")
			}
		})
	}

	// Modes are not checked: a key mounted by a secret manager may be
	// world-readable inside its container.
	path := filepath.Join(t.TempDir(), "key")
	want := bytes.Repeat([]byte{7}, MasterKeySize)
	os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(want)+"\r\n"), 0o644)
	got, err := LoadOrCreateMasterKey(path, false)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("LoadOrCreateMasterKey = %x, %v; want %x", got, err, want)
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	master := bytes.Repeat([]byte{1}, MasterKeySize)
	other := bytes.Repeat([]byte{2}, MasterKeySize)
	plain := []byte("private key DER")
	aad := []byte("kid-1")

	sealed, err := Seal(master, plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Error("sealed data contains the plaintext")
	}
	again, _ := Seal(master, plain, aad)
	if bytes.Equal(sealed, again) {
		t.Error("two seals are equal: the nonce is not random")
	}
	got, err := Open(master, sealed, aad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want %q", got, err, plain)
	}

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name         string
		master, data []byte
		aad          []byte
	}{
		{"wrong master key", other, sealed, aad},
		{"wrong aad", master, sealed, []byte("kid-2")},
		{"tampered", master, tampered, aad},
		{"truncated", master, sealed[:10], aad},
		{"empty", master, nil, aad},
		{"short master key", master[:16], sealed, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(tt.master, tt.data, tt.aad); err == nil {
				t.Error("Open succeeded")
			}
		})
	}
	if _, err := Seal(master[:16], plain, aad); err == nil {
		t.Error("Seal with a 16-byte master key succeeded")
	}
}
