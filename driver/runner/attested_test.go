package runner

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Issue 21: a pushed result that lost the attestations the build made (an image manifest where the
// image exporter gives an index of the image and its attestations) is refused; a build without
// attestations, or a result that is an index, passes.
func TestCheckAttested(t *testing.T) {
	manifest := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.Digest("sha256:" + strings.Repeat("a", 64))}
	index := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.Digest("sha256:" + strings.Repeat("b", 64))}
	dir := contextDir(t)
	for _, tc := range []struct {
		name    string
		o       Options
		d       ocispec.Descriptor
		refused bool
	}{
		{"default provenance, a manifest", Options{Push: true}, manifest, true},
		{"default provenance, an index", Options{Push: true}, index, false},
		{"sbom asked, a manifest", Options{PushByDigest: true, SBOM: "true"}, manifest, true},
		{"provenance off, a manifest", Options{Push: true, Provenance: "false"}, manifest, false},
		{"no push", Options{Provenance: "mode=max"}, manifest, false},
		{"no media type", Options{Push: true}, ocispec.Descriptor{Digest: manifest.Digest}, false},
	} {
		tc.o.ContextPath, tc.o.Tags = dir, []string{"reg.example/app:1"}
		p := mustParse(t, tc.o)
		err := p.checkAttested(tc.d)
		if (err != nil) != tc.refused || (err != nil && !strings.Contains(err.Error(), tc.d.Digest.String())) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
