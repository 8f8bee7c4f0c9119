package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// sigReferrers are the manifests of repo whose subject is d, by digest, read straight from the
// fake.
func (f *fakeRegistry) sigReferrers(repo string, d digest.Digest) map[digest.Digest]ocispec.Manifest {
	f.t.Helper()
	out := map[digest.Digest]ocispec.Manifest{}
	for _, r := range f.Requests(http.MethodPut, "/"+repo+"/manifests/sha256:") {
		ref := digest.Digest(r[strings.LastIndex(r, "/")+1:])
		var m ocispec.Manifest
		if json.Unmarshal(f.Manifest(repo, ref), &m) == nil && m.Subject != nil && m.Subject.Digest == d {
			out[ref] = m
		}
	}
	return out
}

// signedManifests are what a publish signs: its index, then every manifest the index names.
func (f *fakeRegistry) signedManifests(pub Publication) []ocispec.Descriptor {
	f.t.Helper()
	var idx ocispec.Index
	if err := json.Unmarshal(f.Manifest("app", pub.Index.Digest), &idx); err != nil {
		f.t.Fatal(err)
	}
	return append([]ocispec.Descriptor{pub.Index}, idx.Manifests...)
}

// publishedWithReferrers is a fake registry serving the referrers API, a client, a key, and an
// attested linux/amd64 image published to app:v1 signed by the key.
func publishedWithReferrers(t *testing.T) (*fakeRegistry, *Client, *testKey, ocispec.Descriptor, Publication) {
	f := newFakeRegistry(t)
	f.SetReferrers(true)
	key := newTestKey(t)
	c := newTestClient(t, 5*time.Second)
	amd64 := f.seedAttested("app", "linux/amd64")
	return f, c, key, amd64, f.publishSigned(c, key, amd64, "v1")
}

func (f *fakeRegistry) publishSigned(c *Client, key *testKey, amd64 ocispec.Descriptor, tag string) Publication {
	f.t.Helper()
	pub, err := c.WithSigner(key).PublishBuild(context.Background(), f.Host+"/app", []ocispec.Descriptor{amd64}, []string{"linux/amd64"},
		[]string{f.Ref("app", tag)}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return pub
}

// Issue 21: where the registry serves the referrers API, every manifest's signature is a
// referrer too, in cosign's OCI 1.1 layout, and the publish says so; where it does not, no
// referrer is written and the publish says none.
func TestPublishSignsAsReferrersWhereServed(t *testing.T) {
	for _, served := range []bool{true, false} {
		f := newFakeRegistry(t)
		f.SetReferrers(served)
		key := newTestKey(t)
		c := newTestClient(t, 5*time.Second)
		pub := f.publishSigned(c, key, f.seedAttested("app", "linux/amd64"), "v1")
		if got := len(pub.Signed.Referrers) == 1 && pub.Signed.Referrers[0] == f.Host+"/app"; got != served {
			t.Fatalf("served %v: Signed.Referrers %v", served, pub.Signed.Referrers)
		}
		for _, d := range f.signedManifests(pub) {
			if !f.signedBy("app", d.Digest, key) {
				t.Errorf("%s: not signed in the tag layout", d.Digest)
			}
			refs := f.sigReferrers("app", d.Digest)
			if !served {
				if len(refs) != 0 {
					t.Errorf("%d referrers written to a registry that serves no referrers API", len(refs))
				}
				continue
			}
			if len(refs) != 1 {
				t.Fatalf("%s: %d signature referrers", d.Digest, len(refs))
			}
			for _, m := range refs { // the one
				if m.ArtifactType != CosignSignatureArtifactType || m.Config.MediaType != CosignSignatureArtifactType ||
					m.Subject.MediaType != d.MediaType || m.Subject.Size != d.Size || len(m.Layers) != 1 || m.Layers[0].MediaType != SimpleSigningMediaType {
					t.Errorf("%s: referrer %+v", d.Digest, m)
				}
			}
			st, _, err := c.referrerSignatures(context.Background(), f.Host+"/app", d.Digest, key, "")
			if err != nil || !st.Valid {
				t.Errorf("%s: the referrer does not verify: %+v %v", d.Digest, st, err)
			}
		}
	}
}

// The same image published again with the same key adds no referrer (ECDSA signatures differ
// each time: without the check every publish would add one); another key adds its own.
func TestReferrerSignaturesDoNotGrow(t *testing.T) {
	f, c, key, amd64, pub := publishedWithReferrers(t)
	if again := f.publishSigned(c, key, amd64, "v2"); again.Index.Digest != pub.Index.Digest {
		t.Fatalf("the same image published again: index %s, then %s", pub.Index.Digest, again.Index.Digest)
	}
	if n := len(f.sigReferrers("app", pub.Index.Digest)); n != 1 {
		t.Errorf("after a second publish by the same key: %d referrers", n)
	}
	f.publishSigned(c, newTestKey(t), amd64, "v3")
	if n := len(f.sigReferrers("app", pub.Index.Digest)); n != 2 {
		t.Errorf("after another key's publish: %d referrers", n)
	}
}

// A registry whose referrers API fails (500), or answers too much, stops the publish before any
// tag moves, naming the repository; one that answers something that is not an index (a front
// page) is a registry without the API.
func TestReferrersAnswersThatStopOrSkip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(w http.ResponseWriter, r *http.Request)
		want  string // the error; "": the publish goes on without referrers
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, "500 Internal Server Error"},
		{"huge", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			_, _ = w.Write([]byte(`{"manifests":[` + strings.Repeat(" ", MaxManifestSize) + `]}`))
		}, "larger than"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			_, _ = w.Write([]byte("{sha256:"))
		}, "not an image index"},
		{"a front page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>welcome</html>"))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			f.SetReferrers(true)
			f.SetHook(func(r *fakeReq) action {
				if r.Kind == "referrers" {
					return action{Serve: tc.serve}
				}
				return action{}
			})
			c := newTestClient(t, 5*time.Second)
			amd64 := f.seedAttested("app", "linux/amd64")
			pub, err := c.WithSigner(newTestKey(t)).PublishBuild(context.Background(), f.Host+"/app", []ocispec.Descriptor{amd64},
				[]string{"linux/amd64"}, []string{f.Ref("app", "v1")}, nil)
			if tc.want == "" {
				if err != nil || len(pub.Signed.Referrers) != 0 {
					t.Fatalf("published %+v, %v", pub.Signed, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "app/referrers/sha256:") {
				t.Fatalf("error %v, want one naming the referrers call and %q", err, tc.want)
			}
			f.wantTags(t, "app", map[string]digest.Digest{"v1": ""})
		})
	}
}

// verify finds a signature that is only a referrer (the signature tags gone), and names what
// it found for a key that did not sign; a referrer whose subject is another manifest does not
// count, whatever the list says.
func TestVerifyReadsReferrers(t *testing.T) {
	f, c, key, amd64, pub := publishedWithReferrers(t)
	for _, d := range f.signedManifests(pub) {
		if err := c.deleteTag(context.Background(), mustLocation(t, f.Ref("app", SignatureTag(d.Digest)))); err != nil {
			t.Fatal(err)
		}
	}
	verdicts, err := c.VerifyImage(context.Background(), VerifyOptions{Ref: f.Ref("app", "v1"), Key: key}) // the attestation manifest's signature checked too
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range verdicts {
		if !v.OK() || !v.Signed {
			t.Errorf("with the signature tags gone, %s: %+v", v.Platform, v)
		}
	}
	verdicts, err = c.VerifyImage(context.Background(), VerifyOptions{Ref: f.Ref("app", "v1"), Key: newTestKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdicts[0]; v.Signed || len(v.Gaps) != 1 || !strings.Contains(v.Gaps[0], "no signature referrer by this key") {
		t.Errorf("another key: %+v", v)
	}
	// The index's signature referrer listed for the image: its subject is the index, not the image.
	f.SetHook(func(r *fakeReq) action {
		if r.Kind == "referrers" {
			r2 := *r
			r2.Ref = pub.Index.Digest.String()
			return action{Serve: func(w http.ResponseWriter, hr *http.Request) {
				hr2 := hr.Clone(hr.Context())
				hr2.URL.Path = strings.Replace(hr.URL.Path, r.Ref, r2.Ref, 1)
				f.Registry.ServeReferrers(w, hr2)
			}}
		}
		return action{}
	})
	st, _, err := c.referrerSignatures(context.Background(), f.Host+"/app", amd64.Digest, key, "")
	if err != nil || st.Valid {
		t.Errorf("another manifest's referrer counted: %+v, %v", st, err)
	}
}

func mustLocation(t *testing.T, ref string) *imagetools.Location {
	t.Helper()
	loc, err := imagetools.ParseLocation(ref)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
