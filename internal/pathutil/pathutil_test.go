package pathutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveAndWithin(t *testing.T) {
	root := t.TempDir()
	real, _ := filepath.EvalSymlinks(root)
	if err := os.MkdirAll(filepath.Join(root, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(os.TempDir(), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	tmp, _ := filepath.EvalSymlinks(os.TempDir())
	for in, want := range map[string]string{
		filepath.Join(root, "out", "new", "file"): filepath.Join(real, "out", "new", "file"), // not there yet
		filepath.Join(root, "link", "x"):          filepath.Join(tmp, "x"),                   // through the link
	} {
		if got := Resolve(in); got != want {
			t.Errorf("Resolve(%s) = %s, want %s", in, got, want)
		}
	}
	for _, tc := range []struct {
		p, root string
		want    bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/", "/a", false}, {"/a/../c", "/a", false},
	} {
		if got := Within(filepath.Clean(tc.p), tc.root); got != tc.want {
			t.Errorf("Within(%s, %s) = %v", tc.p, tc.root, got)
		}
	}
}
