package builders

import (
	"context"
	"errors"
	"fmt"
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
	// Buildx are the buildx builders the builder is stored as, with their drivers ("NAME (driver)"):
	// one, or two when it has engines and BuildKit daemons (see groups).
	Buildx []string
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

// apply makes the stored builder (its groups, see groups) match desired, under the store lock the
// caller holds. It returns the builder's store files as they were before it wrote them (nil when
// nothing changed), and the nodes that left, whose BuildKit containers go once the whole create
// succeeds. If the builder cannot be written or loaded, its files are put back before apply returns.
func (m *Manager) apply(ctx context.Context, txn *store.Txn, cfg *confutil.Config, desired groups, timeout time.Duration) (ApplyResult, *fileSet, []builderNode, error) {
	name := desired.primary.Name
	idx, err := m.index()
	if err != nil {
		return ApplyResult{}, nil, nil, err
	}
	current, err := currentGroups(txnReader(txn), name, idx)
	if err != nil {
		return ApplyResult{}, nil, nil, err
	}
	merged, res := mergeGroups(current, desired, idx)
	for _, ng := range merged.list() {
		res.Buildx = append(res.Buildx, ng.Name+" ("+ng.Driver+")")
	}
	if !res.Changed {
		return res, nil, nil, nil
	}
	files, err := snapshotFiles(cfg, fmt.Sprintf("builder %q", name), slices.Concat(builderFiles(name), builderFiles(companionName(name)))...)
	if err != nil {
		return res, nil, nil, err
	}
	cc, _ := current.byDriver()
	leaving := leavingNodes(ctx, m.dockerCli, txn, cc, res.Removed, timeout)
	if err := m.save(ctx, txn, cfg, current, merged, idx, timeout); err != nil {
		return res, nil, nil, putBack(name, "unchanged", err, files)
	}
	return res, files, leaving, nil
}

// save writes the merged groups (removing a companion the builder no longer needs) and loads
// their nodes, which must all load.
func (m *Manager) save(ctx context.Context, txn *store.Txn, cfg *confutil.Config, current, merged groups, idx nodeIndex, timeout time.Duration) error {
	for _, ng := range merged.list() {
		if err := txn.Save(ng); err != nil { // writes activity/NAME, then instances/NAME
			return fmt.Errorf("saving builder %q: %w", ng.Name, err)
		}
	}
	if current.companion != nil && merged.companion == nil {
		for _, rel := range builderFiles(current.companion.Name) {
			if err := (storeFile{rel: rel}).put(cfg); err != nil {
				return fmt.Errorf("removing builder %q: %w", current.companion.Name, err)
			}
		}
	}
	nodes, err := loadGroups(ctx, m.dockerCli, txn, merged, idx, timeout, true)
	if err != nil {
		return err
	}
	return nodesError(nodes)
}

// currentGroups reads the stored builder a create writes: NAME and NAME-buildkit. A NAME of another
// driver, or a NAME-buildkit that is not this builder's, is refused: create does not take over a
// builder it did not make.
func currentGroups(read func(string) (*store.NodeGroup, error), name string, idx nodeIndex) (groups, error) {
	primary, err := read(name)
	if err != nil {
		return groups{}, err
	}
	if primary != nil && (primary.Driver != containerDriver && primary.Driver != remoteDriver ||
		primary.Driver == remoteDriver && !isMultiarch(primary, idx) ||
		primary.Driver == containerDriver && !ownNodes(primary)) {
		return groups{}, fmt.Errorf("builder %q exists with the %s driver and is not a multiarch builder (choose another name, or `docker buildx rm %s`)",
			name, primary.Driver, name)
	}
	companion, err := read(companionName(name))
	if err != nil || companion == nil {
		return groups{primary: primary}, err
	}
	if !ownCompanion(companion, name, idx) {
		return groups{}, fmt.Errorf("builder %q exists and is not %q's BuildKit daemons (choose another name, or `docker buildx rm %s`)",
			companionName(name), name, companionName(name))
	}
	return groups{primary: primary, companion: companion}, nil
}

// index is the multiarch nodes by name.
func (m *Manager) index() (nodeIndex, error) {
	all, err := m.nodes.List()
	if err != nil {
		return nil, err
	}
	return indexNodes(all), nil
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
