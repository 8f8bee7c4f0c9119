package contexts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/lockfile"
)

func TestReserveSpreadsConcurrentBuilds(t *testing.T) {
	n := (&Nodes{}).WithLock(filepath.Join(t.TempDir(), "contexts", ".multiarch.lock"))
	pickLeast := func(local map[string]int) ([]string, error) {
		if local["a"] <= local["b"] {
			return []string{"a"}, nil
		}
		return []string{"b"}, nil
	}
	var seen []map[string]int
	record := func(local map[string]int) ([]string, error) {
		seen = append(seen, local)
		return pickLeast(local)
	}
	first, err := n.Reserve(t.Context(), time.Second, record)
	if err != nil {
		t.Fatal(err)
	}
	second, err := n.Reserve(t.Context(), time.Second, record)
	if err != nil {
		t.Fatal(err)
	}
	if seen[1]["a"] != 1 || seen[1]["b"] != 0 {
		t.Errorf("the second build saw %v, want the first one's lease on a", seen[1])
	}
	first()
	second()
	if _, err := n.Reserve(t.Context(), time.Second, record); err != nil {
		t.Fatal(err)
	}
	if len(seen[2]) != 0 {
		t.Errorf("released leases still count: %v", seen[2])
	}
	entries, _ := filepath.Glob(filepath.Join(n.runningDir(), "*.json"))
	if len(entries) != 1 {
		t.Errorf("leases on disk: %v, want the third build's", entries)
	}
}

// A released lease leaves no file; a lease's lock left without its lease is swept; Ctrl-C while
// waiting for the leases' lock says so, not that another build holds it.
func TestLeasesLeaveNoFilesAndCancelIsNamed(t *testing.T) {
	n := (&Nodes{}).WithLock(filepath.Join(t.TempDir(), "contexts", ".multiarch.lock"))
	pick := func(map[string]int) ([]string, error) { return []string{"a"}, nil }
	release, err := n.Reserve(t.Context(), time.Second, pick)
	if err != nil {
		t.Fatal(err)
	}
	release()
	orphan := filepath.Join(n.runningDir(), "0123456789abcdef.lock")
	if err := os.WriteFile(orphan, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	release, err = n.Reserve(t.Context(), time.Second, pick) // reads (and sweeps) the leases
	if err != nil {
		t.Fatal(err)
	}
	release()
	left, _ := filepath.Glob(filepath.Join(n.runningDir(), "*"))
	if !slices.Equal(left, []string{filepath.Join(n.runningDir(), ".lock")}) { // the leases' own lock stays
		t.Errorf("files left: %v", left)
	}

	hold, err := lockfile.Acquire(t.Context(), filepath.Join(n.runningDir(), ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer hold()
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("interrupted"))
	if _, err := n.Reserve(ctx, time.Second, pick); err == nil || err.Error() != "interrupted" {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := n.Reserve(t.Context(), 200*time.Millisecond, pick); err == nil || !strings.Contains(err.Error(), "another build is choosing its nodes") {
		t.Errorf("held: %v", err)
	}
}
