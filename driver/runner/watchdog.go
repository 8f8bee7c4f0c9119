package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
)

// watchNode runs fn and, while it runs, probes the node's engine every interval. When the engine
// has not answered for timeout, watchNode returns at once with an error naming the node and
// endpoint (fn's context is cancelled; fn winds down in the background, its progress detached), so
// a node that drops off the network mid-build cannot hang the build.
func (r *Runner) watchNode(ctx context.Context, name string, timeout time.Duration, pw *detachable, fn func(context.Context) error) error {
	node, err := r.nodes.Get(name)
	if err != nil {
		return fn(ctx) // not a multiarch node (the current context): nothing to watch
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	interval := max(timeout/2, time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C:
		}
		if st := r.nodes.Probe(ctx, node, timeout); st.Err != nil && ctx.Err() == nil {
			cause := fmt.Errorf("node %q (%s) stopped answering: %w", node.Name, node.Endpoint, st.Err)
			cancel(cause)
			pw.detach()
			return cause
		}
	}
}

// detachable forwards progress to the printer until it is detached; an abandoned step's late
// progress is then dropped instead of reaching a printer that has finished.
type detachable struct {
	progress.Writer
	mu       sync.Mutex
	detached bool
}

func (d *detachable) Write(s *client.SolveStatus) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.detached {
		d.Writer.Write(s)
	}
}

func (d *detachable) detach() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.detached = true
}
