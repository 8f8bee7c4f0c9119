package contexts

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/docker/cli/cli/config"

	"github.com/docker-multiarch/docker-multiarch/internal/lockfile"
)

// DefaultLockPath is the lock file that serializes node writes to the Docker CLI's context store
// (DOCKER_CONFIG aware).
func DefaultLockPath() string {
	return filepath.Join(config.Dir(), "contexts", ".multiarch.lock")
}

// WithLock sets the lock file that serializes this service's writes with those of other processes
// (the default is DefaultLockPath); it returns n.
func (n *Nodes) WithLock(path string) *Nodes {
	n.lockPath = path
	return n
}

// lock takes the store's lock, waiting for it until ctx ends or timeout passes; the error then
// names the lock file. release unlocks it.
func (n *Nodes) lock(ctx context.Context, timeout time.Duration) (release func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel() // the lock outlives the wait
	release, err = lockfile.Acquire(ctx, n.lockPath)
	if err != nil {
		return nil, fmt.Errorf("another node command is writing the Docker context store: %w", err)
	}
	return release, nil
}
