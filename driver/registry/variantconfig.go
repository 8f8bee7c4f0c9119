package registry

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// VariantConfig is the image of platform in what a build just pushed to repo by digest (pushed:
// the descriptor BuildKit gave, an image or an index of one image and its attestations) and that
// image's config, read by descriptor: three reads, none of them a HEAD (the test gate reads it
// while the other platforms still build). Each read is bounded and checked against its digest.
func (c *Client) VariantConfig(ctx context.Context, repo string, pushed ocispec.Descriptor, platform string) (digest.Digest, ocispec.Image, error) {
	loc, err := imagetools.ParseLocation(repo)
	if err != nil {
		return "", ocispec.Image{}, err
	}
	if err := checkChild(pushed); err != nil {
		return "", ocispec.Image{}, fmt.Errorf("%s@%s: %w", repo, pushed.Digest, err)
	}
	mf := pushed
	if isIndex(pushed.MediaType) {
		if mf, err = c.variantOf(ctx, loc, pushed, platform); err != nil {
			return "", ocispec.Image{}, err
		}
	}
	dt, err := c.getDescriptor(ctx, loc, mf, MaxManifestSize)
	if err != nil {
		return "", ocispec.Image{}, err
	}
	img, err := c.imageFrom(ctx, loc.Name(), loc, mf.Digest, dt)
	return mf.Digest, img.config, err
}

// variantOf is the image manifest of platform in an index (attestations left out).
func (c *Client) variantOf(ctx context.Context, loc *imagetools.Location, idx ocispec.Descriptor, platform string) (ocispec.Descriptor, error) {
	want, err := platforms.Parse(platform)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	dt, err := c.getDescriptor(ctx, loc, idx, MaxManifestSize)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var index ocispec.Index
	if err := json.Unmarshal(dt, &index); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s@%s: %w", loc.Name(), idx.Digest, err)
	}
	match := platforms.Only(platforms.Normalize(want))
	for _, d := range index.Manifests {
		if !IsAttestation(d) && d.Platform != nil && match.Match(platforms.Normalize(*d.Platform)) {
			if err := checkChild(d); err != nil {
				return ocispec.Descriptor{}, fmt.Errorf("%s@%s: manifest %q: %w", loc.Name(), idx.Digest, d.Digest, err)
			}
			return d, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s@%s holds no image for %s", loc.Name(), idx.Digest, platform)
}
