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
	Name     string // buildx builder name; "" for the current context's own BuildKit
	Nodes    []plan.RouteNode
	Fallback bool // no multiarch builder: the current context builds everything, emulating the rest
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
	endpoints := map[string]contexts.Node{}
	for _, n := range nodes {
		endpoints[n.Name] = n
	}
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
		ng, err := nodeGroup(txn, candidate)
		if err != nil {
			return Target{}, err
		}
		if ng != nil && isMultiarch(ng, nodeEndpointMap(endpoints)) {
			return Target{Name: ng.Name, Nodes: append(routeNodes(ng, endpoints), windowsNodes(nodes, ng)...)}, nil
		}
		if explicit {
			return Target{}, notMultiarch(candidate, ng)
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

func nodeEndpointMap(nodes map[string]contexts.Node) map[string]string {
	out := map[string]string{}
	for k, v := range nodes {
		out[k] = v.Endpoint
	}
	return out
}

// routeNodes: a node's pinned platforms that are its own are native, the others emulated.
func routeNodes(ng *store.NodeGroup, nodes map[string]contexts.Node) []plan.RouteNode {
	var out []plan.RouteNode
	for _, n := range ng.Nodes {
		native := nodes[n.Endpoint].Platforms
		rn := plan.RouteNode{Name: n.Endpoint, BuildxNode: n.Name}
		for _, p := range n.Platforms {
			f := platforms.Format(platforms.Normalize(p))
			if slices.Contains(native, f) {
				rn.Native = append(rn.Native, f)
			} else {
				rn.Emulated = append(rn.Emulated, f)
			}
		}
		out = append(out, rn)
	}
	return out
}

// windowsNodes are the Windows nodes outside the builder (BuildKit has no Windows workers here):
// their own engines build the Windows platforms.
func windowsNodes(nodes []contexts.Node, ng *store.NodeGroup) []plan.RouteNode {
	var out []plan.RouteNode
	for _, n := range nodes {
		if slices.ContainsFunc(ng.Nodes, func(s store.Node) bool { return s.Endpoint == n.Name }) {
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

// BuildNodes loads the target's buildx nodes by name, within timeout: the builder's nodes, or the
// current context's own BuildKit for the fallback (keyed by the context's name).
func (m *Manager) BuildNodes(ctx context.Context, t Target, timeout time.Duration) (map[string]builder.Node, error) {
	opts := []builder.Option{builder.WithSkippedValidation()}
	if !t.Fallback {
		opts = append(opts, builder.WithName(t.Name))
	}
	b, err := builder.New(m.dockerCli, opts...)
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
		key := n.Name
		n.Err = redact.Error(n.Err)
		if t.Fallback {
			key = t.Nodes[0].BuildxNode
		}
		out[key] = n
	}
	return out, nil
}
