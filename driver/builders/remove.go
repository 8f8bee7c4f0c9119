package builders

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// RemoveResult says which nodes' BuildKit containers a removal reached.
type RemoveResult struct {
	Removed     []string         // nodes whose BuildKit container (and state volume) is gone
	Left        []string         // BuildKit daemons that left the builder (they keep running: they are not its)
	Unreachable map[string]error // nodes that could not be reached; their containers may remain
}

// Remove deletes a multiarch builder: its BuildKit containers on every reachable engine node (each
// within timeout, in parallel), then the builder itself, with the buildx builder of its BuildKit
// daemons (which keep running: they are not the builder's).
func (m *Manager) Remove(ctx context.Context, name string, timeout time.Duration) (RemoveResult, error) {
	var res RemoveResult
	idx, txn, release, err := m.openIndexed()
	if err != nil {
		return res, err
	}
	defer release()
	g, err := readGroups(txnReader(txn), name)
	if err != nil {
		return res, err
	}
	if g.primary == nil {
		return res, fmt.Errorf("builder %q not found (see `docker multiarch ls`)", name)
	}
	if g.primary.Driver == containerDriver && !ownNodes(g.primary) ||
		g.primary.Driver != containerDriver && (g.primary.Driver != remoteDriver || !isMultiarch(g.primary, idx)) {
		return res, fmt.Errorf("builder %q (%s driver) is not a multiarch builder; remove it with `docker buildx rm %s`", name, g.primary.Driver, name)
	}
	if g.companion != nil && !ownCompanion(g.companion, name, idx) {
		g.companion = nil // a builder of the user's that only shares the name: not this builder's
	}
	nodes, err := loadGroups(ctx, m.dockerCli, txn, g, idx, timeout, false)
	if err != nil {
		return res, err
	}
	nodes = slices.DeleteFunc(nodes, func(n builderNode) bool {
		if !idx[n.Endpoint].Kind().Engine() { // a daemon is the user's: it is left running
			res.Left = append(res.Left, n.Endpoint)
			return true
		}
		return false
	})
	res.Removed, res.Unreachable = removeNodes(ctx, nodes, timeout)
	if ctx.Err() != nil { // interrupted: the builder stays, so that rm can be run again
		return res, fmt.Errorf("builder %q not removed: %w", name, context.Cause(ctx))
	}
	for _, ng := range g.list() {
		if err := txn.Remove(ng.Name); err != nil {
			return res, fmt.Errorf("removing builder %q: %w", ng.Name, err)
		}
	}
	if _, err := m.writeSettings(name, Settings{}); err != nil {
		return res, err
	}
	return res, nil
}
