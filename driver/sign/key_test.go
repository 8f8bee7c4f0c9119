package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// writeKeyPair writes what `cosign generate-key-pair` writes: the PKCS#8 private key encrypted
// with password (scrypt and secretbox, go-securesystemslib) as PEM of type pemType, and the PEM
// public key.
func writeKeyPair(t *testing.T, priv crypto.Signer, password, pemType string) (keyPath, pubPath string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := encrypted.Encrypt(der, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath, pubPath = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: enc}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyPath, pubPath
}

func TestLoadKeySignsWhatThePublicKeyVerifies(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name     string
		priv     crypto.Signer
		pemType  string
		password string
	}{
		{"ecdsa, sigstore PEM", ec, sigstoreKeyType, "s3cret-pass"},
		{"ecdsa, older cosign PEM", ec, cosignKeyType, "s3cret-pass"},
		{"no password", ec, sigstoreKeyType, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyPath, pubPath := writeKeyPair(t, tc.priv, tc.password, tc.pemType)
			t.Setenv(PasswordEnv, tc.password)
			s, err := LoadKey(keyPath)
			if err != nil {
				t.Fatal(err)
			}
			v, err := LoadPublicKey(pubPath)
			if err != nil {
				t.Fatal(err)
			}
			payload := []byte(`{"critical":{}}`)
			sig, err := s.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(payload, sig); err != nil {
				t.Errorf("the public key does not verify the signature: %v", err)
			}
			if err := v.Verify([]byte(`{"critical":{"x":1}}`), sig); err == nil {
				t.Error("a signature verified over another payload")
			}
			if s.Name() != keyPath {
				t.Errorf("name %q", s.Name())
			}
			if _, set := os.LookupEnv(PasswordEnv); set {
				t.Error("the password is still in the environment: a bake file or a build's secret could read it")
			}
		})
	}
}

// Bad keys and passwords are refused naming the key, never showing the password or the key.
func TestLoadKeyRefusals(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keyPath, pubPath := writeKeyPair(t, ec, "s3cret-pass", sigstoreKeyType)
	pemText, _ := os.ReadFile(keyPath)
	big := filepath.Join(t.TempDir(), "big.key")
	if err := os.WriteFile(big, make([]byte, maxKey+1), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KEY_IN_ENV", string(pemText))
	for _, tc := range []struct {
		name, ref, password string
		unset               bool
		want                string
	}{
		{"wrong password", keyPath, "nope-wrong", false, "wrong password?"},
		{"no password set", keyPath, "", true, "the key needs its password: set COSIGN_PASSWORD"},
		{"a public key", pubPath, "s3cret-pass", false, "not a cosign private key"},
		{"missing", keyPath + ".nope", "s3cret-pass", false, "no such file"},
		{"huge", big, "s3cret-pass", false, "more than"},
		{"kms", "awskms:///alias/x", "s3cret-pass", false, "KMS and keyless signing are not"},
		{"env unset", "env://NO_SUCH_KEY_VAR", "s3cret-pass", false, `no environment variable "NO_SUCH_KEY_VAR"`},
		{"env wrong password", "env://KEY_IN_ENV", "nope-wrong", false, "wrong password?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, tc.password)
			if tc.unset {
				os.Unsetenv(PasswordEnv)
			}
			_, err := LoadKey(tc.ref)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.ref) {
				t.Fatalf("err = %v, want %q naming %s", err, tc.want, tc.ref)
			}
			for _, secret := range []string{"s3cret-pass", "nope-wrong", string(pemText[40:80])} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
	t.Setenv(PasswordEnv, "s3cret-pass")
	t.Setenv("KEY_IN_ENV", string(pemText))
	if _, err := LoadKey("env://KEY_IN_ENV"); err != nil {
		t.Errorf("env://: %v", err)
	}
	if _, set := os.LookupEnv("KEY_IN_ENV"); set {
		t.Error("the key is still in the environment after env:// was read")
	}
}

// Only ECDSA P-256 keys (cosign generate-key-pair's): another curve or Ed25519 would sign what
// cosign verify --key and verify do not verify the same way.
func TestLoadKeyRefusesOtherKeyTypes(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for want, priv := range map[string]crypto.Signer{"ECDSA P-384": p384, "Ed25519": ed} {
		keyPath, _ := writeKeyPair(t, priv, "pw", sigstoreKeyType)
		t.Setenv(PasswordEnv, "pw")
		if _, err := LoadKey(keyPath); err == nil || !strings.Contains(err.Error(), "a "+want+" key; only ECDSA P-256") {
			t.Errorf("%s: %v", want, err)
		}
	}
}
