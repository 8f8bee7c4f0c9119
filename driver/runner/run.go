package runner

import (
	"context"
	"fmt"
	"io"
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

// buildAndPublish builds every step; then, each phase shown in the progress display: loads every
// platform (--load into a containerd store), runs the test gate, and publishes the tags.
func (r *Runner) buildAndPublish(ctx context.Context, p *parsed, t builders.Target, res *Result, nodes map[string]builder.Node,
	printer *progress.Printer, out io.Writer, cleanups *tester.Cleanups) error {
	engines := r.newEngineClients()
	defer engines.close()
	if p.loadAll {
		var err error
		if p.layouts, err = newLayouts(); err != nil {
			return err
		}
		defer p.layouts.close()
	}
	cleanup, err := p.prepareOutputs()
	if err != nil {
		return err
	}
	defer cleanup()
	descs, err := r.runSteps(ctx, res, r.stepRunner(p, nodes, engines, printer, out))
	if err != nil {
		return err
	}
	if err := p.finishOutputs(p.Stdout, stepPlatforms(res)); err != nil {
		return err
	}
	if p.loadAll {
		err := progress.Write(printer, fmt.Sprintf("[load] %d platforms into the current engine as one image", len(res.Steps)), func() error {
			return p.layouts.load(ctx, r.dockerCli.Client(), p.Tags, stepPlatforms(res))
		})
		if err != nil {
			return err
		}
	}
	if !p.pushes {
		return nil
	}
	if err := r.gate(ctx, p, t, res, descs, printer, cleanups); err != nil {
		return err
	}
	recordPushed(p, res, descs)
	if p.PushByDigest {
		return nil // no tag moves: merge --from-metadata publishes
	}
	if p.DeferPublish {
		set, err := publishSet(p, res, descs) // no tag moves: the caller publishes (bake: all targets' tags at once)
		if err == nil {
			res.Deferred = &set
		}
		return err
	}
	return progress.Write(printer, "[publish] the index to "+strings.Join(p.Tags, ", ")+", then read back", func() error {
		return r.publish(ctx, p, res, descs)
	})
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
