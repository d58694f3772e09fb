package secretbox

import (
	"bytes"
	"strings"
	"testing"

	"github.com/taxflow/taxflow/internal/config"
)

func key(id string, b byte) config.SecretKey {
	return config.SecretKey{ID: id, Key: bytes.Repeat([]byte{b}, 32)}
}

func TestSealedSecretOpensOnlyWhereItWasSealed(t *testing.T) {
	k, err := New([]config.SecretKey{key("k1", 1)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal("sk_test_secret", "stripe_accounts/a/api_key")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "sk_test_secret") {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := k.Open(sealed, "stripe_accounts/a/api_key"); err != nil || got != "sk_test_secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := k.Open(sealed, "stripe_accounts/b/api_key"); err == nil {
		t.Fatal("a secret moved to another row opened")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := k.Open(tampered, "stripe_accounts/a/api_key"); err == nil {
		t.Fatal("a tampered secret opened")
	}
}

func TestRotationOpensOldSecretsAndSealsWithTheNewKey(t *testing.T) {
	old, _ := New([]config.SecretKey{key("old", 1)})
	sealed, _ := old.Seal("v", "w")
	rotated, _ := New([]config.SecretKey{key("new", 2), key("old", 1)})
	if got, err := rotated.Open(sealed, "w"); err != nil || got != "v" {
		t.Fatalf("old secret after rotation: %q %v", got, err)
	}
	resealed, _ := rotated.Seal("v", "w")
	if !strings.HasPrefix(resealed, "new$") {
		t.Fatalf("sealed with %q, want the new key", resealed)
	}
	if _, err := old.Open(resealed, "w"); err == nil {
		t.Fatal("a keyring without the new key opened its secret")
	}
}
