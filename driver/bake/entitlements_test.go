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

func TestOCILayoutPath(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/layout":                    "/srv/layout",
		"/srv/layout:v1":                 "/srv/layout",
		"/srv/layout@sha256:abc":         "/srv/layout",
		"./lay:out/dir:tag@sha256:abc":   "./lay:out/dir",
		"relative/layout:tag@sha256:abc": "relative/layout",
	} {
		if got := ociLayoutPath(in); got != want {
			t.Errorf("ociLayoutPath(%q) = %q, want %q", in, got, want)
		}
	}
}
