package builders

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"
	"github.com/google/shlex"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// DefaultBuilder is the name of the builder `create` makes when none is given.
const DefaultBuilder = "multiarch"

// BuilderSpec is the builder `create` makes or updates: one BuildKit node per multiarch node (a
// BuildKit container on each engine node, the daemon itself for each BuildKit node).
type BuilderSpec struct {
	Name  string
	Nodes []NodeSpec
	// DriverOpts are docker-container driver options (image=..., network=host, ...), as k=v; they,
	// the flags and the config apply to engine nodes.
	DriverOpts      []string
	BuildkitdFlags  string
	BuildkitdConfig string // path of a buildkitd.toml
	// Planned are the targets of BuildKit nodes as a plan will write them (a farm file planned
	// before its nodes are written); the others are read from the node store.
	Planned map[string]contexts.BuildKitTarget
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

// desired turns the spec into the buildx node groups it describes (see groups), checking every
// value first. The builder's driver options, BuildKit flags and config apply to its engine nodes:
// buildx's remote driver takes none of them.
func (m *Manager) desired(spec BuilderSpec) (groups, error) {
	name, err := ValidateBuilderName(spec.Name)
	if err != nil {
		return groups{}, err
	}
	if len(spec.Nodes) == 0 {
		return groups{}, errors.New("no nodes: add one with `docker multiarch node add`")
	}
	container, err := containerGroup(name, spec)
	if err != nil {
		return groups{}, err
	}
	if len(container.Nodes) == 0 && (len(spec.DriverOpts) > 0 || spec.BuildkitdFlags != "" || spec.BuildkitdConfig != "") {
		return groups{}, fmt.Errorf("builder %q has only BuildKit daemons: --driver-opt, --buildkitd-flags and --buildkitd-config apply to engine nodes (configure the daemons themselves)", name)
	}
	remote := &store.NodeGroup{Name: name, Driver: remoteDriver}
	for _, n := range spec.Nodes {
		if n.Node.Kind().BuildxDriver() != remote.Driver {
			continue
		}
		sn, err := m.remoteNode(name, n, spec.Planned)
		if err != nil {
			return groups{}, err
		}
		remote.Nodes = append(remote.Nodes, sn)
	}
	switch {
	case len(remote.Nodes) == 0:
		return groups{primary: container}, nil
	case len(container.Nodes) == 0:
		return groups{primary: remote}, nil
	}
	remote.Name = companionName(name)
	if _, err := store.ValidateName(remote.Name); err != nil {
		return groups{}, fmt.Errorf("builder %q: its BuildKit daemons' builder %q: %w", name, remote.Name, err)
	}
	return groups{primary: container, companion: remote}, nil
}

// containerGroup is the docker-container group of the spec's engine nodes (none: no nodes).
func containerGroup(name string, spec BuilderSpec) (*store.NodeGroup, error) {
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
		if n.Node.Kind().BuildxDriver() != ng.Driver {
			continue
		}
		pp, err := pinned(n)
		if err != nil {
			return nil, err
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

// remoteNode is a BuildKit daemon as a node of buildx's remote driver: its address, and its TLS
// files where the context store keeps them (the driver reads them there).
func (m *Manager) remoteNode(name string, n NodeSpec, planned map[string]contexts.BuildKitTarget) (store.Node, error) {
	pp, err := pinned(n)
	if err != nil {
		return store.Node{}, err
	}
	t, ok := planned[n.Node.Name]
	if !ok {
		if t, err = m.nodes.BuildKitTarget(n.Node.Name); err != nil {
			return store.Node{}, err
		}
	}
	opts := map[string]string{}
	for k, v := range map[string]string{"cacert": t.CA, "cert": t.Cert, "key": t.Key, "servername": t.ServerName} {
		if v != "" {
			opts[k] = v
		}
	}
	return store.Node{Name: nodeName(name, n.Node.Name), Endpoint: t.Host, Platforms: pp, DriverOpts: opts}, nil
}

// pinned are the platforms a node is pinned to, parsed.
func pinned(n NodeSpec) ([]ocispec.Platform, error) {
	var pp []ocispec.Platform
	for _, p := range n.Platforms() {
		parsed, err := platforms.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("node %q platform %q: %w", n.Node.Name, p, err)
		}
		pp = append(pp, platforms.Normalize(parsed))
	}
	return pp, nil
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
