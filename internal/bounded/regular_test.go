//go:build unix

package bounded

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO is refused at once (a read would wait for a writer forever), a symlink is not followed
// even to a regular file, a folder is refused; a regular file is read within its limit.
func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(regular, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	if dt, err := ReadRegular(regular, 64); err != nil || string(dt) != `{"a":1}` {
		t.Fatalf("a regular file: %q, %v", dt, err)
	}
	if _, err := ReadRegular(regular, 3); err == nil {
		t.Error("a file over the limit was read")
	}
	for path, want := range map[string]string{fifo: "a FIFO", link: "a symlink", dir: "a folder"} {
		done := make(chan error, 1)
		go func() { _, err := ReadRegular(path, 64); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %v, want an error naming it %s", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the read blocked", path)
		}
	}
}
