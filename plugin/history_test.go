package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type historyFake struct {
	*fakeService
	recs    []driver.HistoryRecord
	removed []string
}

func (f *historyFake) History() ([]driver.HistoryRecord, error) { return f.recs, nil }

func (f *historyFake) RemoveHistory(ids []string) error {
	f.removed = append(f.removed, ids...)
	return nil
}

func TestHistoryLsFilters(t *testing.T) {
	now := time.Now()
	f := &historyFake{fakeService: &fakeService{}, recs: []driver.HistoryRecord{
		{ID: "aa", Command: "build", Builder: "b1", Tags: []string{"docker.io/library/app:latest"}, Outcome: "succeeded", Start: now.Add(-time.Hour), End: now},
		{ID: "bb", Command: "bake", Builder: "b2", Outcome: "failed", Start: now.Add(-48 * time.Hour), End: now.Add(-47 * time.Hour)},
	}}
	for _, tc := range []struct {
		filters []string
		want    string
	}{
		{[]string{"--filter", "tag=app"}, "aa"},
		{[]string{"--filter", "outcome=failed"}, "bb"},
		{[]string{"--filter", "since=24h"}, "aa"},
		{[]string{"--filter", "builder=b2", "--filter", "command=bake"}, "bb"},
		{[]string{"--filter", "builder=b2", "--filter", "command=build"}, ""},
	} {
		r := run(t, f, append([]string{"history", "ls", "--format", "{{.ID}}"}, tc.filters...)...)
		if r.err != nil || strings.TrimSpace(r.stdout) != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.filters, r.stdout, r.err, tc.want)
		}
	}
	for _, bad := range []string{"outcome=maybe", "since=soon", "color=red", "tag"} {
		if r := run(t, f, "history", "ls", "--filter", bad); r.err == nil || !strings.Contains(r.err.Error(), bad) {
			t.Errorf("--filter %s: %v", bad, r.err)
		}
	}
	if r := run(t, f, "history", "rm"); r.err == nil || len(f.removed) != 0 {
		t.Errorf("rm without IDs or --all: %v, removed %v", r.err, f.removed)
	}
	if r := run(t, f, "history", "rm", "--all"); r.err != nil || strings.Join(f.removed, ",") != "aa,bb" {
		t.Errorf("rm --all: %v, removed %v", r.err, f.removed)
	}
}

func TestPrintableStripsControlCharacters(t *testing.T) {
	if got := printable("RUN echo \x1b[2J\x1b]0;pwned\x07 done\u009b"); strings.ContainsAny(got, "\x1b\x07\u009b") || !strings.Contains(got, "done") {
		t.Errorf("%q", got)
	}
}
