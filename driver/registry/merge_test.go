package registry

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func cand(source, platform, osVersion, content string) candidate {
	p := ocispec.Platform{OSVersion: osVersion}
	parts := strings.Split(platform, "/")
	p.OS, p.Architecture = parts[0], parts[1]
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return candidate{source: source, desc: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest,
		Digest: digest.FromString(content), Size: 1, Platform: &p}}
}

func TestChoose(t *testing.T) {
	a := cand("a", "linux/amd64", "", "a-amd64")
	aArm := cand("a", "linux/arm64", "", "a-arm64")
	b := cand("b", "linux/amd64", "", "b-amd64")
	same := cand("c", "linux/amd64", "", "a-amd64") // the same image through another reference
	w1 := cand("w", "windows/amd64", "10.0.17763.1", "w1")
	w2 := cand("w", "windows/amd64", "10.0.20348.1", "w2")

	got, err := choose([]candidate{a, aArm, same, w1, w2}, nil)
	if err != nil || len(got) != 4 {
		t.Errorf("distinct platforms and Windows versions: %d chosen, %v", len(got), err)
	}
	if _, err := choose([]candidate{a, b}, nil); err == nil || !strings.Contains(err.Error(), "linux/amd64") ||
		!strings.Contains(err.Error(), "--prefer") {
		t.Errorf("conflict without --prefer: %v", err)
	}
	for _, prefer := range [][]string{{"b"}} {
		got, err := choose([]candidate{a, b}, prefer)
		if err != nil || len(got) != 1 || got[0].source != "b" {
			t.Errorf("--prefer b: %+v, %v", got, err)
		}
		got, err = choose([]candidate{b, a}, prefer)
		if err != nil || len(got) != 1 || got[0].source != "b" {
			t.Errorf("--prefer b, b first: %+v, %v", got, err)
		}
	}
	if _, err := choose([]candidate{a, b}, []string{"a", "b"}); err == nil {
		t.Error("both preferred must still be an error")
	}
}

func TestIndexOf(t *testing.T) {
	w := cand("w", "windows/amd64", "10.0.20348.1", "w")
	w.attests = []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("att"), Size: 1,
		Annotations: map[string]string{attestation.DockerAnnotationReferenceType: attestation.DockerAnnotationReferenceTypeDefault}}}
	res, err := indexOf([]candidate{cand("a", "linux/arm/v7", "", "arm"), w}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(res.JSON, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 3 || idx.Manifests[1].Platform.OSVersion != "10.0.20348.1" || res.Index.Digest != digest.FromBytes(res.JSON) {
		t.Errorf("index %s", res.JSON)
	}
	if got, _ := IndexPlatforms(res.JSON); strings.Join(got, " ") != "linux/arm/v7 windows/amd64" {
		t.Errorf("IndexPlatforms = %v", got)
	}
	res, _ = indexOf([]candidate{w}, true, nil)
	if strings.Contains(string(res.JSON), attestation.DockerAnnotationReferenceTypeDefault) {
		t.Error("--no-attestations kept an attestation")
	}
}
