package builders

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// ApplyResult says what Apply changed.
type ApplyResult struct {
	Created bool     // the builder did not exist
	Changed bool     // false: the stored builder already matched the spec
	Added   []string // nodes that joined
	Removed []string // nodes that left (their BuildKit containers removed where reachable)
	// Unreachable holds, for nodes that left, why their BuildKit container could not be removed.
	Unreachable map[string]error
}

// Apply makes the stored buildx builder match the spec: created if missing, nodes appended and
// dropped, nothing written when it already matches. Every node must answer within timeout; if one
// does not, or buildx cannot load the builder, the stored builder is left byte for byte as it was.
// It is Create without its optional steps.
func (m *Manager) Apply(ctx context.Context, spec BuilderSpec, timeout time.Duration) (ApplyResult, error) {
	res, err := m.Create(ctx, spec, CreateOptions{}, timeout)
	return res.Apply, err
}

// apply makes the stored builder match desired, under the store lock the caller holds. It returns
// the builder's store files as they were before it wrote them (nil when nothing changed), and the
// nodes that left, whose BuildKit containers go once the whole create succeeds. If the builder
// cannot be written or loaded, its files are put back before apply returns.
func (m *Manager) apply(ctx context.Context, txn *store.Txn, cfg *confutil.Config, desired *store.NodeGroup, timeout time.Duration) (ApplyResult, *fileSet, []builderNode, error) {
	current, err := nodeGroup(txn, desired.Name)
	if err != nil {
		return ApplyResult{}, nil, nil, err
	}
	if current != nil && current.Driver != containerDriver {
		return ApplyResult{}, nil, nil, fmt.Errorf("builder %q exists with the %s driver; multiarch builders use %s (choose another name, or `docker buildx rm %s`)",
			desired.Name, current.Driver, containerDriver, desired.Name)
	}
	merged, res := merge(current, desired)
	if !res.Changed {
		return res, nil, nil, nil
	}
	files, err := snapshotFiles(cfg, fmt.Sprintf("builder %q", merged.Name), builderFiles(merged.Name)...)
	if err != nil {
		return res, nil, nil, err
	}
	leaving := leavingNodes(ctx, m.dockerCli, txn, current, res.Removed, timeout)
	err = txn.Save(merged) // writes activity/NAME, then instances/NAME
	if err != nil {
		err = fmt.Errorf("saving builder %q: %w", merged.Name, err)
	} else {
		var nodes []builderNode
		if _, nodes, err = loadNodes(ctx, m.dockerCli, txn, merged.Name, timeout, true); err == nil {
			err = nodesError(nodes)
		}
	}
	if err != nil {
		return res, nil, nil, putBack(merged.Name, "unchanged", err, files)
	}
	return res, files, leaving, nil
}

// putBack restores the store files create wrote, after err, and says how the builder was left.
func putBack(name, how string, err error, sets ...*fileSet) error {
	var rerrs []error
	for _, s := range sets {
		if rerr := s.restore(); rerr != nil {
			rerrs = append(rerrs, rerr)
		}
	}
	return leftAs(name, how, err, rerrs)
}

// leftAs is the error of a create that failed with err and was put back, with the errors of what
// could not be put back.
func leftAs(name, how string, err error, rerrs []error) error {
	if len(rerrs) > 0 {
		return fmt.Errorf("builder %q: %w; it could not all be put back as it was: %w", name, err, errors.Join(rerrs...))
	}
	return fmt.Errorf("builder %q %s: %w", name, how, err)
}

// nodesError names every node buildx could not load.
func nodesError(nodes []builderNode) error {
	var errs []error
	for _, n := range nodes {
		if n.Err != nil {
			errs = append(errs, fmt.Errorf("node %q (buildx node %s): %w", n.Endpoint, n.Name, redact.Error(n.Err)))
		}
	}
	return errors.Join(errs...)
}

// checkReachable probes every node's engine in parallel, each within timeout, before anything is written.
func (m *Manager) checkReachable(ctx context.Context, nodes []NodeSpec, timeout time.Duration) error {
	var list []contexts.Node
	for _, n := range nodes {
		list = append(list, n.Node)
	}
	return m.Unreachable(ctx, list, timeout)
}

// merge applies the desired nodes to the stored builder: kept nodes keep their place, new ones are
// appended, the rest leave. Changed is false when the result equals what is stored.
func merge(current, desired *store.NodeGroup) (*store.NodeGroup, ApplyResult) {
	res := ApplyResult{Created: current == nil}
	if current == nil {
		for _, n := range desired.Nodes {
			res.Added = append(res.Added, n.Endpoint)
		}
		res.Changed = true
		return desired, res
	}
	out := &store.NodeGroup{Name: current.Name, Driver: current.Driver}
	for _, n := range current.Nodes {
		i := slices.IndexFunc(desired.Nodes, func(d store.Node) bool { return d.Endpoint == n.Endpoint })
		if i < 0 {
			res.Removed = append(res.Removed, n.Endpoint)
			continue
		}
		out.Nodes = append(out.Nodes, desired.Nodes[i])
	}
	for _, d := range desired.Nodes {
		if !slices.ContainsFunc(current.Nodes, func(n store.Node) bool { return n.Endpoint == d.Endpoint }) {
			out.Nodes = append(out.Nodes, d)
			res.Added = append(res.Added, d.Endpoint)
		}
	}
	res.Changed = !reflect.DeepEqual(normalized(current), normalized(out))
	return out, res
}

// normalized is a node group as it compares after a round trip through the store (nil and empty
// maps and slices alike).
func normalized(ng *store.NodeGroup) *store.NodeGroup {
	out := &store.NodeGroup{Name: ng.Name, Driver: ng.Driver, Dynamic: ng.Dynamic}
	for _, n := range ng.Nodes {
		if len(n.DriverOpts) == 0 {
			n.DriverOpts = nil
		}
		if len(n.BuildkitdFlags) == 0 {
			n.BuildkitdFlags = nil
		}
		if len(n.Files) == 0 {
			n.Files = nil
		}
		if len(n.Platforms) == 0 {
			n.Platforms = nil
		}
		out.Nodes = append(out.Nodes, n)
	}
	return out
}
