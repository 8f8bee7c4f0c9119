package contexts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/docker-multiarch/docker-multiarch/internal/lockfile"
)

// Builds record, beside the context store, the nodes each running build of this Docker config uses
// (one lease per build, held open with a lock by the process that runs it), so that builds started
// at the same moment spread over the nodes before their BuildKits report them. A lease whose
// process is gone (its lock free) is removed by the next build that reads them.

// runningDir holds the leases, next to the store's lock.
func (n *Nodes) runningDir() string {
	return filepath.Join(filepath.Dir(n.lockPath), ".multiarch-running")
}

// Reserve reads, under the leases' lock (waiting for it at most timeout), how many builds of this
// Docker config run on each node, lets pick choose the build's nodes from that, and records them
// before the lock is let go. release ends the lease; call it when the build is over. An error of
// pick is returned as it is, and nothing is recorded.
func (n *Nodes) Reserve(ctx context.Context, timeout time.Duration, pick func(local map[string]int) ([]string, error)) (release func(), err error) {
	dir := n.runningDir()
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unlock, err := lockfile.Acquire(lctx, filepath.Join(dir, ".lock"))
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case lctx.Err() != nil:
		return nil, fmt.Errorf("another build is choosing its nodes: %w", err)
	default:
		return nil, fmt.Errorf("the builds' leases in %s: %w", dir, err)
	}
	defer unlock()
	nodes, err := pick(readLeases(dir, true))
	if err != nil {
		return nil, err
	}
	return writeLease(dir, nodes)
}

type lease struct {
	Nodes   []string  `json:"nodes"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// Leases counts, without writing anything, how many builds of this Docker config run on each
// node, as Reserve would show them to pick (for --dry-run). Without the leases' lock within
// timeout it says none run.
func (n *Nodes) Leases(ctx context.Context, timeout time.Duration) map[string]int {
	dir := n.runningDir()
	if _, err := os.Stat(dir); err != nil {
		return map[string]int{} // no build ever ran here: nothing to read, nothing made
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unlock, err := lockfile.Acquire(lctx, filepath.Join(dir, ".lock"))
	if err != nil {
		return map[string]int{}
	}
	defer unlock()
	return readLeases(dir, false)
}

// readLeases counts the live leases' nodes; with sweep, it removes the leases whose process is gone
// (else it only leaves them out).
func readLeases(dir string, sweep bool) map[string]int {
	out := map[string]int{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			if sweep {
				removeOrphanLock(dir, e.Name())
			}
			continue
		}
		lock := flock.New(filepath.Join(dir, id+".lock"))
		if free, err := lock.TryLock(); err == nil && free { // its process is gone
			if sweep {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
			_ = lock.Unlock() // before the removal: Windows keeps an open file
			if sweep {
				_ = os.Remove(lock.Path())
			}
			continue
		}
		var l lease
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && json.Unmarshal(b, &l) == nil {
			for _, node := range l.Nodes {
				out[node]++
			}
		}
	}
	return out
}

// writeLease records a build's nodes and holds its lock until release.
func writeLease(dir string, nodes []string) (func(), error) {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, hex.EncodeToString(id[:]))
	lock := flock.New(base+".lock", flock.SetPermissions(0o600))
	if ok, err := lock.TryLock(); err != nil || !ok {
		return nil, fmt.Errorf("recording the build's nodes in %s: %w", dir, errors.Join(err, errLeaseTaken))
	}
	b, _ := json.Marshal(lease{Nodes: nodes, PID: os.Getpid(), Started: time.Now().UTC()})
	if err := os.WriteFile(base+".json", b, 0o600); err != nil {
		_ = lock.Unlock()
		return nil, fmt.Errorf("recording the build's nodes: %w", err)
	}
	return func() {
		_ = os.Remove(base + ".json") // first: the lease no longer counts
		_ = lock.Unlock()             // then the lock, closed before its removal (Windows keeps an open file)
		_ = os.Remove(base + ".lock")
	}, nil
}

// removeOrphanLock removes a lease's lock file left without its lease (its process ended between
// the two removals), once it is free. Called under the leases' lock, as leases are written.
func removeOrphanLock(dir, name string) {
	id, ok := strings.CutSuffix(name, ".lock")
	if !ok || id == "" {
		return // not a lease's lock (".lock" is the leases' own)
	}
	if _, err := os.Stat(filepath.Join(dir, id+".json")); !errors.Is(err, os.ErrNotExist) {
		return
	}
	lock := flock.New(filepath.Join(dir, name))
	if free, err := lock.TryLock(); err == nil && free {
		_ = lock.Unlock()
		_ = os.Remove(lock.Path())
	}
}

var errLeaseTaken = errors.New("lease file in use")
