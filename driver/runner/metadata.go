package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/internal/atomicfile"
	"github.com/docker/buildx/util/confutil"
	"github.com/moby/buildkit/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
)

// writeMetadata writes a build's --metadata-file (see WriteMetadataFile).
func writeMetadata(path string, res *Result) error {
	if path == "" {
		return nil
	}
	md := map[string]any{"multiarch.platforms": res.Steps, "multiarch.builder": res.Builder}
	buildxKeys(md, res)
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
		SetIndexMetadata(md, res.Index, res.Tags)
	}
	return WriteMetadataFile(path, md)
}

// SetIndexMetadata sets buildx's keys of an index published to tags.
func SetIndexMetadata(md map[string]any, index ocispec.Descriptor, tags []string) {
	md[exptypes.ExporterImageDigestKey] = index.Digest.String()
	md[exptypes.ExporterImageDescriptorKey] = index
	md["image.name"] = strings.Join(tags, ",")
}

// WriteMetadataFile writes md as --metadata-file: indented JSON, written atomically (a temp file
// beside it, then a rename), so a reader never sees half a file.
func WriteMetadataFile(path string, md any) error {
	dt, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, dt, 0o644); err != nil {
		return fmt.Errorf("--metadata-file: %w", err)
	}
	return nil
}

// RemoveStaleMetadata removes the metadata of an earlier build (or bake) before this one starts,
// so that one that fails does not leave another's results behind for CI to read.
func RemoveStaleMetadata(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--metadata-file %s: %w", path, err)
	}
	return nil
}

// ImageID is what --iidfile and -q give: the published index, else the one result pushed by
// digest, else the image of a one-platform build.
func (res *Result) ImageID() string {
	switch {
	case res.Index.Digest != "":
		return res.Index.Digest.String()
	case len(res.Pushed) == 1:
		return res.Pushed[0].Digest
	case len(res.Steps) == 1:
		return res.Steps[0].Digest
	}
	return ""
}

// writeIIDFile writes --iidfile (atomically, as the metadata file).
func writeIIDFile(path string, res *Result) error {
	if path == "" {
		return nil
	}
	id := res.ImageID()
	if id == "" {
		return fmt.Errorf("--iidfile %s: the build made no single image to name (push it, or build one platform)", path)
	}
	if err := atomicfile.WriteFile(path, []byte(id), 0o644); err != nil {
		return fmt.Errorf("--iidfile: %w", err)
	}
	return nil
}

// buildxKeys are buildx's own metadata keys: the build's reference (the first platform's; every
// platform's is in multiarch.platforms), the provenance BuildKit recorded (one key for a
// one-platform build, one per platform otherwise, as buildx) and, with BUILDX_METADATA_WARNINGS,
// the warnings BuildKit sent.
func buildxKeys(md map[string]any, res *Result) {
	var warnings []*client.VertexWarning
	for _, s := range res.Steps {
		if s.Ref != "" && md["buildx.build.ref"] == nil {
			md["buildx.build.ref"] = s.Ref
		}
		if s.provenance != nil {
			key := "buildx.build.provenance"
			if len(res.Steps) > 1 {
				key += "/" + s.Platform
			}
			md[key] = s.provenance
		}
		warnings = append(warnings, s.warnings...)
	}
	if len(warnings) > 0 && confutil.MetadataWarningsEnabled() {
		md["buildx.build.warnings"] = warnings
	}
}
