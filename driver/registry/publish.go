package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/imagetools"
	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// PublishBuild combines the per-platform results of a build (images, or indexes with their
// attestations), pushed by digest to repo, into one index, pushes it to every tag, and reads each
// tag back to check it holds exactly the platforms wanted. It is the merge of the platforms'
// results, os.version included.
func (c *Client) PublishBuild(ctx context.Context, repo string, results []ocispec.Descriptor, want, tags []string) (ocispec.Descriptor, error) {
	found := make([][]candidate, len(results))
	eg, ectx := errgroup.WithContext(ctx)
	for i, d := range results {
		eg.Go(func() (err error) {
			found[i], err = candidates(ectx, c.r, repo+"@"+d.Digest.String())
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return ocispec.Descriptor{}, err
	}
	chosen, err := choose(slices.Concat(found...), nil)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	merged, err := indexOf(chosen, false)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var got []string
	for _, e := range merged.Entries {
		got = append(got, e.Platform)
	}
	if !samePlatforms(got, want) {
		return ocispec.Descriptor{}, fmt.Errorf("the platforms built are %s, not the %s requested: no tag written", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	var locs []*imagetools.Location
	for _, t := range tags {
		loc, err := imagetools.ParseLocation(t)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		locs = append(locs, loc)
	}
	if err := pushMerged(ctx, c.r, locs, chosen, merged, false); err != nil {
		return ocispec.Descriptor{}, err
	}
	return merged.Index, nil
}

// Verify reads a tag back: it must be the index dgst, holding exactly the platforms wanted.
func (c *Client) Verify(ctx context.Context, tag string, dgst digest.Digest, want []string) error {
	return verifyTag(ctx, c.r, tag, dgst, want)
}

// verifyTag reads a tag back: it must be the index just pushed, holding exactly the platforms wanted
// (attestation manifests aside), each once.
func verifyTag(ctx context.Context, r *imagetools.Resolver, tag string, dgst digest.Digest, want []string) error {
	dt, desc, err := r.Get(ctx, tag)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", tag, err)
	}
	if desc.Digest != dgst {
		return fmt.Errorf("verifying %s: it points at %s, not the index just pushed (%s)", tag, desc.Digest, dgst)
	}
	got, err := IndexPlatforms(dt)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", tag, err)
	}
	if !samePlatforms(got, want) {
		return fmt.Errorf("verifying %s: the index holds %s, want exactly %s", tag, strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return nil
}

// IsAttestation reports whether an index entry holds an attestation rather than an image.
func IsAttestation(d ocispec.Descriptor) bool {
	return d.Annotations[attestation.DockerAnnotationReferenceType] == attestation.DockerAnnotationReferenceTypeDefault
}

// IndexPlatforms lists the image platforms of an index, attestation manifests left out.
func IndexPlatforms(dt []byte) ([]string, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range idx.Manifests {
		if IsAttestation(m) {
			continue
		}
		if m.Platform == nil {
			out = append(out, "unknown")
			continue
		}
		out = append(out, platforms.Format(platforms.Normalize(*m.Platform)))
	}
	return out, nil
}

func samePlatforms(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
