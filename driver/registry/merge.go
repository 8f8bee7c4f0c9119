package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MergeOptions combine existing images into one tag.
type MergeOptions struct {
	Tags           []string
	Sources        []string // tags or digests; single manifests or indexes
	Prefer         []string // sources that win when two give the same platform
	NoAttestations bool
	DryRun         bool
	Signer         Signer        // --sign-key: the index and every manifest it names signed before any tag moves
	Timeout        time.Duration // bounds every registry operation (0: DefaultTimeout)
	// Annotations go on the published index (--annotation index:KEY=VALUE; GitHub's registry reads
	// org.opencontainers.image.source there).
	Annotations map[string]string
}

// MergeEntry is one image of the merged index and where it came from.
type MergeEntry struct {
	Platform  string `json:"platform"`
	OSVersion string `json:"osVersion,omitempty"`
	Digest    string `json:"digest"`
	Source    string `json:"source"`
}

// MergeResult is the index a merge wrote (or, with DryRun, would write).
type MergeResult struct {
	Index   ocispec.Descriptor `json:"index"`
	JSON    []byte             `json:"-"`
	Entries []MergeEntry       `json:"platforms"`
	Tags    []TagState         `json:"tags,omitempty"` // where every tag points after the publish
	Signed  Signed             `json:"signed,omitzero"`
}

// candidate is an image (with its attestations) found in a source.
type candidate struct {
	source  string
	loc     *imagetools.Location
	desc    ocispec.Descriptor // with its platform set
	attests []ocispec.Descriptor
}

func (c candidate) key() string {
	return platforms.Format(*c.desc.Platform) + "@" + c.desc.Platform.OSVersion
}

// Merge combines sources into one index and pushes it to every tag, copying images from other
// repositories into the tags' repositories first; each tag is then read back and verified. Two
// sources for one platform (os.version included) is an error unless --prefer names one of them.
func (c *Client) Merge(ctx context.Context, o MergeOptions) (MergeResult, error) {
	c = c.WithTimeout(o.Timeout).WithSigner(o.Signer)
	tags, err := checkMerge(o)
	if err != nil {
		return MergeResult{}, err
	}
	var all []candidate
	for _, src := range o.Sources {
		cs, err := c.candidates(ctx, src)
		if err != nil {
			return MergeResult{}, err
		}
		all = append(all, cs...)
	}
	chosen, err := choose(all, o.Prefer)
	if err != nil {
		return MergeResult{}, err
	}
	res, err := indexOf(chosen, o.NoAttestations, o.Annotations)
	if err != nil || o.DryRun {
		return res, err
	}
	if lines := Refusals(c.CheckPush(ctx, repositories(tags))); len(lines) > 0 { // before the first copy
		return res, fmt.Errorf("nothing written: the registry would refuse the push\n%s", strings.Join(lines, "\n"))
	}
	if err := c.copyInto(ctx, tags, chosen, o.NoAttestations); err != nil {
		return res, fmt.Errorf("%w: no tag written", err)
	}
	pub, err := c.publish(ctx, tags, res, res.platforms())
	res.Tags, res.Signed = pub.Tags, pub.Signed
	return res, err
}

// repositories are the tags' repositories, once each.
func repositories(tags []*imagetools.Location) []string {
	var out []string
	for _, t := range tags {
		if name := t.Name(); !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func checkMerge(o MergeOptions) ([]*imagetools.Location, error) {
	if len(o.Tags) == 0 {
		return nil, errors.New("merge needs at least one tag (-t NAME:TAG)")
	}
	if len(o.Sources) == 0 {
		return nil, errors.New("merge needs at least one source image")
	}
	locs, err := tagLocations(o.Tags)
	if err != nil {
		return nil, err
	}
	for _, s := range o.Sources {
		if _, err := reference.ParseNormalizedNamed(s); err != nil {
			return nil, fmt.Errorf("invalid source %q: %w", s, err)
		}
	}
	for _, p := range o.Prefer {
		if !slices.Contains(o.Sources, p) {
			return nil, fmt.Errorf("--prefer %q is not one of the sources", p)
		}
	}
	return locs, nil
}

// candidates flattens a source: the images of an index (with their attestations), or the one image
// of a manifest with its platform read from its config (os.version and os.features included).
func (c *Client) candidates(ctx context.Context, src string) ([]candidate, error) {
	named, err := reference.ParseNormalizedNamed(src)
	if err != nil {
		return nil, fmt.Errorf("invalid source %q: %w", src, err)
	}
	ref := reference.TagNameOnly(named).String()
	dt, desc, err := c.get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	loc, err := imagetools.ParseLocation(ref)
	if err != nil {
		return nil, err
	}
	if !isIndex(desc.MediaType) {
		var mf ocispec.Manifest
		if err := json.Unmarshal(dt, &mf); err != nil {
			return nil, fmt.Errorf("source %s: %w", src, err)
		}
		p, err := c.platformOf(ctx, loc, desc, mf)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src, err)
		}
		desc.Platform = &p
		return []candidate{{source: src, loc: loc, desc: desc}}, nil
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	var out []candidate
	for _, d := range idx.Manifests {
		if IsAttestation(d) || d.Platform == nil {
			continue
		}
		// What is kept is copied and published by digest: an index naming one that is not a
		// digest, or sizing it past what is read of a manifest, is refused here, naming the
		// source, rather than copied (a copy allocates the size the index claims).
		if err := checkChild(d); err != nil {
			return nil, fmt.Errorf("source %s: manifest %q: %w", src, d.Digest, err)
		}
		c := candidate{source: src, loc: loc, desc: d}
		p := platforms.Normalize(*d.Platform)
		p.OSVersion, p.OSFeatures = d.Platform.OSVersion, d.Platform.OSFeatures
		c.desc.Platform = &p
		for _, a := range idx.Manifests {
			if IsAttestation(a) && a.Annotations[attestation.DockerAnnotationReferenceDigest] == d.Digest.String() {
				if err := checkChild(a); err != nil {
					return nil, fmt.Errorf("source %s: attestation manifest %q: %w", src, a.Digest, err)
				}
				c.attests = append(c.attests, a)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// choose keeps one image per platform; a platform given by two sources needs --prefer.
func choose(all []candidate, prefer []string) ([]candidate, error) {
	var out []candidate
	for _, c := range all {
		i := slices.IndexFunc(out, func(o candidate) bool { return o.key() == c.key() })
		switch {
		case i < 0:
			out = append(out, c)
		case out[i].desc.Digest == c.desc.Digest:
		case slices.Contains(prefer, c.source) && !slices.Contains(prefer, out[i].source):
			out[i] = c
		case slices.Contains(prefer, out[i].source) && !slices.Contains(prefer, c.source):
		default:
			return nil, fmt.Errorf("platform %s comes from both %s and %s: choose one with --prefer", platformText(*c.desc.Platform), out[i].source, c.source)
		}
	}
	return out, nil
}

func platformText(p ocispec.Platform) string {
	s := platforms.Format(p)
	if p.OSVersion != "" {
		s += " (os.version " + p.OSVersion + ")"
	}
	return s
}

// indexOf builds the merged OCI index.
func indexOf(chosen []candidate, noAttestations bool, annotations map[string]string) (MergeResult, error) {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Annotations: annotations}
	idx.SchemaVersion = 2
	var res MergeResult
	for _, c := range chosen {
		idx.Manifests = append(idx.Manifests, c.desc)
		res.Entries = append(res.Entries, MergeEntry{Platform: platforms.Format(*c.desc.Platform), OSVersion: c.desc.Platform.OSVersion,
			Digest: c.desc.Digest.String(), Source: c.source})
	}
	if !noAttestations {
		for _, c := range chosen {
			idx.Manifests = append(idx.Manifests, c.attests...)
		}
	}
	dt, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return res, err
	}
	res.JSON = dt
	res.Index = ocispec.Descriptor{MediaType: idx.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	return res, nil
}

// copyInto copies the chosen images (and their attestations) from other repositories into every
// tag's repository, by digest: never through a tag. Each copy must make progress within the
// deadline.
func (c *Client) copyInto(ctx context.Context, tags []*imagetools.Location, chosen []candidate, noAttestations bool) error {
	for _, tag := range tags {
		for _, cd := range chosen {
			if cd.loc.Name() == tag.Name() {
				continue
			}
			descs := []ocispec.Descriptor{cd.desc}
			if !noAttestations {
				descs = append(descs, cd.attests...)
			}
			for _, d := range descs {
				if err := c.copy(ctx, cd.loc, d, tag.Name()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// copy copies one manifest and everything it references from src into repo, by digest.
func (c *Client) copy(ctx context.Context, src *imagetools.Location, d ocispec.Descriptor, repo string) error {
	dest, err := imagetools.ParseLocation(repo + "@" + d.Digest.String())
	if err != nil {
		return err
	}
	sctx, touch, stop := watchStall(ctx, c.timeout)
	defer stop()
	ing, err := c.r.IngesterForLocation(sctx, dest)
	if err == nil {
		err = c.r.CopyWithIngester(sctx, &imagetools.Source{Desc: d, Ref: src}, dest, progressIngester{Ingester: ing, touch: touch})
	}
	if err = stallError(sctx, err); err != nil {
		return opError(repo, fmt.Sprintf("copying %s@%s into %s", pathOf(src.Name()), d.Digest, pathOf(repo)), err)
	}
	return nil
}

// checkChild checks a manifest an index names: a valid digest and a size a manifest may have.
func checkChild(d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return err
	}
	if d.Size <= 0 || d.Size > MaxManifestSize {
		return fmt.Errorf("size %d: a manifest is 1 byte to %d MiB", d.Size, MaxManifestSize>>20)
	}
	return nil
}
