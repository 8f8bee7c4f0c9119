package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCallReturnsAtTheDeadlineWhenTheCalleeHangs(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	err := Call(context.Background(), 50*time.Millisecond, func(context.Context) error {
		<-release // ignores its context, as a stuck ssh helper does
		return nil
	})
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Call returned after %s with a 50ms deadline", took)
	}
	if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

func TestCallPassesResultsAndErrors(t *testing.T) {
	boom := errors.New("boom")
	if err := Call(context.Background(), time.Second, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	v, err := Value(context.Background(), time.Second, func(context.Context) (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Fatalf("Value = %d, %v", v, err)
	}
}

func TestCallReportsTheDeadlineWhenTheCalleeFailsOnIt(t *testing.T) {
	err := Call(context.Background(), 20*time.Millisecond, func(ctx context.Context) error {
		<-ctx.Done()
		return errors.New("rpc error: code = DeadlineExceeded desc = context deadline exceeded")
	})
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v, want the deadline named", err)
	}
}

func TestCallReturnsTheParentsCause(t *testing.T) {
	interrupted := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel(interrupted) }()
	err := Call(ctx, time.Minute, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, interrupted) {
		t.Fatalf("err = %v, want the parent's cause", err)
	}
}
