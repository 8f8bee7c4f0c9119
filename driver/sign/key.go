// Package sign is what signs and verifies in cosign's formats: a private key as `cosign
// generate-key-pair` writes it (a file, or env://VAR holding it; its password from
// COSIGN_PASSWORD, as cosign reads it) and a public key to verify with. Keys are held as
// sigstore's signers; nothing here prints or keeps a key or its password.
package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// PasswordEnv is where the private key's password is read from, as cosign reads it.
const PasswordEnv = "COSIGN_PASSWORD"

// maxKey caps a key file.
const maxKey = 64 << 10

// The PEM types of cosign's private keys (cosign's pkg/cosign/keys.go).
const (
	cosignKeyType   = "ENCRYPTED COSIGN PRIVATE KEY"
	sigstoreKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY"
)

// Signer signs payloads with one key and checks signatures made with it.
type Signer interface {
	Sign(payload []byte) ([]byte, error)
	Verifier
}

// Verifier checks a signature over a payload.
type Verifier interface {
	Verify(payload, sig []byte) error
	// Name says which key this is, for messages: the file or env://VAR it came from.
	Name() string
}

// LoadKey reads a cosign private key from ref (a file or env://VAR), decrypted with the password
// in COSIGN_PASSWORD (none set: an empty one, as cosign generate-key-pair allows). Once read, the
// password and an env:// key are removed from this process's environment: nothing started later
// (buildx's reading of a bake file, a build's env secrets) can read them. Only ECDSA P-256 keys,
// what cosign generate-key-pair makes, are taken: they verify the same way everywhere.
func LoadKey(ref string) (Signer, error) {
	raw, err := readRef(ref)
	defer forgetSecrets(ref)
	if err != nil {
		return nil, err
	}
	p, _ := pem.Decode(raw)
	if p == nil || (p.Type != cosignKeyType && p.Type != sigstoreKeyType) {
		return nil, fmt.Errorf("--sign-key %s: not a cosign private key (a PEM block %q or %q, as cosign generate-key-pair writes)", ref, sigstoreKeyType, cosignKeyType)
	}
	password, set := os.LookupEnv(PasswordEnv)
	der, err := encrypted.Decrypt(p.Bytes, []byte(password))
	if err != nil {
		if !set {
			return nil, fmt.Errorf("--sign-key %s: the key needs its password: set %s", ref, PasswordEnv)
		}
		return nil, fmt.Errorf("--sign-key %s: cannot decrypt the key with the password in %s (wrong password?)", ref, PasswordEnv)
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("--sign-key %s: the decrypted key: %w", ref, err)
	}
	ec, ok := pk.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("--sign-key %s: a %s key; only ECDSA P-256 keys (cosign generate-key-pair's) are supported", ref, keyKind(pk))
	}
	sv, err := signature.LoadECDSASignerVerifier(ec, crypto.SHA256) // as cosign signs with it
	if err != nil {
		return nil, fmt.Errorf("--sign-key %s: %w", ref, err)
	}
	return &keySigner{sv: sv, name: ref}, nil
}

// keyKind names a private key's type for a message.
func keyKind(pk any) string {
	switch k := pk.(type) {
	case *ecdsa.PrivateKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PrivateKey:
		return "Ed25519"
	case *rsa.PrivateKey:
		return "RSA"
	}
	return fmt.Sprintf("%T", pk)
}

// forgetSecrets removes the key's password, and a key given as env://VAR, from the environment.
func forgetSecrets(ref string) {
	_ = os.Unsetenv(PasswordEnv)
	if v, ok := strings.CutPrefix(ref, "env://"); ok && v != "" {
		_ = os.Unsetenv(v)
	}
}

// LoadPublicKey reads a PEM public key (cosign.pub) from ref (a file or env://VAR).
func LoadPublicKey(ref string) (Verifier, error) {
	raw, err := readRef(ref)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("--key %s: not a PEM public key: %w", ref, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256) // as cosign verify --key loads it
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", ref, err)
	}
	return &keyVerifier{v: v, name: ref}, nil
}

// readRef reads a key from a file or from env://VAR, at most maxKey.
func readRef(ref string) ([]byte, error) {
	if v, ok := strings.CutPrefix(ref, "env://"); ok {
		val, found := os.LookupEnv(v)
		if v == "" || !found {
			return nil, fmt.Errorf("key %s: no environment variable %q", ref, v)
		}
		if len(val) > maxKey {
			return nil, fmt.Errorf("key %s: over %s", ref, bounded.Size(maxKey))
		}
		return []byte(val), nil
	}
	if strings.Contains(ref, "://") {
		return nil, fmt.Errorf("key %s: only a file or env://VAR is supported (KMS and keyless signing are not: see docs/signing.md)", ref)
	}
	raw, err := bounded.ReadFile(ref, maxKey)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", ref, err)
	}
	return raw, nil
}
