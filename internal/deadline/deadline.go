// Package deadline runs calls that must return by a deadline even when the callee does not honour
// its context (an ssh helper, a half-open connection, a frozen daemon).
package deadline

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoAnswer is wrapped by the error of a call that did not return within its deadline.
var ErrNoAnswer = errors.New("no answer")

// Error is the error of a call cut off at its deadline.
func Error(timeout time.Duration) error {
	return fmt.Errorf("%w within %s: %w", ErrNoAnswer, timeout, context.DeadlineExceeded)
}

// Call runs fn with a context that ends after timeout and returns by then even if fn has not: fn
// then winds down in the background and its result is dropped. An fn that fails because its
// context ended reports the deadline, not the callee's own wording of it. When the parent context
// is cancelled first, its cause is returned.
func Call(ctx context.Context, timeout time.Duration, fn func(context.Context) error) error {
	_, err := Value(ctx, timeout, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// Value is Call for a function with a result; the zero value is returned at the deadline.
func Value[T any](ctx context.Context, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn(cctx)
		done <- result{v, err}
	}()
	var zero T
	select {
	case r := <-done:
		if r.err != nil && cctx.Err() != nil {
			return r.v, ended(ctx, timeout)
		}
		return r.v, r.err
	case <-cctx.Done():
		return zero, ended(ctx, timeout)
	}
}

// ended is why a call's context ended: the parent's cancellation cause, else the deadline.
func ended(parent context.Context, timeout time.Duration) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	return Error(timeout)
}

// CheckTimeout is the one check of a --timeout value: a deadline must leave time to answer.
func CheckTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("invalid --timeout %s: must be positive", d)
	}
	return nil
}
