// Package builders keeps multiarch builders in buildx's own store: create or update them with
// rollback, boot, list and remove them, and resolve the builder a build runs on.
package builders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/localstate"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/buildx/util/dockerutil"
	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Manager creates, lists, boots and removes multiarch builders in buildx's own store, so that
// `docker buildx ls` and `docker buildx build --builder` see and use them as any other builder.
type Manager struct {
	dockerCli command.Cli
	nodes     *contexts.Nodes
}

// New returns the builder manager of a Docker CLI.
func New(dockerCli command.Cli, nodes *contexts.Nodes) *Manager {
	return &Manager{dockerCli: dockerCli, nodes: nodes}
}

type builderNode = builder.Node

// Use makes the builder the current buildx builder of the current Docker context.
func (m *Manager) Use(name string) error {
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return err
	}
	defer release()
	ep, err := dockerutil.GetCurrentEndpoint(m.dockerCli)
	if err != nil {
		return err
	}
	if err := txn.SetCurrent(ep, name, false, false); err != nil {
		return fmt.Errorf("using builder %q: %w", name, err)
	}
	return nil
}

// Unreachable probes nodes in parallel, each within timeout, and names every one that did not
// answer, with its endpoint (credentials redacted); nil when all answered.
func (m *Manager) Unreachable(ctx context.Context, nodes []contexts.Node, timeout time.Duration) error {
	var errs []error
	for _, st := range m.nodes.ProbeAll(ctx, nodes, timeout) {
		if st.Err != nil {
			errs = append(errs, fmt.Errorf("node %q (%s): %w", st.Node.Name, redact.URL(st.Node.Endpoint), redact.Error(st.Err)))
		}
	}
	return errors.Join(errs...)
}

// leavingNodes loads the driver handles of the nodes that are about to leave a builder, while
// the builder still has them.
func leavingNodes(ctx context.Context, dockerCli command.Cli, txn *store.Txn, current *store.NodeGroup, removed []string, timeout time.Duration) []builderNode {
	if current == nil || len(removed) == 0 {
		return nil
	}
	_, nodes, err := loadNodes(ctx, dockerCli, txn, current.Name, timeout, false)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(nodes, func(n builderNode) bool { return !slices.Contains(removed, n.Endpoint) })
}

// removeLeaving removes the BuildKit containers of nodes that left a builder, and their local
// state, returning the nodes whose container could not be removed.
func removeLeaving(ctx context.Context, dockerCli command.Cli, builderName string, nodes []builderNode, timeout time.Duration) map[string]error {
	_, failed := removeNodes(ctx, nodes, timeout)
	if ls, err := localstate.New(confutil.NewConfig(dockerCli)); err == nil {
		for _, n := range nodes {
			_ = ls.RemoveBuilderNode(builderName, n.Name)
		}
	}
	return failed
}

// removeNodes removes the BuildKit containers of nodes in parallel, each within timeout.
func removeNodes(ctx context.Context, nodes []builderNode, timeout time.Duration) ([]string, map[string]error) {
	var removed []string
	failed := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() {
			err := deadline.Call(ctx, timeout, func(ctx context.Context) error { return removeNode(ctx, n) })
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[n.Endpoint] = redact.Error(err)
			} else {
				removed = append(removed, n.Endpoint)
			}
		})
	}
	wg.Wait()
	return removed, failed
}
