package bounded

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meta.json")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 1025)), 0o600); err != nil {
		t.Fatal(err)
	}
	if dt, err := ReadFile(p, 1025); err != nil || len(dt) != 1025 {
		t.Errorf("at the limit: %d, %v", len(dt), err)
	}
	_, err := ReadFile(p, 1024)
	var tl *TooLargeError
	if !errors.As(err, &tl) || err.Error() != p+" is larger than 1 KiB, more than docker multiarch reads" {
		t.Errorf("past the limit: %v", err)
	}
}

// A subprocess that writes without end is stopped by the buffer, not by the machine's memory.
func TestBufferStopsAnEndlessSubprocess(t *testing.T) {
	b := &Buffer{Limit: 1 << 20, What: "yes's output"}
	cmd := exec.Command("yes")
	cmd.Stdout = b
	err := cmd.Run()
	if err == nil || b.Err() == nil || b.Len() != 1<<20 || !strings.Contains(b.Err().Error(), "yes's output is larger than 1 MiB") {
		t.Errorf("run: %v, buffer %d bytes, %v", err, b.Len(), b.Err())
	}
}

func TestCut(t *testing.T) {
	if got := Cut("abcdef", 3); got != "abc..." {
		t.Errorf("Cut = %q", got)
	}
	if got := Cut("abc", 3); got != "abc" {
		t.Errorf("Cut of a short text = %q", got)
	}
}
