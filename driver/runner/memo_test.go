package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A value is computed once for every caller, also when they ask at once; an error is kept too.
func TestMemoComputesOnce(t *testing.T) {
	var mu sync.Mutex
	var m map[string]*memoEntry[[]string]
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v, err := get(t.Context(), &mu, &m, "busybox", func() ([]string, error) {
				calls.Add(1)
				return []string{"linux/amd64"}, nil
			})
			if err != nil || len(v) != 1 {
				t.Errorf("%v %v", v, err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("computed %d times", calls.Load())
	}
	boom := errors.New("boom")
	for range 2 {
		if _, err := get(t.Context(), &mu, &m, "gone", func() ([]string, error) { calls.Add(1); return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("err %v", err)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("an error was computed again: %d calls", calls.Load())
	}
}

// A caller interrupted while another's computation runs returns at once with its cause.
func TestMemoCallerLeavesOnItsContext(t *testing.T) {
	var mu sync.Mutex
	var m map[string]*memoEntry[int]
	release := make(chan struct{})
	defer close(release)
	go func() { _, _ = get(t.Context(), &mu, &m, "slow", func() (int, error) { <-release; return 1, nil }) }()
	for started := false; !started; time.Sleep(time.Millisecond) { // the slow one is computing
		mu.Lock()
		started = m["slow"] != nil
		mu.Unlock()
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("interrupted"))
	start := time.Now()
	if _, err := get(ctx, &mu, &m, "slow", func() (int, error) { return 2, nil }); err == nil || err.Error() != "interrupted" || time.Since(start) > time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
}
