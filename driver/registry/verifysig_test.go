package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// seedStatement stores an attestation manifest about subject holding one in-toto statement of
// predicateType whose subject is about (normally subject itself), as BuildKit pushes it.
func (f *fakeRegistry) seedStatement(repo string, subject, about digest.Digest, predicateType string) ocispec.Descriptor {
	f.t.Helper()
	stmt := fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":%q,"subject":[{"name":"pkg:docker/x","digest":{"sha256":%q}}],"predicate":{}}`,
		predicateType, about.Encoded())
	layer := f.PutBlob(repo, stmt)
	layer.MediaType = "application/vnd.in-toto+json"
	layer.Annotations = map[string]string{"in-toto.io/predicate-type": predicateType}
	cfg := f.PutBlob(repo, []byte(`{}`))
	cfg.MediaType = ocispec.MediaTypeImageConfig
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}}
	m.SchemaVersion = 2
	dt, _ := json.Marshal(m)
	d := f.PutManifest(repo, "", m.MediaType, dt)
	d.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
	d.Annotations = map[string]string{attestation.DockerAnnotationReferenceType: attestation.DockerAnnotationReferenceTypeDefault,
		attestation.DockerAnnotationReferenceDigest: subject.String()}
	return d
}

// verify walks the index: each platform's signature and attestations (signed, about that image,
// of the kinds required), and names every gap.
func TestVerifyImageNamesEveryGap(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	key := newTestKey(t)
	repo := f.Host + "/app"
	amd := f.SeedImage("app", "", "linux/amd64")
	arm := f.SeedImage("app", "", "linux/arm64")
	good := f.seedStatement("app", amd.Digest, amd.Digest, "https://slsa.dev/provenance/v0.2")
	wrong := f.seedStatement("app", arm.Digest, amd.Digest, "https://slsa.dev/provenance/v1") // about the other image
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{amd, arm, good, wrong}}
	idx.SchemaVersion = 2
	dt, _ := json.Marshal(idx)
	id := f.PutManifest("app", "v1", ocispec.MediaTypeImageIndex, dt)
	for _, d := range []ocispec.Descriptor{id, amd, arm, good} { // wrong's attestation left unsigned
		if _, err := c.WithSigner(key).signOne(context.Background(), repo, d, false); err != nil {
			t.Fatal(err)
		}
	}
	verdicts, err := c.VerifyImage(context.Background(), VerifyOptions{Ref: f.Ref("app", "v1"), Key: key, Require: []string{RequireProvenance, RequireSBOM}})
	if err != nil {
		t.Fatal(err)
	}
	byPlatform := map[string]Verdict{}
	for _, v := range verdicts {
		byPlatform[v.Platform] = v
	}
	if v := byPlatform["index"]; !v.Signed || !v.OK() {
		t.Errorf("index: %+v", v)
	}
	if v := byPlatform["linux/amd64"]; !v.Signed || !v.Provenance || !slices.Equal(v.Gaps, []string{"no sbom attestation"}) {
		t.Errorf("amd64: %+v", v)
	}
	v := byPlatform["linux/arm64"]
	gaps := strings.Join(v.Gaps, "\n")
	if v.Provenance || !strings.Contains(gaps, "its subject is not "+arm.Digest.String()) || !strings.Contains(gaps, "no provenance attestation") {
		t.Errorf("arm64, whose attestation is about another image: %+v", v)
	}
	// Only arm64, and a platform the image lacks.
	verdicts, err = c.VerifyImage(context.Background(), VerifyOptions{Ref: f.Ref("app", "v1"), Key: key, Platforms: []string{"linux/arm64", "linux/s390x"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range verdicts {
		names = append(names, v.Platform)
	}
	if !slices.Equal(names, []string{"index", "linux/arm64", "linux/s390x"}) || verdicts[2].OK() {
		t.Errorf("with --platform: %+v", verdicts)
	}
}
