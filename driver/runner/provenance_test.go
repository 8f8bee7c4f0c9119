package runner

import (
	"encoding/json"
	"testing"

	"github.com/docker/buildx/util/confutil"
	slsa1 "github.com/in-toto/in-toto-golang/in_toto/slsa_provenance/v1"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
)

const slsa02Predicate = `{"builder":{"id":""},"buildType":"https://mobyproject.org/buildkit@v1","invocation":{"configSource":{"entryPoint":"Dockerfile"},"parameters":{"frontend":"dockerfile.v0"}},"buildConfig":{"llbDefinition":[]},"metadata":{"buildInvocationID":"abc"}}`

func TestEncodeProvenanceModes(t *testing.T) {
	min, err := encodeProvenance([]byte(slsa02Predicate), "https://slsa.dev/provenance/v0.2", confutil.MetadataProvenanceModeMin)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(min, &m); err != nil {
		t.Fatal(err)
	}
	if m["buildType"] != "https://mobyproject.org/buildkit@v1" || m["buildConfig"] != nil || m["metadata"] != nil {
		t.Errorf("min provenance %s", min)
	}
	maxp, err := encodeProvenance([]byte(slsa02Predicate), "https://slsa.dev/provenance/v0.2", confutil.MetadataProvenanceModeMax)
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := json.Unmarshal(maxp, &m); err != nil || m["metadata"] == nil {
		t.Errorf("max provenance %s: %v", maxp, err)
	}

	v1 := `{"buildDefinition":{"buildType":"https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md","externalParameters":{"configSource":{},"request":{"frontend":"dockerfile.v0"}}},"runDetails":{"builder":{"id":""},"metadata":{"invocationID":"x"}}}`
	conv, err := encodeProvenance([]byte(v1), slsa1.PredicateSLSAProvenance, confutil.MetadataProvenanceModeMin)
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := json.Unmarshal(conv, &m); err != nil || m["buildType"] == nil || m["invocation"] == nil {
		t.Errorf("SLSA v1 not converted to v0.2 as buildx does: %s (%v)", conv, err)
	}
	if _, err := encodeProvenance([]byte("not json"), "https://slsa.dev/provenance/v0.2", confutil.MetadataProvenanceModeMin); err == nil {
		t.Error("a broken predicate is accepted")
	}
}

func TestLookupProvenanceAndRecords(t *testing.T) {
	att := &controlapi.Descriptor{MediaType: "application/vnd.in-toto+json", Digest: "sha256:aa", Size: 3, Annotations: map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}
	sbom := &controlapi.Descriptor{MediaType: "application/vnd.in-toto+json", Digest: "sha256:bb", Annotations: map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"}}
	res := &controlapi.BuildResultInfo{Attestations: []*controlapi.Descriptor{sbom, att}}
	desc, typ := lookupProvenance(res)
	if desc == nil || desc.Digest != "sha256:aa" || typ != "https://slsa.dev/provenance/v0.2" {
		t.Errorf("lookup %v %q", desc, typ)
	}
	if desc, _ := lookupProvenance(&controlapi.BuildResultInfo{Attestations: []*controlapi.Descriptor{sbom}}); desc != nil {
		t.Errorf("an SBOM taken for provenance: %v", desc)
	}

	got := map[string]bool{}
	add := func(p string, _ *controlapi.BuildResultInfo) error { got[p] = true; return nil }
	if err := addRecord(&controlapi.BuildHistoryRecord{Results: map[string]*controlapi.BuildResultInfo{"linux/amd64": res, "linux/arm64": res}, Result: res}, add); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["linux/amd64"] || !got["linux/arm64"] {
		t.Errorf("multi-platform record: %v", got)
	}
	got = map[string]bool{}
	if err := addRecord(&controlapi.BuildHistoryRecord{Result: res}, add); err != nil || len(got) != 1 || !got[""] {
		t.Errorf("single-result record: %v %v", got, err)
	}
}

func TestBuildxKeysProvenanceAndWarnings(t *testing.T) {
	prv := json.RawMessage(`{"buildType":"x"}`)
	warn := []*client.VertexWarning{{Short: []byte("JSONArgsRecommended")}}
	one := &Result{Steps: []StepResult{{Step: plan.Step{Platform: "linux/amd64"}, Ref: "b/n/r1", provenance: prv, warnings: warn}}}
	md := map[string]any{}
	t.Setenv("BUILDX_METADATA_WARNINGS", "")
	buildxKeys(md, one)
	if md["buildx.build.ref"] != "b/n/r1" || string(md["buildx.build.provenance"].(json.RawMessage)) != string(prv) {
		t.Errorf("one platform: %v", md)
	}
	if _, ok := md["buildx.build.warnings"]; ok {
		t.Error("warnings written without BUILDX_METADATA_WARNINGS, which buildx does not")
	}
	t.Setenv("BUILDX_METADATA_WARNINGS", "true")
	md = map[string]any{}
	two := &Result{Steps: []StepResult{one.Steps[0], {Step: plan.Step{Platform: "linux/arm/v7"}, Ref: "b/m/r2", provenance: prv}}}
	buildxKeys(md, two)
	if md["buildx.build.provenance/linux/amd64"] == nil || md["buildx.build.provenance/linux/arm/v7"] == nil || md["buildx.build.provenance"] != nil {
		t.Errorf("two platforms: %v", md)
	}
	if md["buildx.build.warnings"] == nil {
		t.Error("BUILDX_METADATA_WARNINGS=true wrote no warnings")
	}
}

func TestProvenanceMode(t *testing.T) {
	t.Setenv("BUILDX_METADATA_PROVENANCE", "max")
	if m := (&parsed{}).provenanceMode(); m != confutil.MetadataProvenanceModeDisabled {
		t.Errorf("without --metadata-file: %s", m)
	}
	p := &parsed{}
	p.MetadataFile = "md.json"
	if m := p.provenanceMode(); m != confutil.MetadataProvenanceModeMax {
		t.Errorf("with --metadata-file and max: %s", m)
	}
	p.call = &spec.Call{}
	if m := p.provenanceMode(); m != confutil.MetadataProvenanceModeDisabled {
		t.Errorf("with --call: %s", m)
	}
}
