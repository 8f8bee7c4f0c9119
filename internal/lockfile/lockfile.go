// Package lockfile takes exclusive locks on files, across processes, for the read-check-write
// sequences of commands that may run at the same time.
package lockfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// retryDelay is how often a held lock is tried again.
const retryDelay = 50 * time.Millisecond

// Acquire takes the exclusive lock of path, creating its directory (0700) and the file (0600) as
// needed, and waits for it until ctx ends; the error then names the lock file. release unlocks it.
func Acquire(ctx context.Context, path string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of lock %s: %w", path, err)
	}
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, retryDelay)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
		}
		return nil, fmt.Errorf("taking lock %s: %w", path, err)
	}
	if !ok { // not reached: TryLockContext returns an error when it gives up
		return nil, fmt.Errorf("waiting for lock %s: not acquired", path)
	}
	return func() { _ = fl.Unlock() }, nil
}
