package builders

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/store/storeutil"
	"github.com/docker/cli/cli/command"

	// The buildx drivers of multiarch builders (docker-container for engine nodes, remote for
	// BuildKit daemons), and the one of a context's own BuildKit (the fallback when there is no
	// multiarch builder).
	_ "github.com/docker/buildx/driver/docker"
	_ "github.com/docker/buildx/driver/docker-container"
	_ "github.com/docker/buildx/driver/remote"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// openStore opens buildx's builder store under its file lock; release unlocks it.
func openStore(dockerCli command.Cli) (*store.Txn, func(), error) {
	txn, release, err := storeutil.GetStore(dockerCli)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the buildx store: %w", err)
	}
	return txn, release, nil
}

// nodeGroup returns a stored builder, or nil when there is none by that name.
func nodeGroup(txn *store.Txn, name string) (*store.NodeGroup, error) {
	ng, err := txn.NodeGroupByName(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("builder %q: %w", name, err)
	}
	return ng, nil
}

// loadNodes loads a stored builder's nodes (driver handles and, with data, their status), within timeout.
func loadNodes(ctx context.Context, dockerCli command.Cli, txn *store.Txn, name string, timeout time.Duration, data bool) (*builder.Builder, []builder.Node, error) {
	b, err := builder.New(dockerCli, builder.WithName(name), builder.WithStore(txn), builder.WithSkippedValidation())
	if err != nil {
		return nil, nil, fmt.Errorf("builder %q: %w", name, redact.Error(err))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := []builder.LoadNodesOption{builder.WithSkippedImageOpt()}
	if data {
		opts = append(opts, builder.WithData())
	}
	nodes, err := b.LoadNodes(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("builder %q: %w", name, redact.Error(err))
	}
	return b, nodes, nil
}

// removeNode stops a node's BuildKit container and removes it with its state volume.
func removeNode(ctx context.Context, n builder.Node) error {
	if n.Err != nil {
		return n.Err
	}
	if n.Driver == nil {
		return errors.New("no driver")
	}
	// Removed by force, not stopped first: its state goes with it, and a BuildKit still running a
	// solve (a build interrupted when its node went dark) takes the engine's whole stop grace, 10s,
	// which used to outlast --timeout and leave the stopped container behind.
	return n.Driver.Rm(ctx, true, true, true)
}

// openIndexed reads the multiarch nodes, then opens buildx's store under its lock (see openStore).
func (m *Manager) openIndexed() (nodeIndex, *store.Txn, func(), error) {
	idx, err := m.index()
	if err != nil {
		return nil, nil, nil, err
	}
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return nil, nil, nil, err
	}
	return idx, txn, release, nil
}

// storedGroups lists the multiarch builders of buildx's store (see multiarchGroups).
func storedGroups(txn *store.Txn, idx nodeIndex) ([]groups, error) {
	all, err := txn.List()
	if err != nil {
		return nil, fmt.Errorf("listing the buildx builders: %w", err)
	}
	return multiarchGroups(all, idx), nil
}
