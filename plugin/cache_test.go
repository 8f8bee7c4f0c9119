package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type cacheFake struct {
	*fakeService
	pruned *driver.PruneOptions
}

func (f *cacheFake) Prune(_ context.Context, _ string, o driver.PruneOptions, _ time.Duration) ([]driver.PruneResult, error) {
	f.calls = append(f.calls, "Prune")
	f.pruned = &o
	return []driver.PruneResult{{Node: "a", Records: 2, Reclaimed: 2048}, {Node: "b", Err: "node b: context deadline exceeded"}}, nil
}

// prune's flags have buildx's meaning and are checked before any node is asked; without a
// terminal it needs --force; a node that did not answer fails the command, naming it.
func TestPruneFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"prune", "--force", "--keep-storage", "lots"}, `invalid --keep-storage "lots"`},
		{[]string{"prune", "--force", "--filter", "type=regular"}, `invalid --filter "type=regular"`},
		{[]string{"prune", "--force", "--filter", "until=soon"}, `invalid --filter "until=soon"`},
		{[]string{"prune"}, "give --force"},
	} {
		f := &cacheFake{fakeService: &fakeService{}}
		if r := run(t, f, tc.args...); r.err == nil || !strings.Contains(r.err.Error(), tc.want) || len(f.calls) != 0 {
			t.Errorf("%v: %v (calls %v), want %q", tc.args, r.err, f.calls, tc.want)
		}
	}
	f := &cacheFake{fakeService: &fakeService{}}
	r := run(t, f, "prune", "--force", "--keep-storage", "10GB", "--filter", "until=24h", "--all")
	if f.pruned == nil || f.pruned.KeepStorage != 10<<30 || f.pruned.Until != 24*time.Hour || !f.pruned.All {
		t.Errorf("options %+v", f.pruned)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "node b") || !strings.Contains(r.stdout, "Total reclaimed: 2.048kB") {
		t.Errorf("a node that did not answer: %v\n%s", r.err, r.stdout)
	}
}
