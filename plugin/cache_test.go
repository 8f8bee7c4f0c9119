package plugin

import (
	"context"
	"encoding/json"
	"reflect"
	"regexp"
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

// prune's flags have buildx's meaning and are checked before any node is asked; without --force
// it asks, and reads the answer from a pipe too (none: nothing done, exit 0, as buildx); a node
// that did not answer fails the command, naming it.
func TestPruneFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"prune", "--force", "--keep-storage", "lots"}, `invalid --reserved-space "lots"`},
		{[]string{"prune", "--force", "--max-used-space", "-1"}, `invalid --max-used-space "-1"`},
		{[]string{"prune", "--force", "--min-free-space", "x"}, `invalid --min-free-space "x"`},
		{[]string{"prune", "--force", "--filter", "until=soon"}, `invalid --filter "until=soon"`},
		{[]string{"prune", "--force", "--filter", "until=24h", "--filter", "until=48h"}, `"until" is given 2 times (24h, 48h)`},
		{[]string{"prune", "--force", "--filter", "until=24h", "--filter", "unused-for=48h"}, `"until" and "unused-for" conflict`},
		{[]string{"prune", "--force", "--filter", "type=regular", "--filter", "type=source.local"}, `"type" is given 2 times`},
		{[]string{"prune", "--force", "--filter", "novalue"}, "bad format of filter"},
	} {
		f := &cacheFake{fakeService: &fakeService{}}
		if r := run(t, f, tc.args...); r.err == nil || !strings.Contains(r.err.Error(), tc.want) || len(f.calls) != 0 {
			t.Errorf("%v: %v (calls %v), want %q", tc.args, r.err, f.calls, tc.want)
		}
	}
	f := &cacheFake{fakeService: &fakeService{}}
	r := run(t, f, "prune", "--force", "--keep-storage", "10GB", "--max-used-space", "20GB", "--min-free-space", "1GB",
		"--filter", "until=24h", "--filter", "type=regular", "--filter", "id=abc", "--filter", "description~=go", "--all")
	want := driver.PruneOptions{ReservedSpace: 10 << 30, MaxUsedSpace: 20 << 30, MinFreeSpace: 1 << 30, Until: 24 * time.Hour,
		Filters: []string{"description~=go", "id~=abc", "type==regular"}, All: true}
	if f.pruned == nil || !reflect.DeepEqual(*f.pruned, want) {
		t.Errorf("options %+v, want %+v", f.pruned, want)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "node b") || !strings.Contains(r.stdout, "Total reclaimed: 2.048kB") {
		t.Errorf("a node that did not answer: %v\n%s", r.err, r.stdout)
	}
	for in, prunes := range map[string]bool{"": false, "n\n": false, "y\n": true, "Y": true, "yes\n": false, " y\n": false} {
		f := &cacheFake{fakeService: &fakeService{}}
		r := runIn(t, f, in, "prune")
		if (f.pruned != nil) != prunes || (!prunes && r.err != nil) || !strings.Contains(r.stdout, "[y/N]") {
			t.Errorf("answer %q: pruned %v, err %v\n%s", in, f.pruned != nil, r.err, r.stdout)
		}
	}
}

// With --format json the question goes to stderr: stdout is the JSON alone.
func TestPruneQuestionKeepsJSONClean(t *testing.T) {
	f := &cacheFake{fakeService: &fakeService{}}
	r := runIn(t, f, "y\n", "prune", "--format", "json")
	var res []driver.PruneResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res) != 2 || !strings.Contains(r.stderr, "[y/N]") {
		t.Errorf("stdout %q (%v), stderr %q", r.stdout, err, r.stderr)
	}
}

// A node that answered and refused the prune (its BuildKit too old for --max-used-space) is
// "refused", not "did not answer".
func TestPruneRefusedNode(t *testing.T) {
	f := &refusingFake{fakeService: &fakeService{}}
	r := run(t, f, "prune", "--force", "--max-used-space", "1GB")
	if r.err == nil || !regexp.MustCompile(`(?m)^old +0 +0B +refused$`).MatchString(r.stdout) || !strings.Contains(r.err.Error(), "1 of 2 nodes did not prune") {
		t.Errorf("%v\n%s", r.err, r.stdout)
	}
}

type refusingFake struct{ *fakeService }

func (f *refusingFake) Prune(context.Context, string, driver.PruneOptions, time.Duration) ([]driver.PruneResult, error) {
	return []driver.PruneResult{{Node: "new", Records: 1, Reclaimed: 10}, {Node: "old", Err: "node old: its BuildKit is older than v0.17.0", Refused: true}}, nil
}
