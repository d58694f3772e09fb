// Package secretbox encrypts taxflow's secrets at rest (provider API keys, webhook signing
// secrets) with AES-256-GCM under TAXFLOW_SECRET_KEY. It owns the sealed format and the
// keyring; it never logs or returns a plaintext except to the caller of Open.
//
// Sealed format: "<key id>$<base64(nonce || ciphertext)>". The key id lets old secrets open
// after the key is rotated (the first key of the ring seals, every key opens). The caller
// passes associated data naming where the secret lives (e.g. "stripe_accounts/acct_1/api_key"),
// so a sealed value copied into another row or column does not open.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/taxflow/taxflow/internal/config"
)

// Keyring seals with its first key and opens with any of them.
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// New builds a keyring from parsed keys; the first key seals.
func New(keys []config.SecretKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secretbox: no keys")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for _, key := range keys {
		if strings.Contains(key.ID, "$") {
			return nil, fmt.Errorf("secretbox: key id %q must not contain '$'", key.ID)
		}
		block, err := aes.NewCipher(key.Key)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", key.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secretbox: key %q: %w", key.ID, err)
		}
		k.ids = append(k.ids, key.ID)
		k.aeads[key.ID] = aead
	}
	return k, nil
}

// FromEnv parses a TAXFLOW_SECRET_KEY value into a keyring.
func FromEnv(value string) (*Keyring, error) {
	keys, err := config.ParseSecretKeys(value)
	if err != nil {
		return nil, fmt.Errorf("TAXFLOW_SECRET_KEY: %w", err)
	}
	return New(keys)
}

// Seal encrypts plaintext bound to where (associated data).
func (k *Keyring) Seal(plaintext, where string) (string, error) {
	id := k.ids[0]
	aead := k.aeads[id]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secretbox: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, []byte(plaintext), []byte(where))
	return id + "$" + base64.StdEncoding.EncodeToString(sealed), nil
}

// ErrCannotOpen means the sealed value was tampered with, moved, or sealed under a key that
// is no longer in TAXFLOW_SECRET_KEY.
var ErrCannotOpen = errors.New("secretbox: cannot open secret (wrong key, moved or tampered)")

// Open decrypts a value sealed for where.
func (k *Keyring) Open(sealed, where string) (string, error) {
	id, b64, ok := strings.Cut(sealed, "$")
	if !ok {
		return "", ErrCannotOpen
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: key id %q is not in TAXFLOW_SECRET_KEY", ErrCannotOpen, id)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", ErrCannotOpen
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(where))
	if err != nil {
		return "", ErrCannotOpen
	}
	return string(plain), nil
}
