package builders

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"
	"github.com/docker/buildx/util/dockerutil"
)

// CreateOptions are the steps Create takes after writing the builder.
type CreateOptions struct {
	Use       bool // make the builder the current buildx builder of the current Docker context
	Bootstrap bool // start every node's BuildKit
	// Progress shows booting in BuildKit's progress display (nil: not shown), in ProgressMode
	// (auto, tty, plain, rawjson, quiet or none; "" is auto).
	Progress     io.Writer
	ProgressMode string
	// Settings are kept beside the builder for every build on it (create --cache-ref); nil
	// leaves them as they are (apply, and create without --cache-ref), the zero value removes them.
	Settings *Settings
}

// CreateResult is what Create did.
type CreateResult struct {
	Apply ApplyResult
	Boot  []BootResult // with Bootstrap: per node, also when a node did not boot
}

// Create is `docker multiarch create` as one transaction: Apply, then (with opts.Use) Use, then
// (with opts.Bootstrap) Bootstrap. If a step fails, or ctx ends (Ctrl-C) before all are done,
// everything create wrote to buildx's store is put back byte for byte (see builderFiles and
// currentFiles), and BuildKit containers booted for nodes the builder did not have before are
// removed again (a builder that existed keeps its containers). The BuildKit containers of nodes
// that left go only once every step succeeded.
//
// buildx's store lock is held while the store is read and written (Apply's read-merge-write and
// Use in one hold), not while BuildKit boots; putting things back after a failed boot takes it again.
func (m *Manager) Create(ctx context.Context, spec BuilderSpec, opts CreateOptions, timeout time.Duration) (CreateResult, error) {
	desired, err := m.desired(spec)
	if err != nil {
		return CreateResult{}, err
	}
	name := desired.primary.Name
	if err := m.checkReachable(ctx, spec.Nodes, timeout); err != nil {
		return CreateResult{}, fmt.Errorf("builder %q unchanged: %w", name, err)
	}
	undoSettings := func() {}
	if opts.Settings != nil {
		if err := CheckCacheRef(opts.Settings.CacheRef); err != nil {
			return CreateResult{}, err
		}
		if undoSettings, err = m.writeSettings(name, *opts.Settings); err != nil {
			return CreateResult{}, fmt.Errorf("builder %q unchanged: %w", name, err)
		}
	}
	tx := &createTx{m: m, cfg: confutil.NewConfig(m.dockerCli), name: name, opts: opts, timeout: timeout}
	if err := tx.write(ctx, desired); err != nil || !opts.Bootstrap {
		if err != nil {
			undoSettings()
		}
		return CreateResult{Apply: tx.res}, err
	}
	boot := bootNodes(ctx, tx.nodes, timeout, opts.Progress, opts.ProgressMode)
	if err = tx.finish(ctx, boot); err != nil {
		undoSettings()
	}
	return CreateResult{Apply: tx.res, Boot: boot}, err
}

// createTx is one create: what it wrote, and how to put it back.
type createTx struct {
	m       *Manager
	cfg     *confutil.Config
	name    string
	opts    CreateOptions
	timeout time.Duration

	res     ApplyResult
	builder *fileSet      // the builder's store files before create wrote them; nil: not written
	current *fileSet      // the current-builder files before Use; nil: not written
	leaving []builderNode // nodes that left the builder: their containers go when create succeeds
	nodes   []builderNode // with Bootstrap: the builder's nodes, with their status before booting
}

// write runs Apply and Use under one hold of the store lock and, with Bootstrap, loads the nodes
// to boot. Without Bootstrap, create is done when it returns nil. On failure, everything it wrote
// is put back before it returns.
func (tx *createTx) write(ctx context.Context, desired groups) error {
	txn, release, err := openStore(tx.m.dockerCli)
	if err != nil {
		return err
	}
	defer release()
	res, files, leaving, err := tx.m.apply(ctx, txn, tx.cfg, desired, tx.timeout)
	tx.res = res
	if err != nil {
		return err
	}
	tx.builder, tx.leaving = files, leaving
	if err := tx.steps(ctx, txn); err != nil {
		return putBack(tx.name, "left as it was", err, tx.builder, tx.current)
	}
	if !tx.opts.Bootstrap {
		tx.res.Unreachable = removeLeaving(ctx, tx.m.dockerCli, tx.name, tx.leaving, tx.timeout)
	}
	return nil
}

// steps runs what follows Apply under the same lock: Use, and loading the nodes to boot.
func (tx *createTx) steps(ctx context.Context, txn *store.Txn) error {
	if tx.opts.Use {
		if err := tx.use(txn); err != nil {
			return err
		}
	}
	if tx.opts.Bootstrap {
		idx, err := tx.m.index()
		if err != nil {
			return err
		}
		g, err := readGroups(txnReader(txn), tx.name)
		if err != nil {
			return err
		}
		nodes, err := loadGroups(ctx, tx.m.dockerCli, txn, g, idx, tx.timeout, true)
		if err != nil {
			return err
		}
		tx.nodes = nodes
		// The lock is let go while BuildKit boots: remember what create left, so that a change
		// another process makes meanwhile is not undone.
		if err := tx.builder.mark(); err != nil {
			return err
		}
		if err := tx.current.mark(); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// use makes the builder the current one of the current Docker endpoint, as Manager.Use does,
// keeping the files it rewrites.
func (tx *createTx) use(txn *store.Txn) error {
	ep, err := dockerutil.GetCurrentEndpoint(tx.m.dockerCli)
	if err != nil {
		return fmt.Errorf("making it the current builder: %w", err)
	}
	files, err := snapshotFiles(tx.cfg, "the current builder", currentFiles(ep)...)
	if err != nil {
		return err
	}
	tx.current = files
	if err := txn.SetCurrent(ep, tx.name, false, false); err != nil {
		return fmt.Errorf("making it the current builder: %w", err)
	}
	return nil
}

// finish ends a create that booted the nodes: if one did not boot, or ctx ended, it puts back what
// create did; otherwise it removes the BuildKit containers of the nodes that left.
func (tx *createTx) finish(ctx context.Context, boot []BootResult) error {
	if err := bootFailure(ctx, boot); err != nil {
		return tx.rollback(ctx, err)
	}
	if len(tx.leaving) == 0 {
		return nil
	}
	_, release, err := openStore(tx.m.dockerCli)
	if err != nil {
		tx.res.Unreachable = map[string]error{}
		for _, n := range tx.leaving {
			tx.res.Unreachable[n.Endpoint] = err
		}
		return nil
	}
	defer release()
	tx.res.Unreachable = removeLeaving(ctx, tx.m.dockerCli, tx.name, tx.leaving, tx.timeout)
	return nil
}

// bootFailure names the nodes that did not boot; with ctx ended, it carries why.
func bootFailure(ctx context.Context, boot []BootResult) error {
	var failed []string
	for _, r := range boot {
		if r.Err != nil {
			failed = append(failed, r.Node)
		}
	}
	switch {
	case len(failed) > 0 && ctx.Err() != nil:
		return fmt.Errorf("nodes %s did not boot: %w", strings.Join(failed, ", "), context.Cause(ctx))
	case len(failed) > 0:
		return fmt.Errorf("nodes %s did not boot", strings.Join(failed, ", "))
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return nil
}

// rollback puts back, under the store lock taken again, what create wrote, and undoes booting on
// the nodes the restored builder does not have.
func (tx *createTx) rollback(ctx context.Context, cause error) error {
	_, release, err := openStore(tx.m.dockerCli)
	if err != nil {
		return leftAs(tx.name, "", cause, []error{err})
	}
	defer release()
	var errs []error
	if err := tx.builder.restore(); err != nil {
		errs = append(errs, err) // its nodes may be another create's now: their containers stay
	} else {
		errs = append(errs, tx.unboot(ctx)...)
	}
	if err := tx.current.restore(); err != nil {
		errs = append(errs, err)
	}
	return leftAs(tx.name, "left as it was", cause, errs)
}
