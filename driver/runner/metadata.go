package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
)

// writeMetadata writes --metadata-file atomically (a temp file beside it, then a rename), so a
// reader never sees half a file.
func writeMetadata(path string, res *Result) error {
	if path == "" {
		return nil
	}
	md := map[string]any{"multiarch.platforms": res.Steps, "multiarch.builder": res.Builder}
	if len(res.Pushed) > 0 {
		var plats []string
		for _, s := range res.Steps {
			plats = append(plats, s.Platform)
		}
		md[pushedKey] = pushedRecord{Version: 1, Platforms: plats, Images: res.Pushed}
		if len(res.Pushed) == 1 && res.Index.Digest == "" { // buildx's keys for a push by digest
			md[exptypes.ExporterImageDigestKey] = res.Pushed[0].Digest
			md["image.name"] = strings.Join(res.Pushed[0].Repositories, ",")
		}
	}
	if res.Index.Digest != "" {
		md[exptypes.ExporterImageDigestKey] = res.Index.Digest.String()
		md[exptypes.ExporterImageDescriptorKey] = res.Index
		md["image.name"] = strings.Join(res.Tags, ",")
	}
	dt, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	_, err = f.Write(dt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("writing --metadata-file %s: %w", path, err)
	}
	return nil
}

// removeStaleMetadata removes the metadata of an earlier build before this one starts, so a build
// that fails does not leave another build's results behind for CI to read.
func removeStaleMetadata(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--metadata-file %s: %w", path, err)
	}
	return nil
}
