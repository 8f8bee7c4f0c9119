package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
)

// earlyGate runs each variant's test as soon as its platform is pushed, while the other platforms
// still build (issue 22); the gate stage waits for every test and judges them, so the publish
// starts when the last one passed. A variant whose test exits (not a server) on Linux runs in the
// BuildKit of a node native to it (the one that built it when it is: its layers are there), as a
// step that is never cached; the others run in an engine's container (tester.Run). Its tests end
// with the solve when the solve fails.
type earlyGate struct {
	index   map[string]int      // a platform's step, read before anything builds (the steps are written as they run)
	assigns []tester.Assignment // by step; each Variant's image set when its step pushed
	inBK    []*builder.Node     // by step: the node whose BuildKit runs the test (nil: an engine)
	results []tester.Result
	started []bool
	mu      sync.Mutex
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelCauseFunc
}

// startGate places every variant's test before anything builds: in a BuildKit where it can, else
// on an engine (tester.Route); a platform nothing can test stops the build here.
func (r *Runner) startGate(ctx context.Context, st *runState) (*earlyGate, error) {
	plats := stepPlatforms(st.res)
	g := &earlyGate{index: platformIndex(st.res.Steps), assigns: make([]tester.Assignment, len(plats)), inBK: make([]*builder.Node, len(plats)),
		results: make([]tester.Result, len(plats)), started: make([]bool, len(plats))}
	var onEngines []int
	for i, s := range st.res.Steps {
		n, name, emulated := testNode(st, s)
		if n == nil || !st.p.test.InBuildKit(s.Platform) {
			onEngines = append(onEngines, i)
			continue
		}
		g.inBK[i] = n
		g.assigns[i] = tester.Assignment{Variant: tester.Variant{Platform: s.Platform}, Node: name, Emulated: emulated}
	}
	if len(onEngines) > 0 {
		var ps []string
		for _, i := range onEngines {
			ps = append(ps, plats[i])
		}
		steps, err := tester.Route(st.t, ps)
		if err != nil {
			return nil, fmt.Errorf("testing the variants: %w: nothing built, no tag written", err)
		}
		for k, i := range onEngines {
			g.assigns[i] = tester.Assignment{Variant: tester.Variant{Platform: plats[i]}, Node: steps[k].Node, Emulated: steps[k].Emulated}
		}
	}
	g.ctx, g.cancel = context.WithCancelCause(ctx)
	return g, nil
}

// platformIndex is each platform's step (one per platform).
func platformIndex(steps []StepResult) map[string]int {
	out := make(map[string]int, len(steps))
	for i, s := range steps {
		out[s.Platform] = i
	}
	return out
}

// testNode is where a variant's test runs in BuildKit: the node that builds it when it is native
// to the platform, else a node native to it, else the node that builds it (emulating); nil when
// the step is not a BuildKit build.
func testNode(st *runState, s StepResult) (*builder.Node, string, bool) {
	if s.Strategy == plan.StrategyEngine || st.nodes == nil {
		return nil, "", false
	}
	loaded := func(buildx string) (*builder.Node, bool) {
		n, ok := st.nodes[buildx]
		return &n, ok && n.Driver != nil && n.Err == nil
	}
	if n, ok := loaded(s.BuildxNode); ok && !s.Emulated {
		return n, s.Node, false
	}
	for _, rn := range plan.Tiers(st.t.Nodes, s.Platform, plan.StrategyBuildKit)[0] {
		dark := slices.ContainsFunc(s.Alternatives, func(a plan.Alternative) bool { return a.Node == rn.Name && a.Error != "" })
		if n, ok := loaded(rn.BuildxNode); ok && !rn.EngineOnly && !dark {
			return n, rn.Name, false
		}
	}
	if n, ok := loaded(s.BuildxNode); ok {
		return n, s.Node, true
	}
	return nil, "", false
}

// testing wraps a step runner: a step pushed by digest has its variant's test started at once.
func (g *earlyGate) testing(r *Runner, st *runState, run stepFunc) stepFunc {
	return func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
		desc, err := run(ctx, s)
		if err == nil {
			i, ok := g.index[s.Platform]
			if !ok {
				i = -1
			}
			g.start(r, st, i, desc)
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
	a, node := g.assigns[i], g.inBK[i]
	a.Image = st.p.repos[0] + "@" + desc.Digest.String()
	g.wg.Go(func() {
		var res tester.Result
		_ = progress.Write(st.printer, fmt.Sprintf("[test] %s, node %s", a.Platform, a.Node), func() error {
			res = r.testOne(g.ctx, st, a, node, desc)
			if !res.Passed {
				return tester.Check([]tester.Result{res})
			}
			return nil
		})
		g.mu.Lock()
		defer g.mu.Unlock()
		g.results[i] = res
	})
}

// testOne runs one variant's test: in node's BuildKit (its config read from the registry), else
// on an engine.
func (r *Runner) testOne(ctx context.Context, st *runState, a tester.Assignment, node *builder.Node, desc ocispec.Descriptor) tester.Result {
	if node == nil {
		res, _ := tester.Run(ctx, r.dockerCli, []tester.Assignment{a}, *st.p.test, st.cleanups)
		return res[0]
	}
	img, cfg, err := r.variantConfig(ctx, st, desc, a.Platform)
	if err != nil {
		return tester.Result{Assignment: a, ExitCode: -1, Reason: "reading the image's config: " + err.Error()}
	}
	auth := authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{AuthConfigProvider: r.registry.Auth()})
	run := a
	run.Image = st.p.repos[0] + "@" + img.String() // the platform's image itself: BuildKit reads no index
	res := tester.RunInBuildKit(ctx, *node, run, cfg, *st.p.test, auth)
	res.Assignment = a
	return res
}

// variantConfig is the image of platform in what a step pushed, and its config: read by the
// descriptor BuildKit gave (no HEAD), else by reference.
func (r *Runner) variantConfig(ctx context.Context, st *runState, desc ocispec.Descriptor, platform string) (digest.Digest, ocispec.Image, error) {
	reg, repo := r.registry.WithTimeout(st.p.Timeout), st.p.repos[0]
	if desc.Size > 0 && desc.MediaType != "" {
		return reg.VariantConfig(ctx, repo, desc, platform)
	}
	img, err := imageOf(ctx, reg, repo, desc, platform)
	if err != nil {
		return "", ocispec.Image{}, err
	}
	cfg, err := reg.ImageConfig(ctx, repo+"@"+img.String())
	return img, cfg, err
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
