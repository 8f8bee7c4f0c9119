package registry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The test gate reads a pushed variant's config by the descriptor BuildKit gave: the platform's
// image out of its index (never the attestation), then its config, with no HEAD request; a
// platform the push does not hold, or a descriptor that lies about its content, is refused.
func TestVariantConfig(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	ctx := context.Background()
	repo := f.Host + "/app"
	pushed := f.seedAttested("app", "linux/arm64")
	var idx ocispec.Index
	if err := json.Unmarshal(f.Manifest("app", pushed.Digest), &idx); err != nil {
		t.Fatal(err)
	}
	img, cfg, err := c.VariantConfig(ctx, repo, pushed, "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if img != idx.Manifests[0].Digest || platforms.Format(cfg.Platform) != "linux/arm64" {
		t.Errorf("image %s (want %s), config platform %s", img, idx.Manifests[0].Digest, platforms.Format(cfg.Platform))
	}
	if heads := f.Requests("HEAD", "/"); len(heads) != 0 {
		t.Errorf("HEAD requests: %v", heads)
	}
	if _, err := c.ImageConfig(ctx, repo+"@"+img.String()); err != nil || len(f.Requests("HEAD", "/")) == 0 {
		t.Errorf("the read by reference (the control) made no HEAD request: %v", err) // the check above can fail
	}
	plain := f.SeedImage("app", "", "linux/amd64")
	plain.Platform = nil // a step without attestations pushes the image itself
	if img, cfg, err := c.VariantConfig(ctx, repo, plain, "linux/amd64"); err != nil || img != plain.Digest || cfg.Architecture != "amd64" {
		t.Errorf("a plain image: %s %s %v", img, cfg.Architecture, err)
	}
	for name, tc := range map[string]struct {
		d        ocispec.Descriptor
		platform string
		want     string
	}{
		"another platform": {pushed, "linux/amd64", "holds no image for linux/amd64"},
		"a lying digest":   {ocispec.Descriptor{MediaType: pushed.MediaType, Digest: digest.FromString("other"), Size: pushed.Size}, "linux/arm64", "app"},
		"no size":          {ocispec.Descriptor{MediaType: pushed.MediaType, Digest: pushed.Digest}, "linux/arm64", "size 0"},
	} {
		if _, _, err := c.VariantConfig(ctx, repo, tc.d, tc.platform); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
