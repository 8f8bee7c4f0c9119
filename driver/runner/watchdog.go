package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// grace is how long an interrupted step may take to wind down (its BuildKit told to cancel the
// solve, which BuildKit's client follows by up to 3s of status stream, its temp files removed)
// before the build goes on without it. A step whose node stopped answering gets deadGrace: that
// node will not hear the cancel anyway, but the step's local files go.
const (
	grace     = 3500 * time.Millisecond
	deadGrace = 500 * time.Millisecond
)

// liveness is how a step's node is checked while the step runs: its engine at first, then, once the
// step's BuildKit client is up, BuildKit itself over that same connection (so a BuildKit that is
// frozen while its engine answers is caught, and an ssh node does not get a new login per check).
type liveness struct {
	mu    sync.Mutex
	what  string
	probe func(context.Context) error
}

func (l *liveness) set(what string, probe func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.what, l.probe = what, probe
}

// check runs the current probe within timeout; it returns what was checked.
func (l *liveness) check(ctx context.Context, timeout time.Duration) (string, error) {
	l.mu.Lock()
	what, probe := l.what, l.probe
	l.mu.Unlock()
	if probe == nil {
		return "", nil
	}
	return what, deadline.Call(ctx, timeout, probe)
}

// buildkitProbe asks a BuildKit daemon for its workers: it answers only when it is alive.
func buildkitProbe(c *client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.ListWorkers(ctx)
		return err
	}
}

// watch runs fn and checks the node every timeout/2 while it runs. When a check fails or does not
// answer within timeout, fn's context is cancelled with an error naming the node, its progress is
// detached, and watch returns (at most deadGrace later). An interrupt of ctx returns once fn has
// wound down (at most grace later), with ctx's cause.
func watch(ctx context.Context, node, endpoint string, timeout time.Duration, live *liveness, pw *detachable, fn func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t := time.NewTicker(max(timeout/2, 500*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return windDown(ctx, pw, done, grace)
		case <-t.C:
		}
		what, err := live.check(ctx, timeout)
		if err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("node %q (%s) stopped answering: its %s: %w", node, redact.URL(endpoint), what, redact.Error(err)))
			return windDown(ctx, pw, done, deadGrace)
		}
	}
}

// windDown waits (at most wait) for a cancelled step to return, then reports why it was cancelled.
func windDown(ctx context.Context, pw *detachable, done <-chan error, wait time.Duration) error {
	select {
	case <-done:
	case <-time.After(wait):
	}
	pw.detach()
	return context.Cause(ctx)
}

// detachable forwards progress to the printer until it is detached; an abandoned step's late
// progress is then dropped instead of reaching a printer that has finished.
type detachable struct {
	progress.Writer
	mu       sync.Mutex
	detached bool
	warnings []*client.VertexWarning // what BuildKit warned about (buildx.build.warnings)
	log      vertexRecord            // the step's vertices (the history, the CACHED column)
}

func (d *detachable) Write(s *client.SolveStatus) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.detached {
		d.warnings = append(d.warnings, s.Warnings...)
		d.log.add(s.Vertexes)
		d.Writer.Write(s)
	}
}

// buildWarnings are the warnings BuildKit sent so far.
func (d *detachable) buildWarnings() []*client.VertexWarning {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*client.VertexWarning(nil), d.warnings...)
}

func (d *detachable) detach() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.detached = true
}
