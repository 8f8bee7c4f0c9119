package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
	"github.com/moby/buildkit/util/attestation"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageEntry is one manifest behind a reference: an image for a platform, or an attestation.
type ImageEntry struct {
	Platform     string   `json:"platform,omitempty"`
	OS           string   `json:"os,omitempty"`
	Architecture string   `json:"architecture,omitempty"`
	Variant      string   `json:"variant,omitempty"`
	OSVersion    string   `json:"osVersion,omitempty"`
	OSFeatures   []string `json:"osFeatures,omitempty"`
	Digest       string   `json:"digest"`
	MediaType    string   `json:"mediaType"`
	Size         int64    `json:"size"` // manifest, config and layers
	Attestation  bool     `json:"attestation"`
	AttestsTo    string   `json:"attestsTo,omitempty"` // the image an attestation belongs to
}

// ImageInfo is what a reference resolves to.
type ImageInfo struct {
	Ref       string       `json:"ref"`
	Digest    string       `json:"digest"`
	MediaType string       `json:"mediaType"`
	Index     bool         `json:"index"`
	Manifests []ImageEntry `json:"manifests"`
}

// Inspect lists the platforms behind a reference: every image of an index (attestation manifests
// marked), or the one image of a single manifest, with os.version and sizes.
func (c *Client) Inspect(ctx context.Context, ref string) (ImageInfo, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	dt, desc, err := c.get(ctx, named.String())
	if err != nil {
		return ImageInfo{}, fmt.Errorf("%s: %w", ref, err)
	}
	loc, err := imagetools.ParseLocation(named.String())
	if err != nil {
		return ImageInfo{}, err
	}
	info := ImageInfo{Ref: named.String(), Digest: desc.Digest.String(), MediaType: desc.MediaType, Index: isIndex(desc.MediaType)}
	var descs []ocispec.Descriptor
	if info.Index {
		var idx ocispec.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			return info, fmt.Errorf("%s: %w", ref, err)
		}
		descs = idx.Manifests
	} else {
		descs = []ocispec.Descriptor{desc}
	}
	for _, d := range descs {
		e, err := c.describe(ctx, loc, d)
		if err != nil {
			return info, fmt.Errorf("%s: manifest %s: %w", ref, d.Digest, err)
		}
		info.Manifests = append(info.Manifests, e)
	}
	return info, nil
}

func isIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || strings.HasSuffix(mediaType, "manifest.list.v2+json")
}

// describe reads a manifest (and, without a platform in its descriptor, its config).
func (c *Client) describe(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor) (ImageEntry, error) {
	e := ImageEntry{Digest: d.Digest.String(), MediaType: d.MediaType}
	if IsAttestation(d) {
		e.Attestation, e.AttestsTo = true, d.Annotations[attestation.DockerAnnotationReferenceDigest]
	}
	dt, err := c.getDescriptor(ctx, loc, d, MaxManifestSize)
	if err != nil {
		return e, err
	}
	var mf ocispec.Manifest
	if err := json.Unmarshal(dt, &mf); err != nil {
		return e, err
	}
	e.Size = int64(len(dt)) + mf.Config.Size
	for _, l := range mf.Layers {
		e.Size += l.Size
	}
	if e.Attestation {
		return e, nil
	}
	p, err := c.platformOf(ctx, loc, d, mf)
	if err != nil {
		return e, err
	}
	e.Platform = platforms.Format(p)
	e.OS, e.Architecture, e.Variant, e.OSVersion, e.OSFeatures = p.OS, p.Architecture, p.Variant, p.OSVersion, p.OSFeatures
	return e, nil
}

// platformOf is a manifest's platform: the index's word for it when it has os.version or is not
// Windows, else the image config's (which carries os.version and os.features).
func (c *Client) platformOf(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor, mf ocispec.Manifest) (ocispec.Platform, error) {
	if d.Platform != nil && (d.Platform.OS != "windows" || d.Platform.OSVersion != "") {
		return platforms.Normalize(*d.Platform), nil
	}
	dt, err := c.getDescriptor(ctx, loc, mf.Config, MaxConfigSize)
	if err != nil {
		return ocispec.Platform{}, fmt.Errorf("config %s: %w", mf.Config.Digest, err)
	}
	var img ocispec.Image
	if err := json.Unmarshal(dt, &img); err != nil {
		return ocispec.Platform{}, fmt.Errorf("config %s: %w", mf.Config.Digest, err)
	}
	p := platforms.Normalize(img.Platform)
	p.OSVersion, p.OSFeatures = img.OSVersion, img.OSFeatures
	return p, nil
}

// Variant is one image of a reference: its platform and where to pull it by digest.
type Variant struct {
	Platform string
	Digest   string
	Ref      string // REPO@sha256:...
}

// Variants lists the images behind a reference (attestations left out): every image of an index,
// or the one image of a manifest with its platform read from its config.
func (c *Client) Variants(ctx context.Context, ref string) ([]Variant, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	cs, err := c.candidates(ctx, reference.TagNameOnly(named).String())
	if err != nil {
		return nil, err
	}
	var out []Variant
	for _, cd := range cs {
		out = append(out, Variant{Platform: platforms.Format(*cd.desc.Platform), Digest: cd.desc.Digest.String(),
			Ref: cd.loc.Name() + "@" + cd.desc.Digest.String()})
	}
	return out, nil
}

// Platforms lists the platforms a reference has images for (attestations left out).
func (c *Client) Platforms(ctx context.Context, ref string) ([]ocispec.Platform, error) {
	cs, err := c.candidates(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []ocispec.Platform
	for _, cd := range cs {
		out = append(out, *cd.desc.Platform)
	}
	return out, nil
}
