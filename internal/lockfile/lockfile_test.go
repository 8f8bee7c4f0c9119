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
