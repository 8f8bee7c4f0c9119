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
	// BuildKitDaemon: the node is a standalone BuildKit daemon (buildx's remote driver).
	BuildKitDaemon bool
}

// List returns the multiarch builders (see groups), probing every node within timeout.
func (m *Manager) List(ctx context.Context, timeout time.Duration) ([]BuilderInfo, error) {
	idx, txn, release, err := m.openIndexed()
	if err != nil {
		return nil, err
	}
	defer release()
	builders, err := storedGroups(txn, idx)
	if err != nil {
		return nil, err
	}
	current := m.currentBuilder(txn)
	out := make([]BuilderInfo, len(builders))
	var wg sync.WaitGroup
	for i, g := range builders {
		out[i] = BuilderInfo{Name: g.primary.Name, Current: g.primary.Name == current}
		wg.Go(func() { out[i].Nodes = m.nodeInfos(ctx, txn, g, idx, timeout) })
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

func (m *Manager) nodeInfos(ctx context.Context, txn *store.Txn, g groups, idx nodeIndex, timeout time.Duration) []BuilderNodeInfo {
	var infos []BuilderNodeInfo
	for _, ng := range g.list() {
		for _, n := range ng.Nodes {
			member, _ := idx.member(ng, n)
			infos = append(infos, BuilderNodeInfo{Node: member.Name, BuildxNode: n.Name, Endpoint: redact.URL(member.Endpoint),
				Platforms: formatPlatforms(n), Status: "error", BuildKitDaemon: !member.Kind().Engine()})
		}
	}
	loaded, err := loadGroups(ctx, m.dockerCli, txn, g, idx, timeout, true)
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
	idx, txn, release, err := m.openIndexed()
	if err != nil {
		return err
	}
	defer release()
	all, err := txn.List()
	if err != nil {
		return err
	}
	for _, ng := range all {
		base := ng.Name
		if isCompanion(ng, all, idx) {
			base = strings.TrimSuffix(ng.Name, companionSuffix)
		}
		for _, n := range ng.Nodes {
			if name := idx.memberName(ng, n); slices.Contains(names, name) {
				return fmt.Errorf("node %q is part of builder %q: drop it first (docker multiarch create %s --node ...), or remove the builder (docker multiarch rm %s)",
					name, base, base, base)
			}
		}
	}
	return nil
}
