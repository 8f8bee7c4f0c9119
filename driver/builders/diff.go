package builders

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/buildx/util/dockerutil"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Diff is what Create with a spec would change in buildx's store, decided without writing.
type Diff struct {
	Created bool     // the builder does not exist
	Changes []string // each difference, as a user reads it
	Use     bool     // with use: the builder is not the current one of the current Docker context
}

// Changed reports whether Create would write anything.
func (d Diff) Changed() bool { return d.Created || len(d.Changes) > 0 || d.Use }

// ValidateOptions checks a spec's driver options, BuildKit flags and config file as Create does.
func ValidateOptions(spec BuilderSpec) error {
	opts, err := parseDriverOpts(spec.DriverOpts)
	if err != nil {
		return err
	}
	if _, err := buildkitdFlags(spec.BuildkitdFlags, opts); err != nil {
		return err
	}
	if spec.BuildkitdConfig != "" {
		if _, err := confutil.LoadConfigFiles(spec.BuildkitdConfig); err != nil {
			return fmt.Errorf("buildkitd config %s: %w", spec.BuildkitdConfig, err)
		}
	}
	return nil
}

// Diff says what Create(spec, CreateOptions{Use: use}) would change: the same checks of the
// spec, then the stored builder compared as Apply compares it. It reads buildx's store files
// without opening the store (which would create its directories), so it writes nothing.
func (m *Manager) Diff(spec BuilderSpec, use bool) (Diff, error) {
	desired, err := m.desired(spec)
	if err != nil {
		return Diff{}, err
	}
	name := desired.primary.Name
	idx, err := m.index()
	if err != nil {
		return Diff{}, err
	}
	cfg := confutil.NewConfig(m.dockerCli)
	current, err := currentGroups(func(n string) (*store.NodeGroup, error) { return readNodeGroup(cfg, n) }, name, idx)
	if err != nil {
		return Diff{}, err
	}
	merged, res := mergeGroups(current, desired, idx)
	d := Diff{Created: res.Created}
	switch {
	case res.Created:
		d.Changes = []string{"nodes " + nodeList(merged, idx)}
	case res.Changed:
		d.Changes = groupChanges(current, merged, res, idx)
	}
	if use {
		if d.Use, err = m.notCurrent(cfg, name); err != nil {
			return Diff{}, err
		}
	}
	return d, nil
}

// readNodeGroup reads a stored builder, nil when there is none.
func readNodeGroup(cfg *confutil.Config, name string) (*store.NodeGroup, error) {
	f, err := readStoreFile(cfg, filepath.Join("instances", name))
	if err != nil || !f.exists {
		return nil, err
	}
	var ng store.NodeGroup
	if err := json.Unmarshal(f.data, &ng); err != nil {
		return nil, fmt.Errorf("builder %q: %s: %w", name, filepath.Join(cfg.Dir(), f.rel), err)
	}
	return &ng, nil
}

// groupChanges lists how the merged builder differs from the stored one, node by node.
func groupChanges(current, merged groups, res ApplyResult, idx nodeIndex) []string {
	var out []string
	for _, ng := range merged.list() {
		for _, n := range ng.Nodes {
			if name := idx.memberName(ng, n); slices.Contains(res.Added, name) {
				out = append(out, fmt.Sprintf("add node %s (%s)", name, platformsOf(n)))
			}
		}
	}
	for _, e := range res.Removed {
		out = append(out, "remove node "+e)
	}
	for _, ng := range merged.list() {
		for _, n := range normalized(ng).Nodes {
			was, ok := storedNode(current, n.Name)
			if ok {
				out = append(out, settingChanges(idx.memberName(ng, n), was, n)...)
			}
		}
	}
	if len(out) == 0 { // merge compares more than is listed here
		out = append(out, "stored settings differ")
	}
	return out
}

// storedNode is a buildx node of the stored builder, by its buildx name, as it compares.
func storedNode(g groups, name string) (store.Node, bool) {
	for _, ng := range g.list() {
		if i := slices.IndexFunc(ng.Nodes, func(c store.Node) bool { return c.Name == name }); i >= 0 {
			return normalized(&store.NodeGroup{Nodes: ng.Nodes[i : i+1]}).Nodes[0], true
		}
	}
	return store.Node{}, false
}

// settingChanges lists what differs between the stored form of a node and the desired one.
func settingChanges(node string, was, want store.Node) []string {
	var out []string
	if a, b := platformsOf(was), platformsOf(want); a != b {
		out = append(out, fmt.Sprintf("node %s platforms %s -> %s", node, a, b))
	}
	if !maps.Equal(was.DriverOpts, want.DriverOpts) {
		out = append(out, fmt.Sprintf("node %s driver-opts %s -> %s", node, kvList(was.DriverOpts), kvList(want.DriverOpts)))
	}
	if !slices.Equal(was.BuildkitdFlags, want.BuildkitdFlags) {
		out = append(out, fmt.Sprintf("node %s buildkitd-flags %q -> %q", node,
			strings.Join(was.BuildkitdFlags, " "), strings.Join(want.BuildkitdFlags, " ")))
	}
	if !reflect.DeepEqual(was.Files, want.Files) {
		out = append(out, fmt.Sprintf("node %s buildkitd-config", node))
	}
	if was.Endpoint != want.Endpoint {
		out = append(out, fmt.Sprintf("node %s endpoint %s -> %s", node, redact.URL(was.Endpoint), redact.URL(want.Endpoint)))
	}
	return out
}

func nodeList(g groups, idx nodeIndex) string {
	var out []string
	for _, ng := range g.list() {
		for _, n := range ng.Nodes {
			out = append(out, fmt.Sprintf("%s (%s)", idx.memberName(ng, n), platformsOf(n)))
		}
	}
	return strings.Join(out, ", ")
}

func platformsOf(n store.Node) string {
	var out []string
	for _, p := range n.Platforms {
		out = append(out, platforms.Format(p))
	}
	return strings.Join(out, ",")
}

func kvList(m map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "cacert", "cert", "key": // a BuildKit daemon's TLS files: where they are is nobody's business
			out = append(out, k+"=(TLS file)")
		default:
			out = append(out, k+"="+m[k])
		}
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, ",")
}

// notCurrent reports whether the builder is not the current one of the current Docker endpoint,
// read as store.Txn.Current reads it (which may write, so it is not called).
func (m *Manager) notCurrent(cfg *confutil.Config, name string) (bool, error) {
	ep, err := dockerutil.GetCurrentEndpoint(m.dockerCli)
	if err != nil {
		return false, fmt.Errorf("the current Docker endpoint: %w", err)
	}
	f, err := readStoreFile(cfg, "current")
	if err != nil {
		return false, err
	}
	var cur struct {
		Key, Name string
		Global    bool
	}
	if f.exists && json.Unmarshal(f.data, &cur) == nil && cur.Name != "" && (cur.Global || cur.Key == ep) {
		return cur.Name != name, nil
	}
	def, err := readStoreFile(cfg, filepath.Join("defaults", endpointHash(ep)))
	if err != nil {
		return false, err
	}
	return !def.exists || string(def.data) != name, nil
}
