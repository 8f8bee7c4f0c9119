package contexts

import (
	"path/filepath"
	"testing"
	"time"
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
