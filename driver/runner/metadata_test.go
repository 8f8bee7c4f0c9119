package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

func TestWriteMetadata(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "md.json")
	if err := os.WriteFile(path, []byte("stale, and longer than what replaces it: ......................................................................................................................................................................................................................................................................................................................................................................................................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	idx := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("index"), Size: 512}
	res := &Result{Builder: "farm", Tags: []string{"reg.example/app:v1", "reg.example/app:latest"}, Index: idx, Steps: []StepResult{
		{Step: plan.Step{Platform: "linux/amd64", Node: "amd0", Dockerfile: "Dockerfile", Strategy: plan.StrategyBuildKit}, Digest: digest.FromString("a").String(), Duration: 1500 * time.Millisecond, Seconds: 1.5},
		{Step: plan.Step{Platform: "linux/arm/v7", Node: "amd0", Emulated: true, Strategy: plan.StrategyBuildKit}, Digest: digest.FromString("b").String(), Loaded: true},
	}}
	if err := writeMetadata(path, res); err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Digest    string             `json:"containerimage.digest"`
		Desc      ocispec.Descriptor `json:"containerimage.descriptor"`
		Name      string             `json:"image.name"`
		Builder   string             `json:"multiarch.builder"`
		Platforms []map[string]any   `json:"multiarch.platforms"`
	}
	if err := json.Unmarshal(dt, &md); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, dt)
	}
	if exptypes.ExporterImageDigestKey != "containerimage.digest" || exptypes.ExporterImageDescriptorKey != "containerimage.descriptor" {
		t.Fatal("BuildKit's metadata keys changed")
	}
	if md.Digest != idx.Digest.String() || md.Desc.Digest != idx.Digest || md.Desc.Size != 512 || md.Name != "reg.example/app:v1,reg.example/app:latest" || md.Builder != "farm" {
		t.Errorf("metadata %+v", md)
	}
	if len(md.Platforms) != 2 || md.Platforms[0]["platform"] != "linux/amd64" || md.Platforms[0]["durationSeconds"] != 1.5 ||
		md.Platforms[1]["emulated"] != true || md.Platforms[1]["loaded"] != true || md.Platforms[0]["digest"] != digest.FromString("a").String() {
		t.Errorf("platforms %v", md.Platforms)
	}
	if _, ok := md.Platforms[0]["Duration"]; ok {
		t.Error("the raw duration is written")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left beside it: %v", entries)
	}

	// Without a push: no index keys.
	if err := writeMetadata(path, &Result{Builder: "farm", Steps: res.Steps}); err != nil {
		t.Fatal(err)
	}
	dt, _ = os.ReadFile(path)
	var noPush map[string]any
	if err := json.Unmarshal(dt, &noPush); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"containerimage.digest", "containerimage.descriptor", "image.name"} {
		if _, ok := noPush[k]; ok {
			t.Errorf("%s written without a push", k)
		}
	}
	if err := writeMetadata("", res); err != nil {
		t.Errorf("no --metadata-file: %v", err)
	}
}

func TestWriteMetadataFailsNamingTheFileAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "md.json")
	if err := os.Mkdir(target, 0o755); err != nil { // a directory where the file goes: the rename fails
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeMetadata(target, &Result{Builder: "b"})
	if err == nil || !strings.Contains(err.Error(), target) {
		t.Fatalf("err %v, want the file named", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a temp file was left: %v", entries)
	}
	if err := writeMetadata(filepath.Join(dir, "missing", "md.json"), &Result{}); err == nil || !strings.Contains(err.Error(), "--metadata-file") {
		t.Errorf("a missing directory: %v", err)
	}
}

func TestRemoveStaleMetadata(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "md.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RemoveStaleMetadata(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the stale file is still there: %v", err)
	}
	if err := RemoveStaleMetadata(path); err != nil {
		t.Errorf("a missing file: %v", err)
	}
	if err := RemoveStaleMetadata(""); err != nil {
		t.Errorf("no --metadata-file: %v", err)
	}
	// Something that cannot be removed is reported with its name.
	full := filepath.Join(dir, "full")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	if err := RemoveStaleMetadata(full); err == nil || !strings.Contains(err.Error(), full) {
		t.Errorf("a non-empty directory: %v", err)
	}
}
