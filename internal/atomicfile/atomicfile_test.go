package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "meta.json")
	if err := os.WriteFile(p, []byte("old contents that are longer"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "new" {
		t.Fatalf("read %q, %v; want %q", got, err, "new")
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d files in %s, want only meta.json", len(entries), dir)
	}
}

func TestWriteFileFailureLeavesTheOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "missing-dir", "meta.json")
	err := WriteFile(p, []byte("x"), 0o644)
	if err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
	if want := p; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	// A target that is a directory: the rename fails, the temp file must go.
	target := filepath.Join(dir, "adir")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("x"), 0o644); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d entries in %s, want only adir", len(entries), dir)
	}
}

// A folder on the way that is a symlink is refused and nothing is made through it.
func TestMkdirNoFollow(t *testing.T) {
	base, elsewhere := t.TempDir(), t.TempDir()
	if err := MkdirNoFollow(filepath.Join(base, "a"), filepath.Join(base, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(base, "a", "b")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the folders were not made: %v", err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(base, "l")); err != nil {
		t.Fatal(err)
	}
	err := MkdirNoFollow(filepath.Join(base, "l"), filepath.Join(base, "l", "b"))
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("through a symlink: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("%d entries made through the symlink", len(entries))
	}
}
