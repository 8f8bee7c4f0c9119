package driver

import (
	"context"
	"sync"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/nodes"
)

// nodeService is the node service of a Docker CLI: nodes kept as Docker contexts (see contexts),
// engines probed through the Docker API and BuildKit daemons through BuildKit's.
func nodeService(dockerCli command.Cli) *contexts.Nodes {
	return contexts.New(dockerCli.ContextStore(), nil).WithBuildKitProber(nodes.Prober{})
}

// NodeStatus is a probed node and the builds it runs now.
type NodeStatus struct {
	contexts.Status
	Running      int
	RunningKnown bool
}

// NodeStatus probes nodes in parallel, each within timeout, and counts the builds each runs: a
// BuildKit daemon reports its own; an engine's are those of the multiarch builders' BuildKit
// containers on it. Both are asked at once, so the whole takes about timeout at most.
func (m *Manager) NodeStatus(ctx context.Context, list []contexts.Node, timeout time.Duration) []NodeStatus {
	var engines []string
	for _, n := range list {
		if n.Kind().Engine() {
			engines = append(engines, n.Name)
		}
	}
	var running map[string]int
	var wg sync.WaitGroup
	if len(engines) > 0 {
		wg.Go(func() { running = m.builders.RunningBuilds(ctx, engines, timeout) })
	}
	probed := m.nodes.ProbeAll(ctx, list, timeout)
	wg.Wait()
	out := make([]NodeStatus, len(probed))
	for i, st := range probed {
		out[i] = NodeStatus{Status: st}
		switch {
		case st.Err != nil:
		case st.BuildKit != nil:
			out[i].Running, out[i].RunningKnown = st.BuildKit.Running, true
		default:
			out[i].Running, out[i].RunningKnown = running[st.Node.Name]
		}
	}
	return out
}
