package plan

import "slices"

// Second is where a platform is built a second time to check that it reproduces
// (--verify-reproducible): another node native to it that answered, the least busy; else one that
// emulates it; else the first node again (the caller builds it without cache). The reason says
// which, for the summary.
func Second(nodes []RouteNode, first Step, alts []Alternative) (Step, string) {
	byName := func(name string) (RouteNode, bool) {
		i := slices.IndexFunc(nodes, func(n RouteNode) bool { return n.Name == name })
		if i < 0 {
			return RouteNode{}, false
		}
		return nodes[i], true
	}
	for _, emulated := range []bool{false, true} {
		var best *Alternative
		for i, a := range alts {
			n, ok := byName(a.Node)
			if !ok || a.Error != "" || a.Emulated != emulated || a.Node == first.Node || n.EngineOnly {
				continue
			}
			if best == nil || a.Running < best.Running {
				best = &alts[i]
			}
		}
		if best == nil {
			continue
		}
		n, _ := byName(best.Node)
		s := Step{Platform: first.Platform, Node: n.Name, BuildxNode: n.BuildxNode, Dockerfile: first.Dockerfile,
			Emulated: emulated, Strategy: StrategyBuildKit, BuildKit: n.BuildKit, Running: best.Running}
		if emulated {
			return s, "no other node is native to " + first.Platform + ": emulated"
		}
		return s, "another node native to " + first.Platform
	}
	return first, "no other node builds " + first.Platform + ": the same node, without its cache"
}
