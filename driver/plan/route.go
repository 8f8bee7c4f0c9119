package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Health is what a probe found out about a node just before routing.
type Health struct {
	// Err is why the node did not answer within the deadline, naming it; "" when it answered.
	Err string
	// Running is how many builds its BuildKit runs now.
	Running int
	// Local is how many builds this machine's other docker multiarch processes run on it (they
	// may not have reached its BuildKit yet).
	Local int
	// Built is, by platform, when its BuildKit last completed this build (its build history, which
	// knows other machines' and CI runners' builds); asked only where no local record says.
	Built map[string]time.Time
}

// load is how busy a node is: the builds it reports, or the ones this machine started on it when
// they have not all reached it yet.
func (h Health) load() int { return max(h.Running, h.Local) }

// RouteOptions are the facts routing weighs, gathered by the caller (plan does no I/O).
type RouteOptions struct {
	// Health is by node name. A node without an entry was not probed: it is taken as answering
	// and idle (a plan made before the probes, or a platform only one node builds).
	Health map[string]Health
	// Strategy StrategyEngine builds on engines: BuildKit daemons cannot take a platform.
	Strategy string
	// Warm is, by platform, the node that built this build last (it holds its cache): preferred
	// over the others while it is not busier than the least loaded.
	Warm map[string]string
}

// Alternative is a node that could also build a step's platform.
type Alternative struct {
	Node     string `json:"node"`
	Emulated bool   `json:"emulated,omitempty"`
	Running  int    `json:"running"`
	Error    string `json:"error,omitempty"`
}

// Skip is a node passed over because it did not answer, while another node builds the platform.
type Skip struct {
	Platform, Node, Err string
}

// Routing is where every platform goes, and the nodes passed over on the way.
type Routing struct {
	Steps []Step
	// Alternatives are, per step, the other nodes that build its platform, as routing saw them.
	Alternatives [][]Alternative
	// Reasons say, per step, why its node was chosen among others: warm (it holds this build's
	// cache), least loaded, or the only one answering; "" when it was the only node.
	Reasons []string
	Skipped []Skip
}

// Route assigns each platform to a node (see RouteWith), with no probe facts.
func Route(nodes []RouteNode, requested []string) ([]Step, error) {
	r, err := RouteWith(nodes, requested, RouteOptions{})
	return r.Steps, err
}

// Tiers are the nodes that build a platform, best first: the ones native to it, then the ones
// that emulate it (only with --emulate at create). Under the engine strategy BuildKit daemons are
// left out.
func Tiers(nodes []RouteNode, platform, strategy string) [][]RouteNode {
	var native, emulated []RouteNode
	for _, n := range nodes {
		if strategy == StrategyEngine && n.BuildKit {
			continue
		}
		if slices.Contains(n.Native, platform) {
			native = append(native, n)
		} else if slices.Contains(n.Emulated, platform) {
			emulated = append(emulated, n)
		}
	}
	return [][]RouteNode{native, emulated}
}

// RouteWith assigns each platform, those with fewest nodes to choose from first, to a node: among the nodes native to it
// that answer, else among those that emulate it, the one with the fewest builds (those it runs,
// and those this build has already given it), the builder's node order breaking ties; so a build,
// and builds running at once, spread over the nodes. A platform no node builds, or whose nodes
// all failed to answer, stops the plan before anything runs; there is no other fallback.
func RouteWith(nodes []RouteNode, requested []string, o RouteOptions) (Routing, error) {
	tiers := make([][][]RouteNode, len(requested))
	for i, p := range requested {
		tiers[i] = Tiers(nodes, p, o.Strategy)
		if len(tiers[i][0])+len(tiers[i][1]) == 0 {
			return Routing{}, noNode(nodes, p, o.Strategy)
		}
	}
	assigned := map[string]int{}
	out := Routing{Steps: make([]Step, len(requested)), Alternatives: make([][]Alternative, len(requested)), Reasons: make([]string, len(requested))}
	for _, i := range constrainedFirst(tiers, o) {
		step, alts, skipped, reason, err := place(requested[i], tiers[i], o, assigned)
		if err != nil {
			return Routing{}, err
		}
		assigned[step.Node]++
		out.Steps[i], out.Alternatives[i], out.Reasons[i] = step, alts, reason
		out.Skipped = append(out.Skipped, skipped...)
	}
	return out, nil
}

// constrainedFirst is the order platforms are placed in: those with the fewest nodes to choose
// from first (a platform only one node builds goes there whatever the load), the requested order
// breaking ties; so the others see that load and go elsewhere.
func constrainedFirst(tiers [][][]RouteNode, o RouteOptions) []int {
	order := make([]int, len(tiers))
	choices := make([]int, len(tiers))
	for i := range tiers {
		order[i], choices[i] = i, len(answering(usable(tiers[i], o), o))
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(choices[a], choices[b]) })
	return order
}

// usable is the first tier with a node that answers, else the native tier (or the emulated one,
// for a platform without native nodes).
func usable(tiers [][]RouteNode, o RouteOptions) []RouteNode {
	for _, t := range tiers {
		if len(answering(t, o)) > 0 {
			return t
		}
	}
	if len(tiers[0]) > 0 {
		return tiers[0]
	}
	return tiers[1]
}

func answering(nodes []RouteNode, o RouteOptions) []RouteNode {
	return slices.DeleteFunc(slices.Clone(nodes), func(n RouteNode) bool { return o.Health[n.Name].Err != "" })
}

// place picks the node of one platform.
func place(p string, tiers [][]RouteNode, o RouteOptions, assigned map[string]int) (Step, []Alternative, []Skip, string, error) {
	emulated := len(answering(tiers[0], o)) == 0 && len(answering(tiers[1], o)) > 0
	tier := answering(usable(tiers, o), o)
	if len(tier) == 0 {
		var errs []string
		for _, n := range slices.Concat(tiers...) {
			errs = append(errs, o.Health[n.Name].Err)
		}
		return Step{}, nil, nil, "", fmt.Errorf("no node that builds %s answers: %s", p, strings.Join(errs, "; "))
	}
	best, reason := pick(p, tier, o, assigned)
	strategy := StrategyBuildKit
	if best.EngineOnly {
		strategy = StrategyEngine
	}
	step := Step{Platform: p, Node: best.Name, BuildxNode: best.BuildxNode, Emulated: emulated, Strategy: strategy,
		BuildKit: best.BuildKit, Running: o.Health[best.Name].Running}
	if len(slices.Concat(tiers...)) == 1 {
		reason = ""
	}
	var alts []Alternative
	var skipped []Skip
	for t, list := range tiers {
		for _, n := range list {
			h := o.Health[n.Name]
			if n.Name != best.Name {
				alts = append(alts, Alternative{Node: n.Name, Emulated: t == 1, Running: h.Running, Error: h.Err})
			}
			if h.Err != "" && (t == 0 || emulated) {
				skipped = append(skipped, Skip{Platform: p, Node: n.Name, Err: h.Err})
			}
		}
	}
	return step, alts, skipped, reason, nil
}

// pick chooses among the answering nodes of a tier: the one with the fewest builds (those it runs,
// and those this build has already given it), the builder's node order breaking ties; but the
// warm node (it built this last: its cache has the steps) while it is no busier than that one, so
// rebuilds find their cache and builds started together still spread.
func pick(p string, tier []RouteNode, o RouteOptions, assigned map[string]int) (RouteNode, string) {
	load := func(n RouteNode) int { return o.Health[n.Name].load() + assigned[n.Name] }
	best := tier[0]
	for _, n := range tier[1:] {
		if load(n) < load(best) {
			best = n
		}
	}
	if len(tier) == 1 {
		return best, "the only one answering"
	}
	w, why := o.Warm[p], "warm: it built this last"
	if w == "" {
		w, why = builtLast(p, tier, o), "warm: its BuildKit built this last"
	}
	if w != "" {
		if i := slices.IndexFunc(tier, func(n RouteNode) bool { return n.Name == w }); i >= 0 && load(tier[i]) <= load(best) {
			return tier[i], why
		}
	}
	return best, "least loaded"
}

// builtLast is the node of tier whose BuildKit history has this build of p completed last; "" for
// none.
func builtLast(p string, tier []RouteNode, o RouteOptions) string {
	var name string
	var at time.Time
	for _, n := range tier {
		if t := o.Health[n.Name].Built[p]; t.After(at) {
			name, at = n.Name, t
		}
	}
	return name
}

// noNode is the error of a platform no node of the builder builds.
func noNode(nodes []RouteNode, p, strategy string) error {
	if strategy == StrategyEngine {
		var daemons []string
		for _, n := range Tiers(nodes, p, "") {
			for _, d := range n {
				daemons = append(daemons, d.Name)
			}
		}
		if len(daemons) > 0 {
			return fmt.Errorf("--strategy engine: no node builds %s with an engine: %s %s (no Docker engine to build with; use --strategy buildkit)",
				p, strings.Join(daemons, ", "), aDaemon(len(daemons)))
		}
	}
	return fmt.Errorf("no node builds %s: %s (add a node native to it, or emulate it with `docker multiarch create --emulate %s=NODE`)",
		p, describeNodes(nodes), p)
}

func aDaemon(n int) string {
	if n == 1 {
		return "is a BuildKit daemon"
	}
	return "are BuildKit daemons"
}

func describeNodes(nodes []RouteNode) string {
	var parts []string
	for _, n := range nodes {
		s := n.Name + " (" + strings.Join(n.Native, ",")
		if len(n.Emulated) > 0 {
			s += "; emulated " + strings.Join(n.Emulated, ",")
		}
		parts = append(parts, s+")")
	}
	if len(parts) == 0 {
		return "the builder has no nodes"
	}
	return "nodes are " + strings.Join(parts, ", ")
}
