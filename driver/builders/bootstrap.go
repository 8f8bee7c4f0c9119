package builders

import (
	"context"
	"fmt"
	"sync"
	"time"

	bxdriver "github.com/docker/buildx/driver"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// BootResult is how one node's BuildKit came up.
type BootResult struct {
	Node     string
	Duration time.Duration
	Err      error
}

// Bootstrap starts the BuildKit container of every node of a builder in parallel, each within
// timeout (a BuildKit daemon is waited for), and reports per node; nodes already running report at once.
func (m *Manager) Bootstrap(ctx context.Context, name string, timeout time.Duration) ([]BootResult, error) {
	idx, txn, release, err := m.openIndexed()
	if err != nil {
		return nil, err
	}
	g, err := readGroups(txnReader(txn), name)
	if err == nil && g.primary == nil {
		err = fmt.Errorf("builder %q not found (see `docker multiarch ls`)", name)
	}
	var nodes []builderNode
	if err == nil {
		nodes, err = loadGroups(ctx, m.dockerCli, txn, g, idx, timeout, true)
	}
	release() // not held while containers start
	if err != nil {
		return nil, err
	}
	return bootNodes(ctx, nodes, timeout), nil
}

// needsBoot tells whether booting starts a node: it loaded, and its BuildKit is not running.
func needsBoot(n builderNode) bool {
	return n.Err == nil && (n.DriverInfo == nil || n.DriverInfo.Status != bxdriver.Running)
}

// bootNodes starts the BuildKit of nodes (loaded with their status) in parallel, each within
// timeout. It writes nothing to buildx's store: call it without the store lock.
func bootNodes(ctx context.Context, nodes []builderNode, timeout time.Duration) []BootResult {
	out := make([]BootResult, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			start := time.Now()
			out[i] = BootResult{Node: n.Endpoint, Err: n.Err}
			if needsBoot(n) {
				out[i].Err = deadline.Call(ctx, timeout, func(ctx context.Context) error {
					_, err := bxdriver.Boot(ctx, ctx, n.Driver, nil)
					return err
				})
			}
			out[i].Err = redact.Error(out[i].Err)
			out[i].Duration = time.Since(start)
		})
	}
	wg.Wait()
	return out
}
