package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/imagetools"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pushFromContext is --push without a multiarch builder: the current context's own BuildKit builds
// every platform in one solve and pushes the index to the tags itself (an engine's BuildKit cannot
// push by digest). The tags are written once, after every platform has built.
func (m *Manager) pushFromContext(ctx context.Context, p *parsed, res *BuildResult, node builder.Node, printer *progress.Printer) error {
	first := res.Steps[0]
	for _, s := range res.Steps[1:] {
		if s.Dockerfile != first.Dockerfile {
			return errors.New("per-platform Dockerfiles need a multiarch builder (docker multiarch create) to push one tag")
		}
	}
	start := time.Now()
	so, err := m.solveOpt(ctx, p, &first, node)
	if err != nil {
		return err
	}
	var plats []string
	for _, s := range res.Steps {
		plats = append(plats, s.Platform)
	}
	so.FrontendAttrs["platform"] = strings.Join(plats, ",")
	so.Exports = []client.ExportEntry{{Type: "moby", Attrs: map[string]string{"name": strings.Join(p.Tags, ","), "push": "true"}}}
	resp, err := solve(ctx, node, so, progress.WithPrefix(printer, first.Node, false))
	if err != nil {
		if strings.Contains(err.Error(), "exporting multiple references") {
			err = fmt.Errorf("%w (this engine's classic image store cannot hold multi-platform images: enable the containerd image store, or build on a multiarch builder: docker multiarch node add, docker multiarch create)", err)
		}
		return fmt.Errorf("%s on context %s: %w", strings.Join(plats, ","), first.Node, err)
	}
	desc, err := resultDescriptor(resp)
	if err != nil {
		return err
	}
	res.Index = desc
	r := imagetools.New(node.ImageOpt)
	for i := range res.Steps {
		res.Steps[i].Duration = time.Since(start)
		res.Steps[i].Seconds = res.Steps[i].Duration.Round(time.Millisecond).Seconds()
	}
	for _, tag := range p.Tags {
		if err := verifyTag(ctx, r, tag, desc.Digest, plats); err != nil {
			return err
		}
	}
	return fillDigests(ctx, r, p.Tags[0], res)
}

// fillDigests sets each step's digest from the pushed index.
func fillDigests(ctx context.Context, r *imagetools.Resolver, tag string, res *BuildResult) error {
	dt, _, err := r.Get(ctx, tag)
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return err
	}
	for _, m := range idx.Manifests {
		if m.Platform == nil || m.Annotations[referenceTypeKey] == attestationType {
			continue
		}
		p := platforms.Format(platforms.Normalize(*m.Platform))
		for i := range res.Steps {
			if res.Steps[i].Platform == p {
				res.Steps[i].Digest = m.Digest.String()
			}
		}
	}
	return nil
}
