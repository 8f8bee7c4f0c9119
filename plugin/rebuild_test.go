package plugin

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type rebuildFake struct {
	*fakeService
	res *driver.RebuildResult
	got driver.RebuildOptions
}

func (f *rebuildFake) Rebuild(_ context.Context, o driver.RebuildOptions, _ io.Writer) (*driver.RebuildResult, error) {
	f.calls = append(f.calls, "Rebuild")
	f.got = o
	return f.res, nil
}

// rebuild's flags are checked before anything runs; a platform that does not reproduce is listed
// with what differs, and the command fails naming it.
func TestRebuildListsDifferencesAndFails(t *testing.T) {
	for _, args := range [][]string{{"rebuild"}, {"rebuild", "r/app:1", "--format", "xml"}, {"rebuild", "r/app:1", "--timeout", "-1s"}} {
		f := &rebuildFake{fakeService: &fakeService{}}
		if r := run(t, f, args...); r.err == nil || len(f.calls) != 0 {
			t.Errorf("%v: err %v, calls %v", args, r.err, f.calls)
		}
	}
	diff := &driver.ImageDiff{Files: []driver.FileDiff{{Path: "/made", Fields: []string{"mtime"},
		A: &driver.FileState{Layer: 2, Mtime: "2026-12-07T05:55:09Z"}, B: &driver.FileState{Layer: 2, Mtime: "2026-12-07T05:55:08Z"}}}}
	f := &rebuildFake{fakeService: &fakeService{}, res: &driver.RebuildResult{Ref: "r/app:1", Notes: []string{"the provenance is mode=min"}, Platforms: []driver.Rebuilt{
		{Platform: "linux/amd64", Node: "a", Image: "sha256:1111", Digest: "sha256:1111", Reproduced: true},
		{Platform: "linux/arm64", Node: "b", Image: "sha256:2222", Digest: "sha256:3333", Diff: diff},
	}}}
	r := run(t, f, "rebuild", "r/app:1", "--context", ".", "--platform", "linux/arm64", "--diff-limit", "3")
	if r.err == nil || !strings.Contains(r.err.Error(), "does not reproduce: linux/arm64") || strings.Contains(r.err.Error(), "amd64") {
		t.Fatalf("err %v", r.err)
	}
	wantIn(t, "the output", r.stdout, "reproduced", "DIFFERS (1)", "/made (layer 2): mtime 2026-12-07T05:55:09Z, then 2026-12-07T05:55:08Z")
	wantIn(t, "the notes", r.stderr, "mode=min")
	if f.got.ContextPath != "." || f.got.DiffLimit != 3 || len(f.got.Platforms) != 1 {
		t.Errorf("options %+v", f.got)
	}
	f.res.Platforms = f.res.Platforms[:1]
	if r := run(t, f, "rebuild", "r/app:1", "--format", "json"); r.err != nil || !strings.Contains(r.stdout, `"reproduced": true`) {
		t.Errorf("every platform reproduced: %v\n%s", r.err, r.stdout)
	}
}
