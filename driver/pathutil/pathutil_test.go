package pathutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree is a working directory and a home beside it, as the hostile bake of issue 19 had them:
// work/evil -> home/buildx, so "evil/../config.json" is home/config.json to the OS.
func tree(t *testing.T) (root, wd string) {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wd = filepath.Join(root, "work")
	for _, d := range []string{"work/app", "home/buildx"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{"home/config.json": "{}", "work/app/file": "x"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"work/evil":   filepath.Join(root, "home", "buildx"), // absolute, out of the working directory
		"work/rel":    "../home/buildx",                      // relative, out
		"work/inside": "app",                                 // relative, in
		"work/loop":   "loop",
		"work/chain":  "evil/..", // a link whose target climbs through another link
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(wd)
	return root, wd
}

func TestResolveFollowsLinksBeforeDotDot(t *testing.T) {
	root, wd := tree(t)
	home := filepath.Join(root, "home")
	for in, want := range map[string]string{
		"app/file":                            filepath.Join(wd, "app", "file"),
		"evil/../config.json":                 filepath.Join(home, "config.json"), // not wd/config.json
		"rel/../config.json":                  filepath.Join(home, "config.json"),
		"evil/../../work/app":                 filepath.Join(wd, "app"),
		"chain/config.json":                   filepath.Join(home, "config.json"),
		"inside/../app/file":                  filepath.Join(wd, "app", "file"),
		"./app//file":                         filepath.Join(wd, "app", "file"),
		"new/../../x":                         filepath.Join(root, "x"), // MkdirAll would make new, then write ../x
		"app/new/deeper":                      filepath.Join(wd, "app", "new", "deeper"),
		wd + "/evil/../x":                     filepath.Join(home, "x"), // absolute, unclean
		"/proc/self/cwd/evil/../config.json":  filepath.Join(home, "config.json"),
		"~/config.json":                       filepath.Join(wd, "~", "config.json"), // no shell: ~ is a name
		filepath.Join(root, "home", "buildx"): filepath.Join(home, "buildx"),
	} {
		got, err := Resolve(in)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"loop/x":         "symlinks",
		"app/file/x":     "not a folder",
		"app/file/../.x": "not a folder", // the OS refuses file/.., it does not clean it away
	} {
		if got, err := Resolve(in); err == nil || !strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), in) {
			t.Errorf("Resolve(%q) = %q, %v; want an error naming it and %q", in, got, err, why)
		}
	}
}

func TestOutside(t *testing.T) {
	root, wd := tree(t)
	got, err := Outside([]string{"app", "evil/../config.json", "rel/../config.json", "new/../../x", "inside/file"}, []string{wd})
	want := []string{filepath.Join(root, "home", "config.json"), filepath.Join(root, "x")}
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Outside = %q, %v; want %q", got, err, want)
	}
	if got, err := Outside([]string{"evil/../config.json"}, []string{wd, "evil/.."}); err != nil || len(got) != 0 {
		t.Errorf("granted through the same link: %q, %v", got, err)
	}
	if got, err := Outside([]string{"/etc/passwd"}, []string{"*"}); err != nil || got != nil {
		t.Errorf("*: %q, %v", got, err)
	}
	if _, err := Outside([]string{"loop/x"}, []string{wd}); err == nil {
		t.Error("a path that cannot be resolved is not allowed")
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		p, root string
		want    bool
	}{
		{"/a/b", "/a", true}, {"/a", "/a", true}, {"/ab", "/a", false}, {"/", "/a", false},
		{"/a/..b", "/a", true}, {"/a/../c", "/a", false}, {"/x", "/", true},
	} {
		if got := Within(filepath.Clean(tc.p), tc.root); got != tc.want {
			t.Errorf("Within(%s, %s) = %v", tc.p, tc.root, got)
		}
	}
}
