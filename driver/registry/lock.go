package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/buildx/util/imagetools"

	"github.com/docker-multiarch/docker-multiarch/internal/lockfile"
)

// defaultLockDir holds the per-repository publish locks of this machine's user: the user's cache
// directory, shared by every Docker config (and so by every docker multiarch process).
func defaultLockDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "docker-multiarch", "locks")
}

// lockWait bounds the wait for another publish to the same repository: every operation it holds
// the lock for is bounded by the timeout, and a publish makes a handful of them per tag.
func lockWait(timeout time.Duration, tags int) time.Duration {
	return time.Duration(4*tags+4)*timeout + 10*time.Second
}

// lockRepos takes the publish lock of every repository the tags are in, in a fixed order, so two
// publishes from this machine to the same repositories run one after the other.
func (c *Client) lockRepos(ctx context.Context, tags []*imagetools.Location) (func(), error) {
	var repos []string
	for _, t := range tags {
		if !slices.Contains(repos, t.Name()) {
			repos = append(repos, t.Name())
		}
	}
	slices.Sort(repos)
	wait := lockWait(c.timeout, len(tags))
	ctx, cancel := context.WithTimeoutCause(ctx, wait, fmt.Errorf("another publish held it for more than %s", wait))
	defer cancel()
	var releases []func()
	release := func() {
		for _, r := range slices.Backward(releases) {
			r()
		}
	}
	for _, repo := range repos {
		r, err := lockfile.Acquire(ctx, filepath.Join(c.lockDir, lockName(repo)))
		if err != nil {
			release()
			return nil, fmt.Errorf("publishing to %s: %w", repo, err)
		}
		releases = append(releases, r)
	}
	return release, nil
}

// lockName is a file name for a repository: readable, and unique by its hash.
func lockName(repo string) string {
	h := sha256.Sum256([]byte(repo))
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, repo)
	if len(safe) > 80 {
		safe = safe[:80]
	}
	return safe + "-" + hex.EncodeToString(h[:6]) + ".lock"
}
