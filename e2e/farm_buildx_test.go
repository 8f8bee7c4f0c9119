//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
)

// Stock buildx, built from the pinned module, drives the farm's BuildKit image on each engine: a
// privileged docker-container node (the capability wrapper), RUN steps under QEMU, and a push to the
// registry over the host network. Everything the plugin's builds stand on.
func TestFarmBuildxBuildsEveryPlatform(t *testing.T) {
	for name, engine := range map[string]string{"a": farm.EngineA, "b": farm.EngineB} {
		t.Run(name, func(t *testing.T) { buildxSmoke(t, engine) })
	}
}

func buildxSmoke(t *testing.T, engine string) {
	c := newCLI(t).withBuildx().withHost(engine)
	builder := fmt.Sprintf("farm-smoke-%d", time.Now().UnixNano())
	c.ok(time.Minute, "buildx", "create", "--name", builder, "--driver", "docker-container",
		"--driver-opt", "image="+farm.BuildKitImage, "--driver-opt", "network=host", "--bootstrap")
	t.Cleanup(func() { c.run(time.Minute, "buildx", "rm", "--force", builder) })

	dir := t.TempDir()
	dockerfile := "FROM " + farm.Busybox + "\nRUN uname -m > /built-on\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, tag := "e2e/farm-smoke", fmt.Sprint(time.Now().UnixNano())
	ref := farm.Registry + "/" + repo + ":" + tag
	c.ok(10*time.Minute, "buildx", "build", "--builder", builder, "--progress", "plain", "--provenance", "false",
		"--platform", "linux/amd64,linux/arm64,linux/arm/v7", "-t", ref, "--push", dir)

	reg := newRegistryClient(t)
	idx := reg.index(repo, tag)
	if len(idx.Manifests) != len(unameFor) {
		t.Fatalf("%s has %d manifests, want %d", ref, len(idx.Manifests), len(unameFor))
	}
	for _, d := range idx.Manifests {
		p := platforms.Format(platforms.Normalize(*d.Platform))
		want, ok := unameFor[p]
		if !ok {
			t.Fatalf("%s holds unexpected platform %s", ref, p)
		}
		res := c.ok(2*time.Minute, "run", "--rm", "--pull", "always", "--network", "none", "--platform", p, ref, "cat", "/built-on")
		if got := strings.TrimSpace(res.Stdout); got != want {
			t.Errorf("%s built its RUN step on %q, want %q", p, got, want)
		}
	}
}
