package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/docker/buildx/util/progress"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/tester"
)

// earlyGate runs each variant's test as soon as its platform is pushed, while the other platforms
// still build (issue 22); the gate stage waits for every test and judges them, so the publish
// starts when the last one passed. Its tests end with the solve when the solve fails.
type earlyGate struct {
	assigns []tester.Assignment // by step; each Variant's image set when its step pushed
	results []tester.Result
	started []bool
	mu      sync.Mutex
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelCauseFunc
}

// startGate routes every variant's test (tester.Route) before anything builds: a platform no
// engine runs stops the build here.
func (r *Runner) startGate(ctx context.Context, st *runState) (*earlyGate, error) {
	plats := stepPlatforms(st.res)
	steps, err := tester.Route(st.t, plats)
	if err != nil {
		return nil, fmt.Errorf("testing the variants: %w: nothing built, no tag written", err)
	}
	g := &earlyGate{assigns: make([]tester.Assignment, len(steps)), results: make([]tester.Result, len(steps)), started: make([]bool, len(steps))}
	for i, s := range steps {
		g.assigns[i] = tester.Assignment{Variant: tester.Variant{Platform: plats[i]}, Node: s.Node, Emulated: s.Emulated}
	}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	return g, nil
}

// testing wraps a step runner: a step pushed by digest has its variant's test started at once.
func (g *earlyGate) testing(r *Runner, st *runState, run stepFunc) stepFunc {
	return func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
		desc, err := run(ctx, s)
		if err == nil {
			g.start(r, st, slices.IndexFunc(st.res.Steps, func(x StepResult) bool { return x.Platform == s.Platform }), desc)
		}
		return desc, err
	}
}

func (g *earlyGate) start(r *Runner, st *runState, i int, desc ocispec.Descriptor) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i < 0 || g.started[i] || g.ctx.Err() != nil {
		return
	}
	g.started[i] = true
	a := g.assigns[i]
	a.Image = st.p.repos[0] + "@" + desc.Digest.String()
	g.wg.Go(func() {
		var res []tester.Result
		_ = progress.Write(st.printer, fmt.Sprintf("[test] %s, node %s", a.Platform, a.Node), func() error {
			var err error
			res, err = tester.Run(g.ctx, r.dockerCli, []tester.Assignment{a}, *st.p.test, st.cleanups)
			return err
		})
		g.mu.Lock()
		defer g.mu.Unlock()
		g.results[i] = res[0]
	})
}

// stop ends the tests started (the solve failed) and waits for them.
func (g *earlyGate) stop(cause error) {
	g.cancel(cause)
	g.wg.Wait()
}

// judge waits for every test, puts each result on its step, and fails naming the variants that
// did not pass (no tag is written).
func (g *earlyGate) judge(res *Result) error {
	g.wg.Wait()
	defer g.cancel(nil)
	for i := range res.Steps {
		if !g.started[i] {
			return fmt.Errorf("testing the variants: %s was not tested: no tag written", res.Steps[i].Platform)
		}
		res.Steps[i].Test = &g.results[i]
	}
	if err := tester.Check(g.results); err != nil {
		return fmt.Errorf("%w: no tag written", err)
	}
	return nil
}
