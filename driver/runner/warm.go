package runner

import (
	"context"
	"sync"
	"time"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/nodes"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// warmNodes loads a builder's nodes (once for the command) and connects to the BuildKit of each
// node that runs, of the buildx nodes named in only and not connected to ahead yet, in parallel
// (through its engine, a docker exec, about 0.2 s; the node's driver handle keeps the connection
// for the build). It only reads: a node whose BuildKit is not running is not started, and what
// fails is not reported (the build says it). It returns when all are connected or failed, or
// ctx ends.
func (r *Runner) warmNodes(ctx context.Context, t builders.Target, only map[string]bool, timeout time.Duration) {
	if t.Fallback || r.memo == nil || len(only) == 0 {
		return // the current context's node: loaded by the build itself
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	loaded, err := r.buildNodesOnce(ctx, t, timeout)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for name, n := range loaded {
		if n.Driver != nil && only[name] && r.memo.firstWarm(name) {
			wg.Go(func() { // its driver handle keeps the client, connected; the dial ignores ctx, so it is bounded here
				_, _ = deadline.Value(ctx, timeout, func(ctx context.Context) (int, error) { return nodes.Running(ctx, n) })
			})
		}
	}
	wg.Wait()
}

// preflight checks what a build reads before any node works: its bases, then its push access
// (a long build is not lost to a refused push). Meanwhile its nodes are connected to (warmBuild).
func (r *Runner) preflight(ctx context.Context, st *runState) error {
	r.warmBuild(ctx, st)
	err := r.checkBases(ctx, st)
	st.res.Warnings = append(st.res.Warnings, baseWarnings(st.res)...)
	if err == nil {
		err = r.checkPushAccess(ctx, st)
	}
	return err
}

// warmBuild starts warmNodes for a build, once its plan is made (warmSet). It ends by itself,
// within the build's --timeout, or with ctx.
func (r *Runner) warmBuild(ctx context.Context, st *runState) {
	if only := warmSet(st); len(only) > 0 {
		go r.warmNodes(ctx, st.t, only, st.p.Timeout)
	}
}

// warmSet are the buildx nodes a build's platforms choose among (the ones native to each, else
// those emulating it): none for a dry run, --strategy engine or the current context's builder.
func warmSet(st *runState) map[string]bool {
	p, t := st.p, st.t
	if p.DryRun || p.Strategy != plan.StrategyBuildKit || t.Fallback {
		return nil
	}
	return nodesChoosing(t, stepPlatforms(st.res), p.Strategy)
}

// nodesChoosing are the buildx nodes of t the platforms choose among.
func nodesChoosing(t builders.Target, platforms []string, strategy string) map[string]bool {
	only := map[string]bool{}
	for _, pl := range platforms {
		for _, n := range choices(t, pl, strategy) {
			if !n.EngineOnly {
				only[n.BuildxNode] = true
			}
		}
	}
	return only
}

// WarmPlatforms starts connecting to the nodes of the builder name resolves to that the builds'
// platforms choose among (a build of none: the builder's default platforms), as each build's
// warmNodes would, but before any is planned (bake: while the push access is checked). It
// returns at once; the connecting ends by itself within timeout, or with ctx.
func (r *Runner) WarmPlatforms(ctx context.Context, name string, builds [][]string, timeout time.Duration) {
	go func() {
		t, err := r.builders.Resolve(ctx, name, timeout)
		if err != nil || t.Fallback {
			return
		}
		r.warmNodes(ctx, t, buildsWarmSet(t, builds), timeout)
	}()
}

// buildsWarmSet is warmSet for builds not planned yet: the nodes of t each build's platforms
// choose among (none given: t's default platforms); none when a build's platforms do not parse
// (the build says it).
func buildsWarmSet(t builders.Target, builds [][]string) map[string]bool {
	var requested []string
	for _, platforms := range builds {
		parsed, err := contexts.ParsePlatforms(platforms)
		if err != nil {
			return nil
		}
		if len(parsed) == 0 {
			parsed = plan.DefaultPlatforms(t.Nodes)
		}
		requested = append(requested, parsed...)
	}
	return nodesChoosing(t, requested, plan.StrategyBuildKit)
}
