package builders

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/docker/buildx/store"

	"github.com/docker-multiarch/docker-multiarch/driver/nodes"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// RunningBuilds counts, for each engine node among names, the builds the BuildKit containers of
// the multiarch builders run on it now, each container asked within timeout, in parallel. A node
// is left out when one of its containers did not answer (its count is not known); a node without
// a running container counts none.
func (m *Manager) RunningBuilds(ctx context.Context, names []string, timeout time.Duration) map[string]int {
	idx, txn, release, err := m.openIndexed()
	if err != nil {
		return nil
	}
	builders, err := storedGroups(txn, idx)
	if err != nil {
		release()
		return nil // not known
	}
	var loaded []builderNode
	for _, g := range builders {
		if g.primary.Driver != containerDriver ||
			!slices.ContainsFunc(g.primary.Nodes, func(n store.Node) bool { return slices.Contains(names, n.Endpoint) }) {
			continue
		}
		if _, ns, lerr := loadNodes(ctx, m.dockerCli, txn, g.primary.Name, timeout, false); lerr == nil {
			loaded = append(loaded, ns...)
		}
	}
	release() // not held while the containers are asked
	out := map[string]int{}
	for _, n := range names {
		out[n] = 0
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range loaded {
		if _, ok := out[n.Endpoint]; !ok {
			continue
		}
		wg.Go(func() {
			running, err := deadline.Value(ctx, timeout, func(ctx context.Context) (int, error) { return nodes.Running(ctx, n) })
			mu.Lock()
			defer mu.Unlock()
			if _, known := out[n.Endpoint]; known && err == nil {
				out[n.Endpoint] += running
			} else {
				delete(out, n.Endpoint)
			}
		})
	}
	wg.Wait()
	return out
}
