package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/moby/buildkit/client"
)

// planSecond places every platform's second build (plan.Second) once the first ones are routed.
func planSecond(st *runState) error {
	p, res := st.p, st.res
	if p.VerifyReproducible == VerifyOff {
		return nil
	}
	if err := needsSecondNodes(st); err != nil {
		return err
	}
	st.second = make([]StepResult, len(res.Steps))
	for i, s := range res.Steps {
		second, why := plan.Second(st.t.Nodes, s.Step, s.Alternatives)
		setSecond(st, i, second, why)
	}
	return nil
}

func setSecond(st *runState, i int, second plan.Step, why string) {
	s := &st.res.Steps[i]
	st.second[i] = StepResult{Step: second, label: s.Platform + " (again)"}
	s.Reproduced = &Reproduction{Node: second.Node, Emulated: second.Emulated, SameNode: second.Node == s.Node, Why: why}
}

// holdSecond checks, within --timeout, that the nodes chosen for second builds answer (routing
// did not probe every one: those that emulate a platform only when no native one answered); a
// platform whose second node does not is built again on its first node. The nodes are then leased
// as the first builds' are, so builds started together spread over them too; release ends it.
func (r *Runner) holdSecond(ctx context.Context, st *runState) (release func(), err error) {
	probe := map[string]plan.RouteNode{}
	for _, s := range st.second {
		if i := slices.IndexFunc(st.t.Nodes, func(n plan.RouteNode) bool { return n.Name == s.Node }); i >= 0 && !sameNodeStep(st, s) {
			probe[s.Node] = st.t.Nodes[i]
		}
	}
	health := r.probeNodes(ctx, probe, nodeAsks{}, st.nodes, st.p.Timeout)
	var chosen []string
	for i, s := range st.second {
		if h, ok := health[s.Node]; ok && h.Err != "" {
			first := st.res.Steps[i]
			setSecond(st, i, first.Step, h.Err+": the same node, without its cache")
		}
		chosen = append(chosen, st.second[i].Node)
	}
	return r.nodes.Reserve(ctx, st.p.Timeout, func(map[string]int) ([]string, error) { return chosen, nil })
}

func sameNodeStep(st *runState, s StepResult) bool {
	i := slices.IndexFunc(st.res.Steps, func(x StepResult) bool { return x.Platform == s.Platform })
	return i >= 0 && st.res.Steps[i].Node == s.Node
}

// needsSecondNodes refuses --verify-reproducible without a multiarch builder, or for a platform
// an engine builds, before anything runs.
func needsSecondNodes(st *runState) error {
	if st.p.VerifyReproducible == VerifyOff {
		return nil
	}
	if st.t.Fallback {
		return errors.New("--verify-reproducible builds each platform a second time on another node: it needs a multiarch builder (docker multiarch create)")
	}
	for _, s := range st.res.Steps {
		if s.Strategy == plan.StrategyEngine {
			return fmt.Errorf("--verify-reproducible: %s is built by the engine of node %s, which it cannot check", s.Platform, s.Node)
		}
	}
	return nil
}

// secondOptions are the options of a platform's second build: the same build (its attestations
// too: on older BuildKits they decide the image's media types), without cache (not the node's,
// not a registry's, none exported but BuildKit's inline cache, which is part of the image's
// config), nothing delivered but the image pushed by digest to the first repository.
func (p *parsed) secondOptions() *parsed {
	p2 := *p
	p2.NoCache = true
	p2.cacheFrom, p2.CacheRef = nil, ""
	p2.cacheTo = slices.DeleteFunc(slices.Clone(p.cacheTo), func(e client.CacheOptionsEntry) bool { return e.Type != "inline" })
	p2.outputs, p2.Load, p2.MetadataFile, p2.test = nil, false, "", nil
	p2.repos = p.repos[:1:1]
	p2.solveAttrs = maps.Clone(p.solveAttrs)
	delete(p2.solveAttrs, "no-cache") // a --no-cache-filter would narrow the whole build's --no-cache
	return &p2
}
