package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
)

// pushFromContext is --push without a multiarch builder: the current context's own BuildKit builds
// every platform in one solve and pushes the index to the tags itself (an engine's BuildKit cannot
// push by digest). The tags are written once, after every platform has built.
func (r *Runner) pushFromContext(ctx context.Context, p *parsed, res *Result, node builder.Node, printer *progress.Printer) error {
	first := res.Steps[0]
	for _, s := range res.Steps[1:] {
		if s.Dockerfile != first.Dockerfile {
			return errors.New("per-platform Dockerfiles need a multiarch builder (docker multiarch create) to push one tag")
		}
	}
	start := time.Now()
	so, err := r.solveOpt(ctx, p, &first, node)
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
	for i := range res.Steps {
		res.Steps[i].Duration = time.Since(start)
		res.Steps[i].Seconds = res.Steps[i].Duration.Round(time.Millisecond).Seconds()
	}
	for _, tag := range p.Tags {
		if err := r.registry.Verify(ctx, tag, desc.Digest, plats); err != nil {
			return err
		}
	}
	return r.fillDigests(ctx, p.Tags[0], res)
}

// fillDigests sets each step's digest from the pushed index.
func (r *Runner) fillDigests(ctx context.Context, tag string, res *Result) error {
	info, err := r.registry.Inspect(ctx, tag)
	if err != nil {
		return err
	}
	for _, m := range info.Manifests {
		for i := range res.Steps {
			if !m.Attestation && res.Steps[i].Platform == m.Platform {
				res.Steps[i].Digest = m.Digest
			}
		}
	}
	return nil
}
