package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docker/buildx/builder"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/nodes"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// prepare checks what must hold before anything runs (the engine --load loads into), loads the
// builder's nodes, places every platform on a node that answers (route: the nodes probed, and the
// choice recorded until release), and clears stale metadata.
func (r *Runner) prepare(ctx context.Context, st *runState) (func(), error) {
	p, res := st.p, st.res
	if err := r.checkLoad(ctx, st); err != nil {
		return nil, err
	}
	nodes, err := r.buildNodes(ctx, st)
	if err != nil {
		// The builder does not load: the build fails as one that started, its old metadata gone.
		return nil, errors.Join(err, RemoveStaleMetadata(p.MetadataFile))
	}
	st.nodes = nodes
	release, err := r.route(ctx, st)
	if err != nil {
		return nil, err
	}
	if err := RemoveStaleMetadata(p.MetadataFile); err != nil {
		release()
		return nil, err
	}
	if p.Strategy != plan.StrategyBuildKit || !slices.ContainsFunc(res.Steps, func(s StepResult) bool { return s.Strategy != plan.StrategyEngine }) {
		st.nodes = nil
		return release, nil
	}
	for _, n := range nodes {
		_, warnings := proxyArgs(n.ProxyConfig)
		for _, w := range warnings {
			if !slices.Contains(res.Warnings, w) {
				res.Warnings = append(res.Warnings, w)
			}
		}
	}
	return release, nil
}

// route places every platform of the plan on a node that answers (plan.RouteWith), from facts
// gathered within the deadline, in parallel: the nodes that can build each platform probed (an
// engine through the Docker API, a BuildKit daemon through BuildKit's), the builds their BuildKits
// run (asked where a platform has several nodes to choose from), and the builds this Docker config's
// other docker multiarch processes started on them. The nodes that emulate a platform are probed
// only when none native to it answers. A node that does not answer is passed over with a warning;
// a platform none of whose nodes answers stops the build, naming them. The choice is recorded (a
// lease, see contexts.Nodes.Reserve) before the next build chooses; release ends it.
func (r *Runner) route(ctx context.Context, st *runState) (release func(), err error) {
	p, t, res, loaded := st.p, st.t, st.res, st.nodes
	if t.Fallback || len(res.Steps) == 0 {
		return func() {}, nil // one node: the current context, which answered while the target was resolved
	}
	requested := stepPlatforms(res)
	facts := r.gather(ctx, st, requested, loaded)
	var routing plan.Routing
	release, err = r.nodes.Reserve(ctx, p.Timeout, func(local map[string]int) ([]string, error) {
		for name, n := range local {
			h := facts[name]
			h.Local = n
			facts[name] = h
		}
		var err error
		if routing, err = plan.RouteWith(t.Nodes, requested, plan.RouteOptions{Health: facts, Strategy: p.Strategy, Warm: p.Warm}); err != nil {
			return nil, fmt.Errorf("nothing built: %w", err)
		}
		var chosen []string
		for _, s := range routing.Steps {
			chosen = append(chosen, s.Node)
		}
		return chosen, nil
	})
	if err != nil {
		return nil, err
	}
	applyRouting(st, routing)
	return release, nil
}

// routeDryRun is route for --dry-run: where a platform has several nodes to choose from, they are
// probed and the choice made as the build would make it (nothing is recorded); otherwise the plan
// stands as it is, unprobed.
func (r *Runner) routeDryRun(ctx context.Context, st *runState) error {
	p, t, res := st.p, st.t, st.res
	requested := stepPlatforms(res)
	if t.Fallback || !slices.ContainsFunc(requested, func(pl string) bool { return len(choices(t, pl, p.Strategy)) > 1 }) {
		return nil
	}
	loaded, err := r.buildNodes(ctx, st)
	if err != nil {
		return err
	}
	facts := r.gather(ctx, st, requested, loaded)
	for name, n := range r.nodes.Leases(ctx, p.Timeout) { // the builds this Docker config runs, as route weighs them
		h := facts[name]
		h.Local = n
		facts[name] = h
	}
	routing, err := plan.RouteWith(t.Nodes, requested, plan.RouteOptions{Health: facts, Strategy: p.Strategy, Warm: p.Warm})
	if err != nil {
		return err
	}
	applyRouting(st, routing)
	return nil
}

// buildNodes loads the builder's buildx nodes for a build on BuildKit (none for --strategy engine).
func (r *Runner) buildNodes(ctx context.Context, st *runState) (map[string]builder.Node, error) {
	p, t := st.p, st.t
	if p.Strategy != plan.StrategyBuildKit {
		return nil, nil
	}
	return r.buildNodesOnce(ctx, t, p.Timeout)
}

// choices are the nodes of a platform's first tier: the ones native to it, else those emulating it.
func choices(t builders.Target, platform, strategy string) []plan.RouteNode {
	tiers := plan.Tiers(t.Nodes, platform, strategy)
	if len(tiers[0]) > 0 {
		return tiers[0]
	}
	return tiers[1]
}

// applyRouting sets the steps' nodes from a routing, and warns of the nodes passed over.
func applyRouting(st *runState, routing plan.Routing) {
	p, res := st.p, st.res
	for i, s := range routing.Steps {
		step := &res.Steps[i]
		s.Dockerfile = step.Dockerfile
		if p.Strategy == plan.StrategyEngine {
			s.Strategy = plan.StrategyEngine
		}
		step.Step, step.Alternatives, step.Reason = s, routing.Alternatives[i], routing.Reasons[i]
	}
	for _, sk := range routing.Skipped {
		i := slices.IndexFunc(res.Steps, func(s StepResult) bool { return s.Platform == sk.Platform })
		how := ""
		if res.Steps[i].Emulated {
			how = ", emulated"
		}
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s; %s is built on node %s instead%s", sk.Err, sk.Platform, res.Steps[i].Node, how))
	}
}

// gather probes the nodes routing chooses among (see route) and returns what it found, by node.
func (r *Runner) gather(ctx context.Context, st *runState, requested []string, loaded map[string]builder.Node) map[string]plan.Health {
	p, t := st.p, st.t
	facts := map[string]plan.Health{}
	counted := map[string]bool{} // whose builds were counted (a choice between nodes needs them)
	answers := func(n plan.RouteNode) bool { return facts[n.Name].Err == "" }
	for phase := range 2 {
		probe, load, built := map[string]plan.RouteNode{}, map[string]bool{}, map[string]bool{}
		for _, pl := range requested {
			tiers := plan.Tiers(t.Nodes, pl, p.Strategy)
			var tier []plan.RouteNode
			switch {
			case phase == 0 && len(tiers[0]) > 0:
				tier = tiers[0]
			case phase == 0:
				tier = tiers[1] // no node is native to it
			case len(tiers[0]) > 0 && !slices.ContainsFunc(tiers[0], answers):
				tier = tiers[1] // none native to it answers: the nodes that emulate it
			}
			for _, n := range tier {
				h, done := facts[n.Name]
				// Again when it answered without its builds counted, and now they weigh in a choice.
				if again := done && h.Err == "" && len(tier) > 1 && !counted[n.Name]; !done || again {
					probe[n.Name] = n
					load[n.Name] = load[n.Name] || len(tier) > 1
					// where no local record says which node holds this build's cache, its history may
					built[n.Name] = built[n.Name] || (len(tier) > 1 && p.CacheKey != "" && !inTier(tier, p.Warm[pl]))
				}
			}
		}
		for name, h := range r.probeNodes(ctx, probe, nodeAsks{load: load, built: built, key: p.CacheKey}, loaded, p.Timeout) {
			facts[name], counted[name] = h, counted[name] || load[name]
		}
	}
	return facts
}

// maxHistoryWait bounds the question to a node's BuildKit history of where a build last ran.
const maxHistoryWait = 2 * time.Second

// nodeAsks say what a probe asks a node's BuildKit, beyond whether it answers: the builds it runs
// (load), and when it last built the build of key (built).
type nodeAsks struct {
	load, built map[string]bool
	key         string
}

// probeNodes probes nodes in parallel, each within timeout (the probe and the count of its builds
// together).
func (r *Runner) probeNodes(ctx context.Context, probe map[string]plan.RouteNode, asks nodeAsks, loaded map[string]builder.Node, timeout time.Duration) map[string]plan.Health {
	all, err := r.nodes.List()
	out := map[string]plan.Health{}
	if len(probe) == 0 {
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, rn := range probe {
		i := slices.IndexFunc(all, func(n contexts.Node) bool { return n.Name == name })
		if err == nil && i < 0 {
			continue // not a node: the current context a builder was made on, which answered already
		}
		wg.Go(func() {
			var h plan.Health
			if err != nil {
				h.Err = fmt.Sprintf("node %q: %v", name, err)
			} else {
				h = r.health(ctx, all[i], rn, asks, loaded, timeout)
			}
			mu.Lock()
			defer mu.Unlock()
			out[name] = h
		})
	}
	wg.Wait()
	return out
}

// health is one node's probe: it answers (its engine, or its BuildKit daemon), the builds it
// runs, and when it last built this build (asks), within timeout.
func (r *Runner) health(ctx context.Context, node contexts.Node, rn plan.RouteNode, asks nodeAsks, loaded map[string]builder.Node, timeout time.Duration) plan.Health {
	built := make(chan map[string]time.Time, 1)
	if bn, ok := loaded[rn.BuildxNode]; ok && asks.built[rn.Name] && !rn.EngineOnly {
		// Beside the probe, within a deadline of its own: a history slow to answer holds no
		// warmth, and never makes the node one that did not answer.
		go func() {
			b, _ := deadline.Value(ctx, min(timeout/4, maxHistoryWait), func(ctx context.Context) (map[string]time.Time, error) {
				return nodes.LastBuilt(ctx, bn, asks.key)
			})
			built <- b
		}()
	} else {
		built <- nil
	}
	h, err := deadline.Value(ctx, timeout, func(ctx context.Context) (plan.Health, error) {
		return r.answers(ctx, node, rn, asks.load[rn.Name], loaded, timeout)
	})
	h.Built = <-built
	if err != nil {
		h.Err = fmt.Sprintf("node %q (%s) did not answer: %v", node.Name, redact.URL(node.Endpoint), redact.Error(err))
	}
	return h
}

// answers is whether a node answers, and (load) the builds its BuildKit runs.
func (r *Runner) answers(ctx context.Context, node contexts.Node, rn plan.RouteNode, load bool, loaded map[string]builder.Node, timeout time.Duration) (plan.Health, error) {
	if bn, ok := loaded[rn.BuildxNode]; ok && load && !rn.EngineOnly && node.Kind().Engine() {
		// Counting its builds asks the engine (its BuildKit container), then BuildKit: the
		// engine answering is part of it, so no probe of its own.
		running, err := nodes.Running(ctx, bn)
		return plan.Health{Running: running}, err
	}
	st := r.nodes.Answers(ctx, node, timeout)
	if st.Err != nil {
		return plan.Health{}, st.Err
	}
	if st.BuildKit != nil {
		return plan.Health{Running: st.BuildKit.Running}, nil
	}
	return plan.Health{}, nil
}

// inTier says whether a node of that name is in tier ("" is in none).
func inTier(tier []plan.RouteNode, name string) bool {
	return slices.ContainsFunc(tier, func(n plan.RouteNode) bool { return n.Name == name })
}
