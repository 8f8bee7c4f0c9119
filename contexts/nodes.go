package contexts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// Nodes is the node service over the Docker CLI's context store.
type Nodes struct {
	store    store.Store
	prober   Prober
	bkProber BuildKitProber // nil: BuildKit nodes cannot be probed
	lockPath string         // serializes writes across processes
}

// New returns the node service for a context store (BuildKit nodes are kept beside it: see
// nodeStore); prober nil means EngineProber. Its writes take the lock at DefaultLockPath; WithLock
// sets another.
func New(s store.Store, prober Prober) *Nodes {
	if prober == nil {
		prober = EngineProber{}
	}
	return &Nodes{store: newNodeStore(s), prober: prober, lockPath: DefaultLockPath()}
}

// ErrNotFound is returned (wrapped) for a name that is not a node.
var ErrNotFound = errors.New("no such node")

// Get returns a node by name.
func (n *Nodes) Get(name string) (Node, error) {
	meta, err := n.store.GetMetadata(name)
	if errdefs.IsNotFound(err) {
		return Node{}, fmt.Errorf("node %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Node{}, fmt.Errorf("node %q: %w", name, err)
	}
	node, ok, err := nodeFromMetadata(meta)
	if err != nil {
		return Node{}, err
	}
	if !ok {
		return Node{}, fmt.Errorf("node %q: %w (context %q exists but is not a node; add it with --context %s)", name, ErrNotFound, name, name)
	}
	return node, nil
}

// List returns every node, sorted by name.
func (n *Nodes) List() ([]Node, error) {
	metas, err := n.store.List()
	if err != nil {
		return nil, fmt.Errorf("listing contexts: %w", err)
	}
	var nodes []Node
	for _, meta := range metas {
		node, ok, err := nodeFromMetadata(meta)
		if err != nil {
			return nil, err
		}
		if ok {
			nodes = append(nodes, node)
		}
	}
	slices.SortFunc(nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return nodes, nil
}

// Probe asks one node (its engine, or its BuildKit daemon) what it is, within timeout.
func (n *Nodes) Probe(ctx context.Context, node Node, timeout time.Duration) Status {
	return n.ProbeAll(ctx, []Node{node}, timeout)[0]
}

// endpoint loads a stored context's Docker endpoint with its TLS material.
func (n *Nodes) endpoint(name string) (docker.Endpoint, error) {
	meta, err := n.store.GetMetadata(name)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("context %q: %w", name, err)
	}
	em, err := docker.EndpointFromContext(meta)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("context %q: %w", name, err)
	}
	ep, err := docker.WithTLSData(n.store, name, em)
	if err != nil {
		return docker.Endpoint{}, fmt.Errorf("context %q: TLS data: %w", name, err)
	}
	return ep, nil
}

// RemoveOptions control Remove.
type RemoveOptions struct {
	KeepContext    bool
	CurrentContext string        // the CLI's current context, which is never deleted
	Timeout        time.Duration // how long to wait for the store's lock; 0 means DefaultTimeout
}

// RemoveResult says what Remove did to the context behind the node.
type RemoveResult struct {
	Node           Node
	ContextRemoved bool
}

// Remove removes nodes. A node's context goes too, unless KeepContext is set or the node adopted a
// context that existed before it; then only the node's data leaves the context. A BuildKit
// daemon's entry always goes (it is not a Docker context to keep). Every name is
// checked before anything is removed; checks and removals hold the store's lock.
func (n *Nodes) Remove(ctx context.Context, names []string, opts RemoveOptions) ([]RemoveResult, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	release, err := n.lock(ctx, timeout)
	if err != nil {
		return nil, fmt.Errorf("removing nodes: %w", err)
	}
	defer release()
	return n.removeLocked(names, opts)
}

func (n *Nodes) removeLocked(names []string, opts RemoveOptions) ([]RemoveResult, error) {
	var out []RemoveResult
	for _, name := range names {
		node, err := n.Get(name)
		if err != nil {
			return nil, err
		}
		// A BuildKit daemon's entry is the node's alone (it is no Docker context): it always goes.
		drop := (!opts.KeepContext && !node.Adopted) || node.Kind().ownsContext()
		if drop && name == opts.CurrentContext {
			return nil, fmt.Errorf("node %q is the current Docker context: switch with `docker context use` first, or use --keep-context", name)
		}
		out = append(out, RemoveResult{Node: node, ContextRemoved: drop})
	}
	saved := make([]Saved, 0, len(out))
	for _, res := range out {
		s, err := n.Save(res.Node.Name)
		if err != nil {
			return nil, err
		}
		saved = append(saved, s)
	}
	for i, res := range out {
		if err := n.remove(res); err != nil {
			return nil, n.putBackRemoved(saved[:i], fmt.Errorf("node %q: %w", res.Node.Name, err))
		}
	}
	return out, nil
}

// putBackRemoved restores, newest first, the nodes a failed removal had already removed (their
// contexts and TLS files as they were), so that node rm removes all its nodes or none.
func (n *Nodes) putBackRemoved(saved []Saved, cause error) error {
	var errs []error
	for _, s := range slices.Backward(saved) {
		if err := n.restoreLocked(s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w (putting back the nodes removed before it failed too: %w)", cause, errors.Join(errs...))
	}
	if len(saved) > 0 {
		return fmt.Errorf("%w (the nodes removed before it were put back)", cause)
	}
	return cause
}

func (n *Nodes) remove(res RemoveResult) error {
	name := res.Node.Name
	if res.ContextRemoved {
		if err := n.store.Remove(name); err != nil {
			return fmt.Errorf("removing context %q: %w", name, err)
		}
		return nil
	}
	meta, err := n.store.GetMetadata(name)
	if err != nil {
		return fmt.Errorf("context %q: %w", name, err)
	}
	if meta, err = withNodeData(meta, nil); err != nil {
		return err
	}
	if err := n.store.CreateOrUpdate(meta); err != nil {
		return fmt.Errorf("updating context %q: %w", name, err)
	}
	return nil
}

// dockerContextOf returns the typed metadata of a context.
func dockerContextOf(meta store.Metadata) command.DockerContext {
	dc, _ := command.GetDockerContext(meta)
	return dc
}
