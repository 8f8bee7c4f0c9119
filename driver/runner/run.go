package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/buildx/util/progress"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
)

// run builds every step with buildx's progress display on out, then runs the stages the build's
// delivery asks for (pipeline.go): the multiarch pipeline, or, for a push without a multiarch
// builder, the current context's.
func (r *Runner) run(ctx context.Context, st *runState) error {
	printer, err := progress.NewPrinter(context.WithoutCancel(ctx), st.out, st.p.display)
	if err != nil {
		return err
	}
	var cleanups tester.Cleanups
	defer cleanups.Wait()
	st.printer, st.cleanups, st.engines = printer, &cleanups, r.newEngineClients()
	err = r.runPipeline(ctx, st)
	if werr := printer.Wait(); err == nil {
		err = werr
	}
	return err
}

// runPipeline makes the run's local folders, runs its stages and removes the folders.
func (r *Runner) runPipeline(ctx context.Context, st *runState) error {
	defer st.engines.close()
	var err error
	st.files, err = newLocalFiles(st)
	defer st.files.close()
	if err != nil {
		return err
	}
	defer func() { // tests started early end with the run (a later stage failed): their clean-ups are registered before it returns
		if st.early != nil {
			st.early.stop(context.Canceled)
		}
	}()
	stages := pipeline
	if st.t.Fallback && st.p.pushes && st.p.Strategy == plan.StrategyBuildKit {
		stages = fallbackPipeline
	}
	return r.runStages(ctx, stagesFor(st.deliveryOf(), stages), st)
}

// revert puts back the tags this build moved when a step after the publish failed (the load): a
// failure at any step undoes what the build did before it.
func (r *Runner) revert(ctx context.Context, st *runState, cause error) error {
	p, res := st.p, st.res
	if res.Index.Digest == "" {
		return cause
	}
	err := r.registry.WithTimeout(p.Timeout).Revert(context.WithoutCancel(ctx), []registry.Publication{{Index: res.Index, Tags: res.Published}}, cause)
	res.Index, res.Published = ocispec.Descriptor{}, nil
	return err
}

// deliver is --load's last phase, shown in the progress display (when there is one).
func (r *Runner) deliver(st *runState, load *localLoad, printer *progress.Printer) func(context.Context) error {
	p, res := st.p, st.res
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
func (r *Runner) publish(ctx context.Context, st *runState) error {
	p, res := st.p, st.res
	prepared := st.prepared
	if prepared == nil {
		prepared = r.prepareIndex(ctx, st)
	}
	var pi preparedIndex
	select {
	case pi = <-prepared:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	if pi.err != nil {
		return pi.err
	}
	pub, err := r.registry.WithTimeout(p.Timeout).WithSigner(p.Signer).PublishPrepared(ctx, pi.prepared)
	if err != nil {
		return err
	}
	res.Index, res.Published, res.Signed = pub.Index, pub.Tags, pub.Signed
	return nil
}

// preparedIndex is the index a publish writes, merged from the platforms' results, or why not.
type preparedIndex struct {
	prepared registry.Prepared
	err      error
}

// prepareIndex merges the platforms' results into the index the publish writes, in the
// background (it only reads the registry): with --test, while the last tests still run.
func (r *Runner) prepareIndex(ctx context.Context, st *runState) <-chan preparedIndex {
	out := make(chan preparedIndex, 1)
	set, err := publishSet(st)
	if err != nil {
		out <- preparedIndex{err: err}
		return out
	}
	c := r.registry.WithTimeout(st.p.Timeout)
	go func() {
		p, err := c.PrepareBuild(ctx, set)
		out <- preparedIndex{prepared: p, err: err}
	}()
	return out
}

// publishSet is what the publish of a build writes: every platform's result, each one pushed.
func publishSet(st *runState) (registry.PublishSet, error) {
	p, res, descs := st.p, st.res, st.descs
	set := registry.PublishSet{Repo: p.repos[0], Results: descs, Tags: p.Tags, Annotations: p.indexAnnotations, Signer: p.Signer}
	for i, d := range descs {
		if d.Digest == "" {
			return set, fmt.Errorf("%s on node %s: %w", res.Steps[i].Platform, res.Steps[i].Node, errNoDescriptor)
		}
		set.Platforms = append(set.Platforms, res.Steps[i].Platform)
	}
	return set, nil
}
