package builders

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/store"
	"github.com/docker/buildx/store/storeutil"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/cli/cli/command"

	// The buildx driver of every multiarch builder, and the one of a context's own BuildKit (the
	// fallback when there is no multiarch builder).
	_ "github.com/docker/buildx/driver/docker"
	_ "github.com/docker/buildx/driver/docker-container"
)

// containerDriver is the buildx driver of every multiarch builder: one BuildKit container per node.
const containerDriver = "docker-container"

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

// instanceFile is the raw stored form of a builder, kept to put it back byte for byte.
type instanceFile struct {
	cfg  *confutil.Config
	name string
	data []byte // nil: the builder did not exist
}

func snapshot(dockerCli command.Cli, name string) (instanceFile, error) {
	cfg := confutil.NewConfig(dockerCli)
	f := instanceFile{cfg: cfg, name: name}
	data, err := os.ReadFile(filepath.Join(cfg.Dir(), "instances", name))
	switch {
	case err == nil:
		f.data = data
	case !os.IsNotExist(err):
		return f, fmt.Errorf("reading builder %q: %w", name, err)
	}
	return f, nil
}

// restore puts the builder back as the snapshot found it (or removes it if it did not exist).
// buildx's own rollback (NodeGroup.Copy) loses pinned platforms, so the bytes are restored instead.
func (f instanceFile) restore(txn *store.Txn) error {
	if f.data == nil {
		if err := txn.Remove(f.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return f.cfg.AtomicWriteFile(filepath.Join("instances", f.name), f.data, 0o600)
}

// loadNodes loads a stored builder's nodes (driver handles and, with data, their status), within timeout.
func loadNodes(ctx context.Context, dockerCli command.Cli, txn *store.Txn, name string, timeout time.Duration, data bool) (*builder.Builder, []builder.Node, error) {
	b, err := builder.New(dockerCli, builder.WithName(name), builder.WithStore(txn), builder.WithSkippedValidation())
	if err != nil {
		return nil, nil, fmt.Errorf("builder %q: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := []builder.LoadNodesOption{builder.WithSkippedImageOpt()}
	if data {
		opts = append(opts, builder.WithData())
	}
	nodes, err := b.LoadNodes(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("builder %q: %w", name, err)
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
	if err := n.Driver.Stop(ctx, true); err != nil {
		return err
	}
	return n.Driver.Rm(ctx, true, true, true)
}
