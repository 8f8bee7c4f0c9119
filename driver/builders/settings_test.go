//go:build unix

package builders

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A builder's settings are read and written in their place only: a FIFO in place of the file is
// refused at once (it used to block the build), and a settings folder that is a symlink is
// neither read through nor written through.
func TestBuilderSettingsInTheirPlaceOnly(t *testing.T) {
	m, _ := testCLI(t, nil)
	path := m.settingsPath("b")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := m.BuilderSettings("b"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "FIFO") {
			t.Fatalf("a FIFO as the settings: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO as the settings blocked")
	}
	if _, err := m.writeSettings("b", Settings{CacheRef: "r.example/c"}); err == nil {
		t.Error("settings written over a FIFO")
	}

	elsewhere := t.TempDir()
	if err := os.WriteFile(filepath.Join(elsewhere, "c.json"), []byte(`{"cacheRef":"evil.example/x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	builders := filepath.Dir(path)
	if err := os.RemoveAll(builders); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, builders); err != nil {
		t.Fatal(err)
	}
	if s, err := m.BuilderSettings("c"); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("settings read through a symlinked folder: %+v, %v", s, err)
	}
	if _, err := m.writeSettings("d", Settings{CacheRef: "r.example/c"}); err == nil {
		t.Error("settings written through a symlinked folder")
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "d.json")); !os.IsNotExist(err) {
		t.Errorf("a file was written through the symlink: %v", err)
	}
}
