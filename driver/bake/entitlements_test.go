package bake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func needsOf(t *testing.T, targets ...string) *fsNeeds {
	t.Helper()
	n := &fsNeeds{read: map[string]bool{}, write: map[string]bool{}}
	for _, js := range targets {
		var tg Target
		if err := json.Unmarshal([]byte(js), &tg); err != nil {
			t.Fatal(err)
		}
		n.add(&tg)
	}
	return n
}

// buildx bake's filesystem entitlements: reads and writes outside the working directory, and the
// default SSH agent, need --allow; inside it nothing does; a symlink out of it counts as outside.
func TestCheckFS(t *testing.T) {
	root := t.TempDir()
	wd, outside := filepath.Join(root, "work"), filepath.Join(root, "secrets")
	for _, d := range []string{wd, outside, filepath.Join(wd, "app")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(wd, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	t.Setenv("BUILDX_BAKE_ENTITLEMENTS_FS", "")
	os.Unsetenv("BUILDX_BAKE_ENTITLEMENTS_FS")

	inside := needsOf(t, `{"context": "app", "dockerfile": "Dockerfile", "secret": [{"id": "a", "src": "app/token"}], "output": [{"type": "local", "dest": "out"}], "ssh": [{"id": "git", "paths": ["app/key"]}]}`)
	if err := checkFS(inside, nil); err != nil {
		t.Errorf("inside the working directory: %v", err)
	}

	out := needsOf(t, `{"context": "app", "secret": [{"id": "aws", "src": "`+filepath.Join(outside, "aws")+`"}], "output": [{"type": "tar", "dest": "../image.tar"}], "ssh": [{"id": "default"}]}`,
		`{"context": "app", "contexts": {"conf": "link/conf"}, "cache-from": [{"type": "local", "src": "/var/cache/x"}]}`)
	err := checkFS(out, nil)
	for _, want := range []string{"--allow=fs.read=../secrets", "--allow=fs.write=../image.tar", "--allow=ssh", "--allow=fs.read=/var/cache/x", "additional privileges requested"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("outside: %v, want %s", err, want)
		}
	}
	if err := checkFS(out, []string{"fs.read=" + outside, "fs.read=/var/cache", "fs.write=..", "ssh"}); err != nil {
		t.Errorf("granted: %v", err)
	}
	if err := checkFS(out, []string{"fs=*", "ssh"}); err != nil {
		t.Errorf("fs=*: %v", err)
	}
	t.Setenv("BUILDX_BAKE_ENTITLEMENTS_FS", "0")
	if err := checkFS(out, nil); err != nil {
		t.Errorf("BUILDX_BAKE_ENTITLEMENTS_FS=0: %v", err)
	}
	t.Setenv("BUILDX_BAKE_ENTITLEMENTS_FS", "maybe")
	if err := checkFS(inside, nil); err == nil || !strings.Contains(err.Error(), `"maybe"`) {
		t.Errorf("a bad BUILDX_BAKE_ENTITLEMENTS_FS: %v", err)
	}
}

// The check reads every value as the build will (runner.ContextPath, buildx's ResolveSource):
// an OCI layout by buildx's parser (the last "@" before a digest, the last ":" before a tag), a
// "docker-image:" name without "//" as the local folder it is, and a secret with only an id as
// the file of that name (unless a variable of that name is set). Found by review (issue 19).
func TestCheckFSReadsValuesAsTheBuildDoes(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wd, outside := filepath.Join(root, "work"), filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(wd, "x"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(wd, "docker-image:x")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(wd)
	os.Unsetenv("BUILDX_BAKE_ENTITLEMENTS_FS")
	t.Setenv("SET_SECRET", "value")
	for name, target := range map[string]string{
		"oci-layout through @ and ..":   `{"contexts": {"base": "oci-layout://x@/../../outside/layout"}}`,
		"oci-layout with a tag":         `{"contexts": {"base": "oci-layout://../outside/layout:v1"}}`,
		"docker-image: without //":      `{"contexts": {"base": "docker-image:x"}}`,
		"a secret's id as its file":     `{"secret": [{"id": "` + filepath.Join(outside, "token") + `"}]}`,
		"a secret's relative id":        `{"secret": [{"id": "../outside/token"}]}`,
		"a per-platform Dockerfile out": `{"context": "x", "platforms": ["linux/arm64"]}`,
	} {
		if name == "a per-platform Dockerfile out" {
			if err := os.Symlink(filepath.Join(outside, "Dockerfile"), filepath.Join(wd, "x", "Dockerfile.linux-arm64")); err != nil {
				t.Fatal(err)
			}
		}
		if err := checkFS(needsOf(t, target), nil); err == nil || !strings.Contains(err.Error(), "--allow=fs.read=") {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, target := range map[string]string{
		"oci-layout inside":        `{"contexts": {"base": "oci-layout://x:v1@sha256:` + strings.Repeat("a", 64) + `"}}`,
		"docker-image://":          `{"contexts": {"base": "docker-image://alpine"}}`,
		"a secret from a variable": `{"secret": [{"id": "SET_SECRET"}]}`,
		"a secret's env":           `{"secret": [{"id": "s", "env": "HOME"}]}`,
		"another target":           `{"contexts": {"base": "target:base"}}`,
		"a git context":            `{"contexts": {"src": "https://github.com/docker/buildx.git"}}`,
	} {
		if err := checkFS(needsOf(t, target), nil); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
