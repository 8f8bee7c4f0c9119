//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
)

// unameFor is what `uname -m` prints on each platform the farm serves.
var unameFor = map[string]string{
	"linux/amd64":  "x86_64",
	"linux/arm64":  "aarch64",
	"linux/arm/v7": "armv7l",
}

// The farm is what every later test builds on: two engines of different versions, a registry that
// holds a real multi-platform base image, and QEMU so arm containers run.
func TestFarmEnginesDiffer(t *testing.T) {
	c := newCLI(t)
	a := c.withHost(farm.EngineA).ok(30*time.Second, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
	b := c.withHost(farm.EngineB).ok(30*time.Second, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
	if !strings.HasPrefix(a.Stdout, "20.10.") {
		t.Errorf("engine A is %q, want Debian's 20.10", a.Stdout)
	}
	if strings.HasPrefix(b.Stdout, "20.10.") || a.Stdout == b.Stdout {
		t.Errorf("engine B (%q) must be a different, current engine than A (%q)", b.Stdout, a.Stdout)
	}
}

func TestFarmBaseImageIsMultiPlatform(t *testing.T) {
	reg := newRegistryClient(t)
	repo, tag := splitRef(t, farm.Busybox)
	idx := reg.index(repo, tag)
	seen := map[string]bool{}
	for _, d := range idx.Manifests {
		p := platforms.Format(platforms.Normalize(*d.Platform))
		m := reg.manifest(repo, d.Digest.String())
		cfg := reg.config(repo, m)
		if got := platforms.Format(platforms.Normalize(cfg.Platform)); got != p {
			t.Errorf("%s: index says %s, config says %s", d.Digest, p, got)
		}
		seen[p] = true
	}
	for p := range unameFor {
		if !seen[p] {
			t.Errorf("%s has no %s image (has %v)", farm.Busybox, p, seen)
		}
	}
}

func TestFarmRunsEveryArchitecture(t *testing.T) {
	c := newCLI(t)
	for name, engine := range map[string]string{"a": farm.EngineA, "b": farm.EngineB} {
		for p, want := range unameFor {
			t.Run(name+"/"+p, func(t *testing.T) {
				res := c.withHost(engine).ok(2*time.Minute, "run", "--rm", "--pull", "always", "--network", "none",
					"--platform", p, farm.Busybox, "uname", "-m")
				if got := strings.TrimSpace(res.Stdout); got != want {
					t.Errorf("uname -m on %s = %q, want %q", p, got, want)
				}
			})
		}
	}
}

// splitRef splits HOST/REPO:TAG into REPO and TAG.
func splitRef(t *testing.T, ref string) (string, string) {
	t.Helper()
	rest, ok := strings.CutPrefix(ref, farm.Registry+"/")
	if !ok {
		t.Fatalf("%s is not in the farm registry %s", ref, farm.Registry)
	}
	repo, tag, ok := strings.Cut(rest, ":")
	if !ok {
		t.Fatalf("%s has no tag", ref)
	}
	return repo, tag
}
