package builders

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distribution/reference"

	"github.com/docker-multiarch/docker-multiarch/internal/atomicfile"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Settings are what a multiarch builder keeps beside buildx's store: options every build on it
// uses, in DOCKER_CONFIG/multiarch/builders/NAME.json.
type Settings struct {
	// CacheRef is the builder's registry cache (create --cache-ref): every build on it imports its
	// platform's cache from REF:cache-<os>-<arch>[-<variant>] and exports it after, so a build
	// moved to another node (failover, a new node, a CI runner) starts warm.
	CacheRef string `json:"cacheRef,omitempty"`
}

// maxSettings caps a settings file.
const maxSettings = 64 << 10

// CheckCacheRef checks create --cache-ref before anything is written.
func CheckCacheRef(ref string) error {
	if ref == "" {
		return nil
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("invalid --cache-ref %q: %w", ref, err)
	}
	return nil
}

func (m *Manager) settingsPath(name string) string {
	f := m.dockerCli.ConfigFile().Filename
	if f == "" || name == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(f), "multiarch", "builders", name+".json")
}

// BuilderSettings are a builder's settings (none: the zero value).
func (m *Manager) BuilderSettings(name string) (Settings, error) {
	var s Settings
	path := m.settingsPath(name)
	if path == "" {
		return s, nil
	}
	if err := checkFolders(path); err != nil {
		return s, fmt.Errorf("builder %q: its settings: %w", name, err)
	}
	data, err := bounded.ReadRegular(path, maxSettings)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("builder %q: its settings: %w", name, err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("builder %q: its settings %s: %w", name, path, err)
	}
	return s, CheckCacheRef(s.CacheRef)
}

// writeSettings stores a builder's settings (the zero value removes them) and returns how to put
// back what was there.
func (m *Manager) writeSettings(name string, s Settings) (undo func(), err error) {
	path := m.settingsPath(name)
	if path == "" {
		return func() {}, nil
	}
	if err := checkFolders(path); err != nil {
		return nil, fmt.Errorf("builder %q: its settings: %w", name, err)
	}
	before, readErr := bounded.ReadRegular(path, maxSettings)
	if readErr != nil && !errors.Is(readErr, os.ErrNotExist) {
		return nil, fmt.Errorf("builder %q: its settings: %w", name, readErr)
	}
	undo = func() {
		if readErr == nil {
			_ = atomicfile.WriteFile(path, before, 0o600)
		} else {
			_ = os.Remove(path)
		}
	}
	if s == (Settings{}) {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("builder %q: removing its settings: %w", name, err)
		}
		return undo, nil
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	folders := settingsFolders(path)
	if err := os.MkdirAll(filepath.Dir(folders[0]), 0o700); err != nil { // DOCKER_CONFIG itself, as the CLI makes it
		return nil, fmt.Errorf("builder %q: its settings: %w", name, err)
	}
	if err := atomicfile.MkdirNoFollow(folders...); err != nil {
		return nil, fmt.Errorf("builder %q: its settings: %w", name, err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("builder %q: its settings: %w", name, err)
	}
	return undo, nil
}

// settingsFolders are DOCKER_CONFIG/multiarch and its builders folder, of a settings path.
func settingsFolders(path string) []string {
	builders := filepath.Dir(path)
	return []string{filepath.Dir(builders), builders}
}

// checkFolders refuses settings folders that exist and are not folders (a symlink is not
// followed: the settings are read and written in their place only).
func checkFolders(path string) error {
	for _, d := range settingsFolders(path) {
		fi, err := os.Lstat(d)
		if err == nil && !fi.IsDir() {
			return fmt.Errorf("%s is not a folder (a symlink is not followed)", d)
		}
	}
	return nil
}
