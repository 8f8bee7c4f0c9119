package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// attestationType marks the manifests of an index that hold attestations rather than an image.
const (
	referenceTypeKey = "vnd.docker.reference.type"
	attestationType  = "attestation-manifest"
)

// publish combines the per-platform results (images, or indexes with their attestations) into
// one index, pushes it to every tag, and reads each tag back to check it holds exactly the
// platforms built. It is the merge of the platforms' results, os.version included.
func (m *Manager) publish(ctx context.Context, p *parsed, res *BuildResult, descs []ocispec.Descriptor) error {
	r := m.registry()
	found := make([][]candidate, len(descs))
	eg, ectx := errgroup.WithContext(ctx)
	for i, d := range descs {
		if d.Digest == "" {
			return fmt.Errorf("%s on node %s: %w", res.Steps[i].Platform, res.Steps[i].Node, errNoDescriptor)
		}
		eg.Go(func() (err error) {
			found[i], err = candidates(ectx, r, p.repos[0]+"@"+d.Digest.String())
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	var all []candidate
	for _, cs := range found {
		all = append(all, cs...)
	}
	chosen, err := choose(all, nil)
	if err != nil {
		return err
	}
	merged, err := indexOf(chosen, false)
	if err != nil {
		return err
	}
	var got, want []string
	for _, e := range merged.Entries {
		got = append(got, e.Platform)
	}
	for _, s := range res.Steps {
		want = append(want, s.Platform)
	}
	if !samePlatforms(got, want) {
		return fmt.Errorf("the platforms built are %s, not the %s requested: no tag written", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	var tags []*imagetools.Location
	for _, t := range p.Tags {
		loc, err := imagetools.ParseLocation(t)
		if err != nil {
			return err
		}
		tags = append(tags, loc)
	}
	if err := m.pushMerged(ctx, r, tags, chosen, merged, false); err != nil {
		return err
	}
	res.Index = merged.Index
	return nil
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

// IndexPlatforms lists the image platforms of an index, attestation manifests left out.
func IndexPlatforms(dt []byte) ([]string, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range idx.Manifests {
		if m.Annotations[referenceTypeKey] == attestationType {
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

func digestOf(s string) digest.Digest { return digest.Digest(s) }

func enginePlatform(osType, arch string) (string, error) {
	p, err := contexts.EnginePlatform(osType, arch)
	if err != nil {
		return "", err
	}
	return platforms.Format(p), nil
}
