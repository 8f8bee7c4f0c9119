package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// sigLayers reads the layers of the signature tag of repo@d straight from the fake.
func (f *fakeRegistry) sigLayers(repo string, d digest.Digest) []ocispec.Descriptor {
	f.t.Helper()
	td := f.TagDigest(repo, SignatureTag(d))
	if td == "" {
		return nil
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(f.Manifest(repo, td), &m); err != nil {
		f.t.Fatal(err)
	}
	return m.Layers
}

// putSigTag writes a signature image with the given layers to repo's signature tag of d,
// bypassing the fake's blob checks (a layer whose blob is gone, as after a registry GC).
func (f *fakeRegistry) putSigTag(repo string, d digest.Digest, layers []ocispec.Descriptor) {
	f.t.Helper()
	cfg := f.PutBlob(repo, []byte(`{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}`))
	cfg.MediaType = ocispec.MediaTypeImageConfig
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: layers}
	m.SchemaVersion = 2
	dt, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	f.PutManifest(repo, SignatureTag(d), ocispec.MediaTypeImageManifest, dt)
}

// An unreadable foreign layer (blob gone, or announced over 64 KiB) before a valid signature
// hides nothing: the valid one verifies (as cosign passes over a bad signature), and signing that
// digest again still works (the unreadable layer is dropped, not named again).
func TestHostileSigUnreadableLayerHidesNoValidSignature(t *testing.T) {
	for _, tc := range []struct {
		name  string
		layer ocispec.Descriptor
	}{
		{"blob missing", ocispec.Descriptor{MediaType: SimpleSigningMediaType, Digest: digest.FromString("gone"), Size: 4,
			Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString([]byte("x"))}}},
		{"announced 1 MiB", ocispec.Descriptor{MediaType: SimpleSigningMediaType, Digest: digest.FromString("big"), Size: 1 << 20,
			Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString([]byte("x"))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			c := newTestClient(t, 5*time.Second)
			key := newTestKey(t)
			img := f.SeedImage("app", "", "linux/amd64")
			repo := f.Host + "/app"
			if _, err := c.WithSigner(key).signOne(context.Background(), repo, img, false); err != nil {
				t.Fatal(err)
			}
			valid := f.sigLayers("app", img.Digest)
			f.putSigTag("app", img.Digest, append([]ocispec.Descriptor{tc.layer}, valid...))
			st, err := c.signatures(context.Background(), repo, img.Digest, key, "")
			if err != nil || !st.Valid {
				t.Errorf("a valid signature by the key is in the tag, yet: state %+v, err %v", st, err)
			}
			// and a publish of this digest can never succeed again
			if _, err := c.WithSigner(key).signOne(context.Background(), repo, img, false); err != nil {
				t.Errorf("re-signing: %v", err)
			}
		})
	}
}

// Signing the same digest again with the same (ECDSA) key adds nothing, as cosign's duplicate
// check: a signature by this key over the same payload is there (ECDSA signatures differ each
// time, so comparing their bytes would append a layer on every publish).
func TestHostileSigResigningGrowsTheSignatureTag(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	key := newTestKey(t)
	img := f.SeedImage("app", "", "linux/amd64")
	repo := f.Host + "/app"
	const n = 20
	for range n {
		if _, err := c.WithSigner(key).signOne(context.Background(), repo, img, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(f.sigLayers("app", img.Digest)); got != 1 {
		t.Errorf("%d publishes of one digest with one key left %d signature layers (cosign: 1)", n, got)
	}
	before := len(f.Requests("GET", "/blobs/"))
	if _, err := c.WithSigner(newTestKey(t)).signOne(context.Background(), repo, img, false); err != nil {
		t.Fatal(err)
	}
	// Another key's signature: the one layer there is read once (is its payload still served?),
	// and the read-back reads the new payload first.
	if got := len(f.Requests("GET", "/blobs/")) - before; got > 3 {
		t.Errorf("one more signature fetched %d blobs", got)
	}
}

// verify of a single image honours --platform: a linux/amd64 image fails --platform linux/arm64.
func TestHostileSigVerifySingleManifestHonoursPlatform(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	key := newTestKey(t)
	img := f.SeedImage("app", "v1", "linux/amd64")
	repo := f.Host + "/app"
	if _, err := c.WithSigner(key).signOne(context.Background(), repo, img, false); err != nil {
		t.Fatal(err)
	}
	vs, err := c.VerifyImage(context.Background(), VerifyOptions{Ref: f.Ref("app", "v1"), Key: key, Platforms: []string{"linux/arm64"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ok := true
	for _, v := range vs {
		ok = ok && v.OK()
	}
	if ok {
		t.Errorf("verify --platform linux/arm64 of a linux/amd64 image passed: %+v", vs)
	}
}

// A signed index with no image fails verify: there is no platform to check.
func TestHostileSigVerifyEmptyIndexFails(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	key := newTestKey(t)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	dt, _ := json.Marshal(idx)
	d := f.PutManifest("app", "v1", ocispec.MediaTypeImageIndex, dt)
	if _, err := c.WithSigner(key).signOne(context.Background(), f.Host+"/app", d, false); err != nil {
		t.Fatal(err)
	}
	vs, err := c.VerifyImage(context.Background(), VerifyOptions{Ref: f.Ref("app", "v1"), Key: key, Require: []string{RequireProvenance}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 1 && vs[0].OK() {
		t.Errorf("an index without any image verified with --require provenance: %+v", vs)
	}
}

// The error for a payload over the 64 KiB cap names the cap as it is.
func TestHostileSigPayloadCapMessage(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	key := newTestKey(t)
	img := f.SeedImage("app", "", "linux/amd64")
	f.putSigTag("app", img.Digest, []ocispec.Descriptor{{MediaType: SimpleSigningMediaType, Digest: digest.FromString("big"), Size: 1 << 20,
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString([]byte("x"))}}})
	_, err := c.signatures(context.Background(), f.Host+"/app", img.Digest, key, "")
	if err != nil && strings.Contains(err.Error(), "0 MiB") {
		t.Errorf("the cap is named wrongly: %v", err)
	}
}
