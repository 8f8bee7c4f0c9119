package registry

import (
	"strings"
	"testing"
	"time"
)

// What a registry or a Docker config holds, parsed: a signature tag's manifest and a stored
// token. Neither panics; what they accept is what they promise.
func FuzzSignatureManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{"mediaType":"` + SimpleSigningMediaType + `","digest":"sha256:` + strings.Repeat("a", 64) + `","size":3}]}`))
	f.Add([]byte(`{"layers":[]}`))
	f.Add([]byte(`{"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json"}]}`))
	f.Fuzz(func(t *testing.T, dt []byte) {
		m, err := signatureManifest(dt)
		if err != nil {
			return
		}
		if len(m.Layers) == 0 {
			t.Fatal("accepted a signature image without signatures")
		}
		for _, l := range m.Layers {
			if l.MediaType != SimpleSigningMediaType {
				t.Fatalf("accepted a layer of type %q", l.MediaType)
			}
		}
	})
}

func FuzzTokenExpiry(f *testing.F) {
	f.Add(jwtWithExp(1800000000))
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjE3OTY2MTIzNDl9.")
	f.Add("a.b.c")
	f.Add("hunter2")
	f.Fuzz(func(t *testing.T, tok string) {
		at, ok := tokenExpiry(tok)
		if !ok {
			return
		}
		if strings.Count(tok, ".") != 2 || len(tok) > maxToken {
			t.Fatalf("an expiry %v read from %q, which is no JWT", at, tok)
		}
		_ = at.Add(time.Second)
	})
}
