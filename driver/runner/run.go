package runner

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// run builds every step with buildx's progress display on out and, with --push, publishes.
func (r *Runner) run(ctx context.Context, p *parsed, t builders.Target, res *Result, nodes map[string]builder.Node, out io.Writer) error {
	printer, err := progress.NewPrinter(context.WithoutCancel(ctx), out, p.display)
	if err != nil {
		return err
	}
	var cleanups tester.Cleanups
	defer cleanups.Wait()
	if t.Fallback && p.pushes && p.Strategy == plan.StrategyBuildKit {
		deferred := p.DeferPublish && !p.PushByDigest
		p.PushByDigest = p.PushByDigest || deferred // pushed by digest, no tag moved: the caller publishes
		if err = r.pushFromContext(ctx, p, t, res, nodes[t.Nodes[0].BuildxNode], printer, &cleanups); err == nil && deferred {
			res.Deferred = &registry.PublishSet{Repo: p.repos[0], Platforms: stepPlatforms(res), Tags: p.Tags, Annotations: p.indexAnnotations,
				Results: []ocispec.Descriptor{{Digest: digest.Digest(res.Pushed[0].Digest)}}}
		}
	} else {
		err = r.buildAndPublish(ctx, p, t, res, nodes, printer, out, &cleanups)
	}
	if werr := printer.Wait(); err == nil {
		err = werr
	}
	return err
}

// buildAndPublish runs the pipeline (pipeline.go) with buildx's progress display: every step
// built, then each phase the delivery asks for, in its one order.
func (r *Runner) buildAndPublish(ctx context.Context, p *parsed, t builders.Target, res *Result, nodes map[string]builder.Node,
	printer *progress.Printer, out io.Writer, cleanups *tester.Cleanups) error {
	st := &runState{p: p, t: t, res: res, nodes: nodes, printer: printer, out: out, cleanups: cleanups, engines: r.newEngineClients()}
	defer st.engines.close()
	var err error
	if st.load, err = p.newLocalLoad(); err != nil {
		return err
	}
	defer func() { st.load.close() }() // a load handed to the caller is theirs to close
	p.layouts, p.dockerLoad = nil, st.load
	if st.load != nil {
		p.layouts = st.load.layouts
	}
	cleanup, err := p.prepareOutputs()
	if err != nil {
		return err
	}
	defer cleanup()
	return r.runStages(ctx, stagesFor(p.deliveryOf(), pipeline), st)
}

// revert puts back the tags this build moved when a step after the publish failed (the load): a
// failure at any step undoes what the build did before it.
func (r *Runner) revert(ctx context.Context, p *parsed, res *Result, cause error) error {
	if res.Index.Digest == "" {
		return cause
	}
	err := r.registry.WithTimeout(p.Timeout).Revert(context.WithoutCancel(ctx), []registry.Publication{{Index: res.Index, Tags: res.Published}}, cause)
	res.Index, res.Published = ocispec.Descriptor{}, nil
	return err
}

// deliver is --load's last phase, shown in the progress display (when there is one).
func (r *Runner) deliver(p *parsed, res *Result, load *localLoad, printer *progress.Printer) func(context.Context) error {
	plats, tags := loadedPlatforms(res), slices.Clone(p.Tags)
	return func(ctx context.Context) error {
		run := func() error { return load.run(ctx, r.dockerCli.Client(), tags, plats) }
		if printer == nil {
			return run()
		}
		return progress.Write(printer, fmt.Sprintf("[load] %s into the current engine", strings.Join(plats, ", ")), run)
	}
}

// loadedPlatforms are the platforms --load takes.
func loadedPlatforms(res *Result) []string {
	var out []string
	for _, s := range res.Steps {
		if s.Loaded {
			out = append(out, s.Platform)
		}
	}
	return out
}

// publish combines the platforms' results into one index on every tag, verified.
func (r *Runner) publish(ctx context.Context, p *parsed, res *Result, descs []ocispec.Descriptor) error {
	set, err := publishSet(p, res, descs)
	if err != nil {
		return err
	}
	pub, err := r.registry.WithTimeout(p.Timeout).PublishBuild(ctx, set.Repo, set.Results, set.Platforms, set.Tags, set.Annotations)
	if err != nil {
		return err
	}
	res.Index, res.Published = pub.Index, pub.Tags
	return nil
}

// publishSet is what the publish of a build writes: every platform's result, each one pushed.
func publishSet(p *parsed, res *Result, descs []ocispec.Descriptor) (registry.PublishSet, error) {
	set := registry.PublishSet{Repo: p.repos[0], Results: descs, Tags: p.Tags, Annotations: p.indexAnnotations}
	for i, d := range descs {
		if d.Digest == "" {
			return set, fmt.Errorf("%s on node %s: %w", res.Steps[i].Platform, res.Steps[i].Node, errNoDescriptor)
		}
		set.Platforms = append(set.Platforms, res.Steps[i].Platform)
	}
	return set, nil
}
