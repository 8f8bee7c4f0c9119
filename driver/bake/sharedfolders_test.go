package bake

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/runner"
)

// Targets share their folders' sessions only with a target sending the same context and
// Dockerfile folder; a target alone with its folders, or with a remote context, does not.
func TestMarkSharedFolders(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, d := range []string{"app", "tool", "df"} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	abs, _ := filepath.Abs("app")
	jobs := []*job{
		{name: "a", conv: converted{opts: runner.Options{ContextPath: "app"}}},
		{name: "b", conv: converted{opts: runner.Options{ContextPath: abs, File: filepath.Join(abs, "Dockerfile.b")}}},
		{name: "c", conv: converted{opts: runner.Options{ContextPath: "app", File: "df/Dockerfile"}}},
		{name: "tool", conv: converted{opts: runner.Options{ContextPath: "tool"}}},
		{name: "git1", conv: converted{opts: runner.Options{ContextPath: "https://github.com/o/r.git"}}},
		{name: "git2", conv: converted{opts: runner.Options{ContextPath: "https://github.com/o/r.git"}}},
	}
	markSharedFolders(jobs)
	want := map[string]bool{"a": true, "b": true, "c": false, "tool": false, "git1": false, "git2": false}
	for _, j := range jobs {
		if j.conv.opts.ShareLocals != want[j.name] {
			t.Errorf("target %s: shares %v, want %v", j.name, j.conv.opts.ShareLocals, want[j.name])
		}
	}
}
