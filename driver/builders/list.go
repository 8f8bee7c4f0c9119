package builders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/dockerutil"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// BuilderInfo is a multiarch builder as `ls` shows it.
type BuilderInfo struct {
	Name    string
	Current bool
	Nodes   []BuilderNodeInfo
}

// BuilderNodeInfo is one node of a builder and the state of its BuildKit container.
type BuilderNodeInfo struct {
	Node       string   // the multiarch node (a Docker context)
	BuildxNode string   // buildx's name for it; the container is buildx_buildkit_<BuildxNode>
	Endpoint   string   // the node's Docker endpoint, URL credentials redacted
	Platforms  []string // the platforms the node is pinned to
	Status     string   // running, inactive, stopped, or error
	Err        error
	BuildKit   string // BuildKit version, when running
}

// List returns the multiarch builders (docker-container builders whose nodes are all multiarch
// nodes), probing every node within timeout.
func (m *Manager) List(ctx context.Context, timeout time.Duration) ([]BuilderInfo, error) {
	nodes, err := m.nodes.List()
	if err != nil {
		return nil, err
	}
	endpoints := map[string]string{}
	for _, n := range nodes {
		endpoints[n.Name] = n.Endpoint
	}
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return nil, err
	}
	defer release()
	groups, err := txn.List()
	if err != nil {
		return nil, err
	}
	current := m.currentBuilder(txn)
	var out []BuilderInfo
	for _, ng := range groups {
		if isMultiarch(ng, endpoints) {
			out = append(out, BuilderInfo{Name: ng.Name, Current: ng.Name == current})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i].Nodes = m.nodeInfos(ctx, txn, out[i].Name, endpoints, timeout) })
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b BuilderInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *Manager) currentBuilder(txn *store.Txn) string {
	ep, err := dockerutil.GetCurrentEndpoint(m.dockerCli)
	if err != nil {
		return ""
	}
	ng, err := txn.Current(ep)
	if err != nil || ng == nil {
		return ""
	}
	return ng.Name
}

func isMultiarch(ng *store.NodeGroup, nodeEndpoints map[string]string) bool {
	if ng.Driver != containerDriver || len(ng.Nodes) == 0 {
		return false
	}
	for _, n := range ng.Nodes {
		if _, ok := nodeEndpoints[n.Endpoint]; !ok {
			return false
		}
	}
	return true
}

func (m *Manager) nodeInfos(ctx context.Context, txn *store.Txn, name string, endpoints map[string]string, timeout time.Duration) []BuilderNodeInfo {
	ng, err := nodeGroup(txn, name)
	if err != nil || ng == nil {
		return nil
	}
	infos := make([]BuilderNodeInfo, len(ng.Nodes))
	for i, n := range ng.Nodes {
		infos[i] = BuilderNodeInfo{Node: n.Endpoint, BuildxNode: n.Name, Endpoint: redact.URL(endpoints[n.Endpoint]),
			Platforms: formatPlatforms(n), Status: "error"}
	}
	_, loaded, err := loadNodes(ctx, m.dockerCli, txn, name, timeout, true)
	for i := range infos {
		switch {
		case err != nil:
			infos[i].Err = redact.Error(err)
		case loaded[i].Err != nil:
			infos[i].Err = redact.Error(loaded[i].Err)
		case loaded[i].DriverInfo != nil:
			infos[i].Status = statusText(loaded[i].DriverInfo.Status)
			infos[i].BuildKit = loaded[i].Version
		}
	}
	return infos
}

func formatPlatforms(n store.Node) []string {
	var out []string
	for _, p := range n.Platforms {
		out = append(out, platforms.Format(p))
	}
	return out
}

func statusText(s bxdriver.Status) string {
	switch s {
	case bxdriver.Running:
		return "running"
	case bxdriver.Inactive:
		return "inactive"
	case bxdriver.Stopped:
		return "stopped"
	case bxdriver.Starting:
		return "starting"
	case bxdriver.Stopping:
		return "stopping"
	}
	return "unknown"
}

// CheckNodesUnused refuses to let nodes go that a buildx builder still has, naming the builder.
func (m *Manager) CheckNodesUnused(names []string) error {
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return err
	}
	defer release()
	groups, err := txn.List()
	if err != nil {
		return err
	}
	for _, ng := range groups {
		for _, n := range ng.Nodes {
			if slices.Contains(names, n.Endpoint) {
				return fmt.Errorf("node %q is part of builder %q: drop it first (docker multiarch create %s --node ...), or remove the builder (docker multiarch rm %s)",
					n.Endpoint, ng.Name, ng.Name, ng.Name)
			}
		}
	}
	return nil
}
