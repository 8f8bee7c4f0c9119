// Package lockfile takes exclusive locks on files, across processes, for the read-check-write
// sequences of commands that may run at the same time.
package lockfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// retryDelay is how often a lock another process holds is tried again. Holders in this process
// wait on its slot instead, and the next one takes the lock as soon as it is released (bake's
// targets choose their nodes one after another, and each 50 ms poll was a target started late).
var retryDelay = 10 * time.Millisecond

// slots hold, by absolute path, the lock's holder in this process: one at a time, the others
// waiting in turn (an flock taken twice by one process through two descriptors would also exclude,
// but only by polling).
var (
	slotsMu sync.Mutex
	slots   = map[string]chan struct{}{}
)

func slotOf(path string) chan struct{} {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	slotsMu.Lock()
	defer slotsMu.Unlock()
	s, ok := slots[path]
	if !ok {
		s = make(chan struct{}, 1)
		slots[path] = s
	}
	return s
}

// Acquire takes the exclusive lock of path, creating its directory (0700) and the file (0600) as
// needed, and waits for it until ctx ends; the error then names the lock file. release unlocks it.
func Acquire(ctx context.Context, path string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of lock %s: %w", path, err)
	}
	slot := slotOf(path)
	select {
	case slot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
	}
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, retryDelay)
	if err == nil && !ok { // not reached: TryLockContext returns an error when it gives up
		err = fmt.Errorf("waiting for lock %s: not acquired", path)
	}
	if err != nil {
		<-slot
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
		}
		return nil, fmt.Errorf("taking lock %s: %w", path, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = fl.Unlock()
			<-slot
		})
	}, nil
}
