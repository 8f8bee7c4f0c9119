package bake

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/docker-multiarch/docker-multiarch/driver/runner"
)

// writeMetadata writes --metadata-file in buildx's bake shape, {"TARGET": {...}, ...}: each
// target's object is its build's metadata (what `build --metadata-file` writes), with the index
// the bake published. Written atomically (a temp file beside it, then a rename).
func writeMetadata(path string, jobs []*job) error {
	if path == "" {
		return nil
	}
	md := map[string]map[string]any{}
	for _, j := range jobs {
		m, err := targetMetadata(j)
		if err != nil {
			return fmt.Errorf("target %s: --metadata-file: %w", j.name, err)
		}
		md[j.name] = m
	}
	return runner.WriteMetadataFile(path, md)
}

// targetMetadata is the metadata the target's build wrote, and the index published to its tags
// under buildx's keys (the build itself left the publish to the bake).
func targetMetadata(j *job) (map[string]any, error) {
	m := map[string]any{}
	dt, err := os.ReadFile(j.metadata)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(dt, &m); err != nil {
		return nil, err
	}
	if r := j.res; r != nil && r.Index.Digest != "" {
		runner.SetIndexMetadata(m, r.Index, r.Tags)
	}
	return m, nil
}
