package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// testKey signs as cosign does with an ECDSA key: ASN.1 over the payload's SHA-256.
type testKey struct{ k *ecdsa.PrivateKey }

func newTestKey(t *testing.T) *testKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{k}
}

func (k *testKey) Sign(p []byte) ([]byte, error) {
	h := sha256.Sum256(p)
	return ecdsa.SignASN1(rand.Reader, k.k, h[:])
}

func (k *testKey) Verify(p, sig []byte) error {
	h := sha256.Sum256(p)
	if !ecdsa.VerifyASN1(&k.k.PublicKey, h[:], sig) {
		return errors.New("invalid signature")
	}
	return nil
}

func (k *testKey) Name() string { return "test.key" }

// signedBy reads the signature tag of repo@d straight from the fake and says whether one of its
// layers is a payload naming d whose signature k verifies.
func (f *fakeRegistry) signedBy(repo string, d digest.Digest, k *testKey) bool {
	f.t.Helper()
	td := f.TagDigest(repo, SignatureTag(d))
	if td == "" {
		return false
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(f.Manifest(repo, td), &m); err != nil {
		f.t.Fatal(err)
	}
	for _, l := range m.Layers {
		sig, _ := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
		pl, _ := f.Blob(repo, l.Digest)
		var p payload.SimpleContainerImage
		if l.MediaType == SimpleSigningMediaType && json.Unmarshal(pl, &p) == nil && p.Critical.Image.DockerManifestDigest == d.String() &&
			p.Critical.Type == payload.CosignSignatureType && k.Verify(pl, sig) == nil {
			return true
		}
	}
	return false
}

// Issue 21: a publish with a key signs the index and every manifest it names, in cosign's
// layout, before any tag moves; signatures already there (another key's) are kept.
func TestPublishSignsEveryManifestBeforeTheTags(t *testing.T) {
	f := newFakeRegistry(t)
	key, other := newTestKey(t), newTestKey(t)
	c := newTestClient(t, 5*time.Second)
	amd64 := f.seedAttested("app", "linux/amd64")
	arm64 := f.SeedImage("app", "", "linux/arm64")
	arm64.Platform = nil
	repo := f.Host + "/app"
	// Another key signed the arm64 image already.
	if _, err := c.WithSigner(other).signOne(context.Background(), repo, arm64, false); err != nil {
		t.Fatal(err)
	}
	var tagMovedBeforeSigned bool
	f.SetHook(func(r *fakeReq) action {
		if r.Method == http.MethodPut && r.IsTag() && !strings.HasSuffix(r.Ref, ".sig") && !f.signedBy("app", arm64.Digest, key) {
			tagMovedBeforeSigned = true
		}
		return action{}
	})
	pub, err := c.WithSigner(key).PublishBuild(context.Background(), repo, []ocispec.Descriptor{amd64, arm64}, []string{"linux/amd64", "linux/arm64"},
		[]string{f.Ref("app", "v1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tagMovedBeforeSigned {
		t.Error("a tag moved before every manifest was signed")
	}
	var idx ocispec.Index
	if err := json.Unmarshal(f.Manifest("app", pub.Index.Digest), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 3 { // two images and amd64's attestation manifest
		t.Fatalf("index of %d manifests", len(idx.Manifests))
	}
	for _, d := range append([]ocispec.Descriptor{pub.Index}, idx.Manifests...) {
		if !f.signedBy("app", d.Digest, key) {
			t.Errorf("%s is not signed by the key", d.Digest)
		}
	}
	if !f.signedBy("app", arm64.Digest, other) {
		t.Error("the other key's signature of arm64 was dropped")
	}
	// Verified with another key: the signature tag is there, but not by that key.
	st, err := c.signatures(context.Background(), repo, pub.Index.Digest, newTestKey(t), "")
	if err != nil || st.Valid || st.Problem != "no signature by this key" {
		t.Errorf("with a stranger's key: %+v, %v", st, err)
	}
}

// A signature that cannot be written, or a signature tag that holds something else, moves no
// tag, and the error names the manifest and the key.
func TestPublishWithAFailedSignatureMovesNoTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(f *fakeRegistry, d digest.Digest)
		hook func(r *fakeReq) action
		want string
	}{
		{"signature tag refused", nil, func(r *fakeReq) action {
			if r.Method == http.MethodPut && strings.HasSuffix(r.Ref, ".sig") {
				return action{Status: http.StatusForbidden}
			}
			return action{}
		}, "signing "},
		{"signature tag holds an image", func(f *fakeRegistry, d digest.Digest) {
			img := f.SeedImage("app", "", "linux/amd64")
			f.SetTag("app", SignatureTag(d), img.Digest)
		}, nil, "is not a cosign signature (left as it is)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			c := newTestClient(t, 5*time.Second)
			img := f.SeedImage("app", "", "linux/amd64")
			img.Platform = nil
			if tc.prep != nil {
				tc.prep(f, img.Digest)
			}
			if tc.hook != nil {
				f.SetHook(tc.hook)
			}
			_, err := c.WithSigner(newTestKey(t)).PublishBuild(context.Background(), f.Host+"/app", []ocispec.Descriptor{img}, []string{"linux/amd64"},
				[]string{f.Ref("app", "v1")}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.key") || !strings.Contains(err.Error(), "no tag written") {
				t.Errorf("err = %v", err)
			}
			f.wantTags(t, "app", map[string]digest.Digest{"v1": ""})
		})
	}
}

// Another publisher rewrites a signature tag after this publish read its signature back and
// before the first tag moves (dropping this key's signature): the signatures are read again just
// before the tags move, so no tag moves and the error names the manifest.
func TestPublishRechecksSignaturesBeforeTheTagsMove(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	img := f.SeedImage("app", "", "linux/amd64")
	img.Platform = nil
	var mu sync.Mutex
	gets := map[string]int{}
	emptied := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig,
		Digest: digest.FromString("{}"), Size: 2}, Layers: []ocispec.Descriptor{}}
	emptied.SchemaVersion = 2
	body, _ := json.Marshal(emptied)
	f.PutManifest("app", "", ocispec.MediaTypeImageManifest, body) // what the rewritten tags point at
	f.SetHook(func(r *fakeReq) action {
		if r.Kind != "manifest" || !strings.HasSuffix(r.Ref, ".sig") {
			return action{}
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodPut:
			gets[r.Ref] = 1 // written: the next read is this publish's read-back
			return action{}
		case r.Method != http.MethodHead && r.Method != http.MethodGet:
			return action{}
		case gets[r.Ref] == 1 && r.Method == http.MethodHead:
			gets[r.Ref] = 2
			return action{}
		case gets[r.Ref] < 2:
			return action{}
		}
		return action{Serve: func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			if req.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
		}}
	})
	_, err := c.WithSigner(newTestKey(t)).PublishBuild(context.Background(), f.Host+"/app", []ocispec.Descriptor{img}, []string{"linux/amd64"},
		[]string{f.Ref("app", "v1")}, nil)
	if err == nil || !strings.Contains(err.Error(), "was gone before the tags moved") || !strings.Contains(err.Error(), ".sig") {
		t.Fatalf("a signature rewritten before the tags moved: %v", err)
	}
	f.wantTags(t, "app", map[string]digest.Digest{"v1": ""})
}
