package builders

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"
	"github.com/google/shlex"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// DefaultBuilder is the name of the builder `create` makes when none is given.
const DefaultBuilder = "multiarch"

// BuilderSpec is the builder `create` makes or updates: one BuildKit node per multiarch node.
type BuilderSpec struct {
	Name  string
	Nodes []NodeSpec
	// DriverOpts are docker-container driver options (image=..., network=host, ...), as k=v.
	DriverOpts      []string
	BuildkitdFlags  string
	BuildkitdConfig string // path of a buildkitd.toml
}

// NodeSpec is one node of a builder and the platforms it is pinned to.
type NodeSpec struct {
	Node    contexts.Node
	Emulate []string // platforms built under QEMU on this node, beside its native ones
}

// Platforms are the node's native platforms followed by the ones it emulates.
func (n NodeSpec) Platforms() []string {
	out := slices.Clone(n.Node.Platforms)
	for _, p := range n.Emulate {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// nodeName is the buildx node name of a multiarch node in a builder; buildx names the BuildKit
// container after it, so it must be unique per builder and node.
func nodeName(builderName, node string) string {
	return strings.ToLower(builderName + "-" + node)
}

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

// nodeGroup turns the spec into the buildx node group it describes, checking every value first.
func (m *Manager) nodeGroup(spec BuilderSpec) (*store.NodeGroup, error) {
	name, err := ValidateBuilderName(spec.Name)
	if err != nil {
		return nil, err
	}
	if len(spec.Nodes) == 0 {
		return nil, errors.New("no nodes: add one with `docker multiarch node add`")
	}
	driverOpts, err := parseDriverOpts(spec.DriverOpts)
	if err != nil {
		return nil, err
	}
	flags, err := buildkitdFlags(spec.BuildkitdFlags, driverOpts)
	if err != nil {
		return nil, err
	}
	var files map[string][]byte
	if spec.BuildkitdConfig != "" {
		if files, err = confutil.LoadConfigFiles(spec.BuildkitdConfig); err != nil {
			return nil, fmt.Errorf("buildkitd config %s: %w", spec.BuildkitdConfig, err)
		}
	}
	ng := &store.NodeGroup{Name: name, Driver: containerDriver}
	for _, n := range spec.Nodes {
		var pp []ocispec.Platform
		for _, p := range n.Platforms() {
			parsed, err := platforms.Parse(p)
			if err != nil {
				return nil, fmt.Errorf("node %q platform %q: %w", n.Node.Name, p, err)
			}
			pp = append(pp, platforms.Normalize(parsed))
		}
		ng.Nodes = append(ng.Nodes, store.Node{
			Name:           nodeName(name, n.Node.Name),
			Endpoint:       n.Node.Name,
			Platforms:      pp,
			DriverOpts:     driverOpts,
			BuildkitdFlags: flags,
			Files:          files,
		})
	}
	return ng, nil
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

// ValidateBuilderName checks a builder name the way buildx's store does; "default" is reserved.
func ValidateBuilderName(name string) (string, error) {
	if name == "default" {
		return "", errors.New(`invalid builder name "default": it is reserved for the default builder`)
	}
	n, err := store.ValidateName(name)
	if err != nil {
		return "", fmt.Errorf("invalid builder name %q: it must start with a letter and contain only letters, digits and ._-", name)
	}
	return n, nil
}

func parseDriverOpts(opts []string) (map[string]string, error) {
	if len(opts) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, o := range opts {
		for kv := range strings.SplitSeq(o, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("invalid --driver-opt %q: want KEY=VALUE", kv)
			}
			out[k] = v
		}
	}
	return out, nil
}

// buildkitdFlags splits --buildkitd-flags and, as buildx does, allows the network.host entitlement
// when the container runs on the host network.
func buildkitdFlags(s string, driverOpts map[string]string) ([]string, error) {
	flags, err := shlex.Split(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --buildkitd-flags %q: %w", s, err)
	}
	hasEntitlements := slices.ContainsFunc(flags, func(f string) bool {
		return strings.HasPrefix(f, "--allow-insecure-entitlement")
	})
	hostNet := slices.Contains(flags, "--allow-insecure-entitlement=network.host") ||
		slices.Contains(flags, "network.host")
	if !hostNet && (driverOpts["network"] == "host" || !hasEntitlements) {
		flags = append(flags, "--allow-insecure-entitlement=network.host")
	}
	return flags, nil
}

// windowsOnly nodes build only Windows platforms: their engines build, not a BuildKit node.
func windowsOnly(n contexts.Node) bool {
	return len(n.Platforms) > 0 && !slices.ContainsFunc(n.Platforms, func(p string) bool { return !strings.HasPrefix(p, "windows/") })
}

// SelectNodes picks the builder's nodes from all nodes (all of them when names is empty) and adds
// the platforms to emulate, each given as PLATFORM=NODE for a selected node.
func SelectNodes(all []contexts.Node, names, emulate []string) ([]NodeSpec, error) {
	var specs []NodeSpec
	if len(names) == 0 {
		for _, n := range all {
			if !windowsOnly(n) {
				specs = append(specs, NodeSpec{Node: n})
			}
		}
	}
	for _, name := range names {
		i := slices.IndexFunc(all, func(n contexts.Node) bool { return n.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("unknown node %q (see `docker multiarch node ls`)", name)
		}
		if windowsOnly(all[i]) {
			return nil, fmt.Errorf("node %q is a Windows engine: it cannot run BuildKit, and builds join with its own engine (`docker multiarch build --platform windows/amd64`)", name)
		}
		if !slices.ContainsFunc(specs, func(s NodeSpec) bool { return s.Node.Name == name }) {
			specs = append(specs, NodeSpec{Node: all[i]})
		}
	}
	if len(specs) == 0 {
		return nil, errors.New("no nodes: add one with `docker multiarch node add`")
	}
	for _, e := range emulate {
		plat, node, ok := strings.Cut(e, "=")
		if !ok || node == "" {
			return nil, fmt.Errorf("invalid --emulate %q: want PLATFORM=NODE, for example linux/arm64=%s", e, specs[0].Node.Name)
		}
		p, err := contexts.ParsePlatform(plat)
		if err != nil {
			return nil, fmt.Errorf("invalid --emulate %q: %w", e, err)
		}
		i := slices.IndexFunc(specs, func(s NodeSpec) bool { return s.Node.Name == node })
		if i < 0 {
			return nil, fmt.Errorf("invalid --emulate %q: node %q is not in the builder", e, node)
		}
		specs[i].Emulate = append(specs[i].Emulate, platforms.Format(p))
	}
	return specs, nil
}
