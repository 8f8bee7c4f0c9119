package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

func TestAcquireExcludesOtherHolders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", ".lock")
	var inside, maxInside atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				release, err := Acquire(context.Background(), path)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				release()
			}
		})
	}
	wg.Wait()
	if m := maxInside.Load(); m != 1 {
		t.Errorf("%d holders at once, want 1", m)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("lock file mode %o, want 0600", perm)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := dir.Mode().Perm(); perm != 0o700 {
		t.Errorf("lock dir mode %o, want 0700", perm)
	}
}

func TestAcquireStopsWhenTheContextEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	release, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Acquire(ctx, path)
	if took := time.Since(start); took > time.Second {
		t.Errorf("waited %s with a 150ms timeout", took)
	}
	if err == nil || !strings.Contains(err.Error(), "waiting for lock "+path) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want one naming %s", err, path)
	}
	release()
	// Released: the next holder gets it at once.
	release, err = Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	release()
}

// A holder in this process hands the lock to the next one in this process at once, not at its
// next poll: with the poll made an hour long, the waiters still all get it in turn.
func TestAcquireHandsOverInProcessWithoutPolling(t *testing.T) {
	defer func(d time.Duration) { retryDelay = d }(retryDelay)
	retryDelay = time.Hour
	path := filepath.Join(t.TempDir(), ".lock")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := Acquire(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var got atomic.Int32
	for range 3 {
		wg.Go(func() {
			r, err := Acquire(ctx, path)
			if err != nil {
				t.Error(err)
				return
			}
			got.Add(1)
			r()
		})
	}
	time.Sleep(20 * time.Millisecond) // the waiters are waiting
	release()
	release() // twice: harmless, and it does not let two holders in
	wg.Wait()
	if got.Load() != 3 {
		t.Fatalf("%d of 3 waiters got the lock", got.Load())
	}
}

// Another process's lock (another descriptor's flock) still excludes, and is polled for.
func TestAcquireWaitsForAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".lock")
	other := flock.New(path)
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	_, err := Acquire(ctx, path)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("took a lock another process holds: err = %v", err)
	}
	// The failed wait left its slot free: once the other process lets go, the lock is taken.
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := Acquire(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	release()
}
