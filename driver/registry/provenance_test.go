package registry

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	slsa02 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v0.2"
	provtypes "github.com/moby/buildkit/solver/llbsolver/provenance/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ParseProvenance reads what BuildKit's own provenance types write, in both SLSA versions
// (a differential test: BuildKit's package is not imported by the product, for start-up).
func TestParseProvenanceReadsBuildKitsOwnTypes(t *testing.T) {
	req := provtypes.Parameters{Frontend: "dockerfile.v0", Args: map[string]string{"build-arg:V": "1", "target": "final", "label:a": "b"},
		Locals: []*provtypes.LocalSource{{Name: "context"}, {Name: "dockerfile"}}}
	want := BuildRequest{Frontend: "dockerfile.v0", Args: req.Args, Locals: []string{"context", "dockerfile"},
		ConfigURI: "https://github.com/o/r.git#main", ConfigPath: "docker/Dockerfile", Commit: "0123456789abcdef0123456789abcdef01234567"}
	v1 := provtypes.ProvenancePredicateSLSA1{}
	v1.BuildDefinition.ExternalParameters = provtypes.ProvenanceExternalParametersSLSA1{Request: req,
		ConfigSource: provtypes.ProvenanceConfigSourceSLSA1{URI: want.ConfigURI, Path: want.ConfigPath, Digest: map[string]string{"sha1": want.Commit}}}
	v02 := provtypes.ProvenancePredicateSLSA02{}
	v02.Invocation = provtypes.ProvenanceInvocationSLSA02{Parameters: req,
		ConfigSource: slsa02.ConfigSource{URI: want.ConfigURI, EntryPoint: want.ConfigPath, Digest: map[string]string{"sha1": want.Commit}}}
	for predicateType, predicate := range map[string]any{"https://slsa.dev/provenance/v1": v1, "https://slsa.dev/provenance/v0.2": v02} {
		dt, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": predicateType, "predicate": predicate})
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseProvenance(dt)
		if err != nil {
			t.Fatalf("%s: %v", predicateType, err)
		}
		if got.Frontend != want.Frontend || !maps.Equal(got.Args, want.Args) || !slices.Equal(got.Locals, want.Locals) ||
			got.ConfigURI != want.ConfigURI || got.ConfigPath != want.ConfigPath || got.Commit != want.Commit {
			t.Errorf("%s: %+v, want %+v", predicateType, got, want)
		}
	}
	if _, err := ParseProvenance([]byte(`{"predicateType":"https://spdx.dev/Document"}`)); err == nil {
		t.Error("an SBOM read as a provenance")
	}
}

// BuildRecords reads each image's platform from its config, and refuses an index whose entry says
// another platform, or two images for one platform.
func TestBuildRecordsChecksPlatforms(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	f.SeedIndex("app", "ok", "linux/amd64", "linux/arm64")
	recs, err := c.BuildRecords(t.Context(), f.Ref("app", "ok"))
	if err != nil || len(recs) != 2 || recs[0].Platform != "linux/amd64" || recs[1].Provenance != nil {
		t.Fatalf("records %+v, %v", recs, err)
	}
	index := func(tag string, descs ...ocispec.Descriptor) {
		idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: descs}
		idx.SchemaVersion = 2
		dt, _ := json.Marshal(idx)
		f.PutManifest("app", tag, ocispec.MediaTypeImageIndex, dt)
	}
	amd := f.SeedImage("app", "", "linux/amd64")
	lying := amd
	arm := platforms.MustParse("linux/arm64")
	lying.Platform = &arm
	index("lying", lying)
	if _, err := c.BuildRecords(t.Context(), f.Ref("app", "lying")); err == nil || !strings.Contains(err.Error(), "the index says linux/arm64") {
		t.Errorf("an entry that is not its config's platform: %v", err)
	}
	index("twice", amd, f.SeedImage("app", "", "linux/amd64"))
	if _, err := c.BuildRecords(t.Context(), f.Ref("app", "twice")); err == nil || !strings.Contains(err.Error(), "two images for linux/amd64") {
		t.Errorf("two images for one platform: %v", err)
	}
}
