package runner

import (
	"context"
	"sync"
	"time"

	"github.com/docker/buildx/builder"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// memo keeps, for the one command a Runner serves, what every build of it would ask again: a
// builder's buildx nodes (their driver handles keep one BuildKit client each, so bake's targets
// share a connection per node as buildx bake does, instead of dialing one per target and
// platform) and what a registry said of a base image's platforms.
type memo struct {
	mu     sync.Mutex
	nodes  map[string]*memoEntry[map[string]builder.Node]
	bases  map[string]*memoEntry[[]ocispec.Platform]
	warmed map[string]bool // the buildx nodes connected to ahead (warm.go): once for the command
	locals localShares     // the sessions bake's targets that send the same local folders share (Options.ShareLocals)
}

// firstWarm says whether node is to be connected to ahead: only the first build of the command
// that asks (bake's targets share the connection).
func (m *memo) firstWarm(node string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.warmed[node] {
		return false
	}
	if m.warmed == nil {
		m.warmed = map[string]bool{}
	}
	m.warmed[node] = true
	return true
}

type memoEntry[T any] struct {
	done chan struct{} // closed once v and err are set
	v    T
	err  error
}

// get returns key's value, computing it once, apart from its callers: each waits for it or for
// its own ctx (an interrupt is not held up by another caller's computation, which is bounded on
// its own).
func get[T any](ctx context.Context, mu *sync.Mutex, m *map[string]*memoEntry[T], key string, compute func() (T, error)) (T, error) {
	mu.Lock()
	if *m == nil {
		*m = map[string]*memoEntry[T]{}
	}
	e, ok := (*m)[key]
	if !ok {
		e = &memoEntry[T]{done: make(chan struct{})}
		(*m)[key] = e
		go func() {
			defer close(e.done)
			e.v, e.err = compute()
		}()
	}
	mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.err
	case <-ctx.Done():
		var zero T
		return zero, context.Cause(ctx)
	}
}

// buildNodesOnce is builders.BuildNodes, loaded once per builder for the command.
func (r *Runner) buildNodesOnce(ctx context.Context, t builders.Target, timeout time.Duration) (map[string]builder.Node, error) {
	if r.memo == nil {
		return r.builders.BuildNodes(ctx, t, timeout)
	}
	key := t.Name + "\x00" + t.Companion
	if t.Fallback {
		key = "\x00fallback\x00" + t.Name
	}
	loaded, err := get(ctx, &r.memo.mu, &r.memo.nodes, key, func() (map[string]builder.Node, error) {
		return r.builders.BuildNodes(context.WithoutCancel(ctx), t, timeout)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]builder.Node, len(loaded)) // each build's own map of the shared nodes
	for k, v := range loaded {
		out[k] = v
	}
	return out, nil
}

// basePlatforms is what the registry says of a base image's platforms, asked once for the command.
func (r *Runner) basePlatforms(ctx context.Context, reg *registry.Client, ref string) ([]ocispec.Platform, error) {
	if r.memo == nil {
		return reg.Platforms(ctx, ref)
	}
	return get(ctx, &r.memo.mu, &r.memo.bases, ref, func() ([]ocispec.Platform, error) { return reg.Platforms(context.WithoutCancel(ctx), ref) })
}
