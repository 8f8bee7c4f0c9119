package runner

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

func recordOf(platform string, req *registry.BuildRequest, created time.Time) registry.BuildRecord {
	return registry.BuildRecord{Platform: platform, Image: digest.Digest("sha256:" + strings.Repeat("a", 64)), Created: &created, Provenance: req}
}

func TestRebuildOptionsFromTheProvenance(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 5e8)
	minReq := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "Dockerfile", Locals: []string{"context", "dockerfile"}}
	maxReq := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "Dockerfile", Args: map[string]string{
		"build-arg:V": "1", "build-arg:SOURCE_DATE_EPOCH": "42", "label:team": "x", "target": "final", "platform": "linux/amd64"}}
	remote := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "docker/Dockerfile", ConfigURI: "https://example.com/o/r.git#main:sub",
		Commit: "0123456789abcdef0123456789abcdef01234567"}

	bo, res, err := rebuildOptions(RebuildOptions{Ref: "reg.example/app:1", ContextPath: dir}, "reg.example/app",
		[]registry.BuildRecord{recordOf("linux/amd64", minReq, created), recordOf("linux/arm64", minReq, created)})
	if err != nil {
		t.Fatal(err)
	}
	if !bo.PushByDigest || bo.Push || !bo.NoCache || bo.Provenance != "false" || bo.SourceDateEpoch != "1700000000" || len(bo.Tags) != 1 || bo.Tags[0] != "reg.example/app" {
		t.Fatalf("options %+v", bo)
	}
	if !slices.Equal(bo.Platforms, []string{"linux/amd64", "linux/arm64"}) || len(bo.FileFor) != 2 || !strings.HasSuffix(bo.FileFor[0], "="+filepath.Join(dir, "Dockerfile")) {
		t.Fatalf("platforms %v, files %v", bo.Platforms, bo.FileFor)
	}
	if len(res.Notes) != 2 || !strings.Contains(res.Notes[0], "creation time") || !strings.Contains(res.Notes[1], "mode=min") {
		t.Fatalf("notes %q: want the epoch's origin and mode=min said", res.Notes)
	}

	bo, _, err = rebuildOptions(RebuildOptions{Ref: "r/a:1", ContextPath: dir, BuildArgs: []string{"W=2"}}, "r/a", []registry.BuildRecord{recordOf("linux/amd64", maxReq, created)})
	if err != nil {
		t.Fatal(err)
	}
	if bo.SourceDateEpoch != "42" || !slices.Equal(bo.BuildArgs, []string{"V=1", "W=2"}) || !slices.Equal(bo.Labels, []string{"team=x"}) || bo.Target != "final" {
		t.Fatalf("mode=max: epoch %s args %v labels %v target %q", bo.SourceDateEpoch, bo.BuildArgs, bo.Labels, bo.Target)
	}

	bo, _, err = rebuildOptions(RebuildOptions{Ref: "r/a:1"}, "r/a", []registry.BuildRecord{recordOf("linux/amd64", remote, created)})
	if err != nil || bo.ContextPath != "https://example.com/o/r.git#0123456789abcdef0123456789abcdef01234567:sub" || bo.File != "docker/Dockerfile" {
		t.Fatalf("a git context: %q %q %v, want it pinned to the recorded commit", bo.ContextPath, bo.File, err)
	}

	for _, tc := range []struct {
		name string
		o    RebuildOptions
		recs []registry.BuildRecord
		want string
	}{
		{"no provenance", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", nil, created)}, "linux/amd64 (image sha256:aaaa"},
		{"another frontend", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", &registry.BuildRequest{Frontend: "gateway.v0"}, created)}, `frontend "gateway.v0"`},
		{"a local context not given", RebuildOptions{}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created)}, "--context DIR"},
		{"the Dockerfile is elsewhere", RebuildOptions{ContextPath: t.TempDir()}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created)}, "give it with --file"},
		{"platforms built differently", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created), recordOf("linux/arm64", maxReq, created)}, "rebuild each with --platform"},
	} {
		if _, _, err := rebuildOptions(tc.o, "r/a", tc.recs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSelectPlatformsNamesOneTheImageLacks(t *testing.T) {
	recs := []registry.BuildRecord{{Platform: "linux/amd64"}, {Platform: "linux/arm/v7"}}
	got, err := selectPlatforms(recs, []string{"linux/arm/v7"})
	if err != nil || len(got) != 1 || got[0].Platform != "linux/arm/v7" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := selectPlatforms(recs, []string{"linux/s390x"}); err == nil || !strings.Contains(err.Error(), "linux/s390x") {
		t.Fatalf("%v", err)
	}
}
