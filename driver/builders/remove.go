package builders

import (
	"context"
	"fmt"
	"time"
)

// RemoveResult says which nodes' BuildKit containers a removal reached.
type RemoveResult struct {
	Removed     []string         // nodes whose BuildKit container (and state volume) is gone
	Unreachable map[string]error // nodes that could not be reached; their containers may remain
}

// Remove deletes a multiarch builder: its BuildKit containers on every reachable node (each within
// timeout, in parallel), then the builder itself.
func (m *Manager) Remove(ctx context.Context, name string, timeout time.Duration) (RemoveResult, error) {
	var res RemoveResult
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return res, err
	}
	defer release()
	ng, err := nodeGroup(txn, name)
	if err != nil {
		return res, err
	}
	if ng == nil {
		return res, fmt.Errorf("builder %q not found (see `docker multiarch ls`)", name)
	}
	if ng.Driver != containerDriver {
		return res, fmt.Errorf("builder %q uses the %s driver and is not a multiarch builder; remove it with `docker buildx rm %s`", name, ng.Driver, name)
	}
	_, nodes, err := loadNodes(ctx, m.dockerCli, txn, name, timeout, false)
	if err != nil {
		return res, err
	}
	res.Removed, res.Unreachable = removeNodes(ctx, nodes, timeout)
	if err := txn.Remove(ng.Name); err != nil {
		return res, fmt.Errorf("removing builder %q: %w", name, err)
	}
	return res, nil
}
