package pathutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Where no symlink is on the way, a path resolves to where the OS takes it: absolute and clean,
// the text-cleaned join with the working directory; or to an error when it goes through a file.
// Where a link is on the way, the result is still absolute and clean, and has no link left in
// its existing part.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"a", "a/../f", "./a//b/", "f/..", "../x", "/", "a/b/../../..", "link/../f", "link/x/..", "~/x", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) > 256 || strings.ContainsRune(p, 0) || filepath.IsAbs(p) {
			t.Skip()
		}
		root, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		wd := filepath.Join(root, "work")
		if err := os.MkdirAll(filepath.Join(wd, "a"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wd, "f"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Chdir(wd)
		through := strings.Contains("/"+p+"/", "/link/") || strings.HasPrefix(p, "link")
		if through {
			if err := os.Symlink(filepath.Join(root, "elsewhere"), filepath.Join(wd, "link")); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(root, "elsewhere"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Resolve(p)
		if err != nil {
			if !strings.Contains(err.Error(), "not a folder") && !strings.Contains(err.Error(), "symlinks") {
				t.Fatalf("Resolve(%q): %v", p, err)
			}
			return
		}
		if !filepath.IsAbs(got) || filepath.Clean(got) != got {
			t.Fatalf("Resolve(%q) = %q: not absolute and clean", p, got)
		}
		if !through {
			if want := filepath.Join(wd, p); got != want {
				t.Fatalf("Resolve(%q) = %q, want %q", p, got, want)
			}
			return
		}
		if real, err := filepath.EvalSymlinks(got); err == nil && real != got {
			t.Fatalf("Resolve(%q) = %q, which still holds a link (%q)", p, got, real)
		}
	})
}
