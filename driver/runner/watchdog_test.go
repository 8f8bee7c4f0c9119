package runner

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchStopsAStepWhoseNodeStopsAnswering(t *testing.T) {
	var calls atomic.Int32
	live := &liveness{}
	live.set("BuildKit", func(ctx context.Context) error {
		if calls.Add(1) > 1 {
			<-ctx.Done() // frozen: never answers
			return ctx.Err()
		}
		return nil
	})
	stepCancelled := make(chan struct{})
	start := time.Now()
	err := watch(context.Background(), "arm", "ssh://u:secret@arm-box", 400*time.Millisecond, live, &detachable{Writer: discard{}},
		func(ctx context.Context) error {
			<-ctx.Done()
			close(stepCancelled)
			return ctx.Err()
		})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), `node "arm"`) || !strings.Contains(err.Error(), "its BuildKit") {
		t.Fatalf("err = %v, want the node and BuildKit named", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the endpoint's password is in the error: %v", err)
	}
	select {
	case <-stepCancelled:
	default:
		t.Error("the step's context was not cancelled")
	}
	// Checked every 400ms/2 (min 500ms): the second check hangs and is cut at 400ms.
	if took > 3*time.Second {
		t.Errorf("watch returned after %s", took)
	}
}

func TestWatchReturnsOnInterruptEvenIfTheStepHangs(t *testing.T) {
	interrupted := errors.New("interrupted by SIGINT")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel(interrupted) }()
	release := make(chan struct{})
	defer close(release)
	start := time.Now()
	err := watch(ctx, "n", "unix:///x", time.Minute, &liveness{}, &detachable{Writer: discard{}}, func(context.Context) error {
		<-release // ignores its context
		return nil
	})
	if !errors.Is(err, interrupted) {
		t.Fatalf("err = %v, want the interrupt", err)
	}
	if took := time.Since(start); took > grace+time.Second {
		t.Errorf("watch returned after %s; a hung step may hold it at most %s", took, grace)
	}
}

func TestWatchPassesTheStepsResult(t *testing.T) {
	live := &liveness{}
	live.set("engine", func(context.Context) error { return nil })
	boom := errors.New("RUN failed")
	if err := watch(context.Background(), "n", "unix:///x", time.Second, live, &detachable{Writer: discard{}}, func(context.Context) error {
		time.Sleep(700 * time.Millisecond) // outlives a healthy check
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}
