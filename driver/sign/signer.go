package sign

import (
	"bytes"

	"github.com/sigstore/sigstore/pkg/signature"
)

type keySigner struct {
	sv   signature.SignerVerifier
	name string
}

func (k *keySigner) Sign(payload []byte) ([]byte, error) {
	return k.sv.SignMessage(bytes.NewReader(payload))
}

func (k *keySigner) Verify(payload, sig []byte) error {
	return k.sv.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload))
}

func (k *keySigner) Name() string { return k.name }

type keyVerifier struct {
	v    signature.Verifier
	name string
}

func (k *keyVerifier) Verify(payload, sig []byte) error {
	return k.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload))
}

func (k *keyVerifier) Name() string { return k.name }
