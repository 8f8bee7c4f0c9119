package registry

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	remoteserrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
)

// A tag's PUT and what is known of its outcome: answered (applied or refused), or unsettled (no
// answer: it may still land, and counts as applied).

// interruptGrace is how long a tag PUT already sent may still answer after an interrupt, so that
// its outcome is known instead of guessed; settleWatch is how long, after an interrupt, an
// unanswered one is watched for a late landing (a timed-out one is watched for the timeout).
const (
	interruptGrace = time.Second
	settleWatch    = 1500 * time.Millisecond
)

// putSettled moves tag i, letting a PUT already sent finish for interruptGrace after an interrupt.
// A PUT without an answer from the registry (cut off, interrupted, the connection lost) may still
// be applied: it is marked unsettled, and undo counts it as applied.
func (tx *tagTx) putSettled(ctx context.Context, i int) error {
	sctx, stop := settling(ctx, interruptGrace)
	defer stop()
	err := tx.c.put(sctx, tx.tags[i], tx.index, tx.json)
	if err != nil && !answered(err) {
		tx.unsettled[i] = true
	}
	return err
}

// settling is a context that ends grace after ctx does (or when stopped), with ctx's cause.
func settling(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	var timer *time.Timer
	var mu sync.Mutex
	unwatch := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, func() { cancel(context.Cause(ctx)) })
	})
	return sctx, func() {
		unwatch()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(nil)
	}
}

// answered tells whether a failed PUT is known not to have been applied: the registry answered
// with a status (refused, unauthorized, forbidden), or the connection was refused before anything
// was sent.
func answered(err error) bool {
	var status remoteserrors.ErrUnexpectedStatus
	return errors.As(err, &status) || errdefs.IsUnauthorized(err) || errdefs.IsPermissionDenied(err) || errors.Is(err, syscall.ECONNREFUSED)
}
