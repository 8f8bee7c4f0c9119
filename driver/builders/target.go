package builders

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/dockerutil"
	"github.com/moby/moby/client"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Target is the builder a build runs on and how routing sees its nodes.
type Target struct {
	Name string // buildx builder name; "" for the current context's own BuildKit
	// Companion is the buildx builder of its BuildKit daemons beside its engines (see groups).
	Companion string
	Nodes     []plan.RouteNode
	Fallback  bool // no multiarch builder: the current context builds everything, emulating the rest
}

// Resolve picks the builder: --builder, then $BUILDX_BUILDER, then the current buildx builder
// when it is a multiarch one, then one named "multiarch"; with none of those, the current Docker
// context's engine builds every platform (emulating what it does not run natively), so a bare
// Docker Desktop works.
func (m *Manager) Resolve(ctx context.Context, name string, timeout time.Duration) (Target, error) {
	nodes, err := m.nodes.List()
	if err != nil {
		return Target{}, err
	}
	idx := indexNodes(nodes)
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return Target{}, err
	}
	defer release()
	explicit := name != ""
	if name == "" {
		name = os.Getenv("BUILDX_BUILDER")
		explicit = name != ""
	}
	for _, candidate := range m.builderCandidates(txn, name) {
		if candidate == "" {
			continue
		}
		g, err := readGroups(txnReader(txn), candidate)
		if err != nil {
			return Target{}, err
		}
		if g.primary != nil && isMultiarch(g.primary, idx) {
			t := Target{Name: g.primary.Name, Nodes: append(routeNodes(g, idx), windowsNodes(nodes, g, idx)...)}
			if g.companion != nil && isMultiarch(g.companion, idx) {
				t.Companion = g.companion.Name
			}
			return t, nil
		}
		if explicit {
			return Target{}, notMultiarch(candidate, g.primary)
		}
	}
	return m.currentContextTarget(ctx, timeout)
}

func (m *Manager) builderCandidates(txn *store.Txn, name string) []string {
	if name != "" {
		return []string{name}
	}
	return []string{m.currentBuilder(txn), DefaultBuilder}
}

func notMultiarch(name string, ng *store.NodeGroup) error {
	if ng == nil {
		return fmt.Errorf("builder %q not found (see `docker multiarch ls`; create it with `docker multiarch create %s`)", name, name)
	}
	return fmt.Errorf("builder %q is not a multiarch builder: its nodes are not all multiarch nodes (see `docker multiarch ls`)", name)
}

// routeNodes: a node's pinned platforms that are its own are native, the others emulated.
func routeNodes(g groups, idx nodeIndex) []plan.RouteNode {
	var out []plan.RouteNode
	for _, ng := range g.list() {
		if ng == g.companion && !isMultiarch(ng, idx) {
			continue
		}
		for _, n := range ng.Nodes {
			member, _ := idx.member(ng, n)
			rn := plan.RouteNode{Name: member.Name, BuildxNode: n.Name, BuildKit: !member.Kind().Engine()}
			for _, p := range n.Platforms {
				f := platforms.Format(platforms.Normalize(p))
				if slices.Contains(member.Platforms, f) {
					rn.Native = append(rn.Native, f)
				} else {
					rn.Emulated = append(rn.Emulated, f)
				}
			}
			out = append(out, rn)
		}
	}
	return out
}

// windowsNodes are the Windows nodes outside the builder (BuildKit has no Windows workers here):
// their own engines build the Windows platforms.
func windowsNodes(nodes []contexts.Node, g groups, idx nodeIndex) []plan.RouteNode {
	var out []plan.RouteNode
	for _, n := range nodes {
		if !n.Kind().Engine() || slices.ContainsFunc(g.list(), func(ng *store.NodeGroup) bool {
			return slices.ContainsFunc(ng.Nodes, func(s store.Node) bool { return idx.memberName(ng, s) == n.Name })
		}) {
			continue
		}
		var win []string
		for _, p := range n.Platforms {
			if strings.HasPrefix(p, "windows/") {
				win = append(win, p)
			}
		}
		if len(win) > 0 {
			out = append(out, plan.RouteNode{Name: n.Name, Native: win, EngineOnly: true})
		}
	}
	return out
}

// currentContextTarget is the fallback: the current context's engine, native to its own platform.
func (m *Manager) currentContextTarget(ctx context.Context, timeout time.Duration) (Target, error) {
	ep, err := dockerutil.GetCurrentEndpoint(m.dockerCli)
	if err != nil {
		return Target{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := m.dockerCli.Client().Info(ctx, client.InfoOptions{})
	if err != nil {
		return Target{}, fmt.Errorf("no multiarch builder, and the current Docker context %q (%s) does not answer: %w",
			m.dockerCli.CurrentContext(), redact.URL(ep), redact.Error(err))
	}
	p, err := contexts.EnginePlatform(info.Info.OSType, info.Info.Architecture)
	if err != nil {
		return Target{}, err
	}
	name := m.dockerCli.CurrentContext()
	return Target{Fallback: true, Nodes: []plan.RouteNode{{Name: name, BuildxNode: name, Native: []string{platforms.Format(p)}}}}, nil
}

// WithEmulation lets the fallback node emulate every requested platform it does not run natively.
func (t Target) WithEmulation(requested []string) Target {
	if !t.Fallback {
		return t
	}
	n := t.Nodes[0]
	n.Emulated = nil
	for _, p := range requested {
		if !slices.Contains(n.Native, p) {
			n.Emulated = append(n.Emulated, p)
		}
	}
	t.Nodes = []plan.RouteNode{n}
	return t
}

// BuildNodes loads the target's buildx nodes by name, within timeout: the builder's nodes (its
// companion's too), or the current context's own BuildKit for the fallback (keyed by the context's
// name). A BuildKit daemon's node names its multiarch node in Endpoint, as engine nodes do.
func (m *Manager) BuildNodes(ctx context.Context, t Target, timeout time.Duration) (map[string]builder.Node, error) {
	if t.Fallback {
		b, err := builder.New(m.dockerCli, builder.WithSkippedValidation())
		if err != nil {
			return nil, fmt.Errorf("builder %q: %w", t.Name, redact.Error(err))
		}
		lctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		loaded, err := b.LoadNodes(lctx)
		if err != nil {
			return nil, fmt.Errorf("builder %q: %w", b.Name, redact.Error(err))
		}
		out := map[string]builder.Node{}
		for _, n := range loaded {
			n.Err = redact.Error(n.Err)
			out[t.Nodes[0].BuildxNode] = n
		}
		return out, nil
	}
	out := map[string]builder.Node{}
	byBuildx := map[string]string{}
	for _, n := range t.Nodes {
		byBuildx[n.BuildxNode] = n.Name
	}
	for _, name := range []string{t.Name, t.Companion} {
		if name == "" {
			continue
		}
		loaded, err := loadBuilder(ctx, m.dockerCli, name, timeout)
		if err != nil {
			return nil, err
		}
		for _, n := range loaded {
			n.Err = redact.Error(n.Err)
			if member, ok := byBuildx[n.Name]; ok {
				n.Endpoint = member
			}
			out[n.Name] = n
		}
	}
	return out, nil
}
