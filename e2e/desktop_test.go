//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// --load of every platform into an engine with the containerd image store (engine B): one image
// with the three variants, each of which runs; on the classic store (engine A) the native one, said.
func TestBuildLoadEveryPlatform(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	tag := fmt.Sprintf("e2e-loadall/app:%d", time.Now().UnixNano())
	b := c.withHost(farm.EngineB)
	b.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-t", tag, "--load", "--progress", "quiet", dir)
	t.Cleanup(func() { b.run(time.Minute, "rmi", tag) })
	// docker image inspect sees each variant of the one image.
	for p := range unameFor {
		got := strings.TrimSpace(b.ok(time.Minute, "image", "inspect", "--platform", p, "--format", "{{.Os}}/{{.Architecture}}/{{.Variant}}", tag).Stdout)
		if strings.TrimSuffix(got, "/") != p {
			t.Errorf("image inspect --platform %s: %q", p, got)
		}
	}
	for p, want := range unameFor {
		if out := strings.TrimSpace(b.ok(time.Minute, "run", "--rm", "--network", "none", "--platform", p, tag, "cat", "/arch").Stdout); out != want {
			t.Errorf("%s variant of the loaded image: %q, want %q", p, out, want)
		}
	}

	a := c.withHost(farm.EngineA)
	res := a.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-t", tag, "--load", "--progress", "quiet", dir)
	t.Cleanup(func() { a.run(time.Minute, "rmi", tag) })
	if !strings.Contains(res.Stderr, "classic image store") || !strings.Contains(res.Stderr, "loading linux/amd64 only") {
		t.Errorf("the classic store's load does not say it loads the native variant only: %q", res.Stderr)
	}
	if out := strings.TrimSpace(a.ok(time.Minute, "run", "--rm", "--network", "none", tag, "cat", "/arch").Stdout); out != "x86_64" {
		t.Errorf("engine A loaded %q", out)
	}
}

// No multiarch builder, the current context an engine with the classic store (engine A): a
// multi-platform push goes through a docker-container builder made once on the context, reused.
func TestBuildWithoutBuilderOnAClassicStore(t *testing.T) {
	c := newCLI(t).withBuildx().withHost(farm.EngineA)
	t.Cleanup(func() { c.run(2*time.Minute, "buildx", "rm", "multiarch-default") })
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	plan := c.ok(time.Minute, "multiarch", "build", "--dry-run", dir)
	if !strings.Contains(plan.Stderr, "no --platform and no multiarch builder: building linux/amd64, the current engine's own platform") {
		t.Errorf("the plan does not say which platforms and why: %q", plan.Stderr)
	}
	repo := uniqueRepo("classic")
	for i, want := range []string{"(created;", "(reusing;"} {
		ref := fmt.Sprintf("%s/%s:v%d", farm.Registry, repo, i)
		res := c.ok(10*time.Minute, "multiarch", "build", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", "--progress", "quiet", dir)
		if !strings.Contains(res.Stderr, "classic store") || !strings.Contains(res.Stderr, want) {
			t.Errorf("run %d: stderr %q, want a one-line notice with %s", i, res.Stderr, want)
		}
		if got := imagePlatforms(c.reg().index(repo, fmt.Sprintf("v%d", i))); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("run %d: the tag holds %v", i, got)
		}
	}
	if got := c.runVariant(farm.Registry+"/"+repo+":v1", "linux/arm64", "cat", "/arch"); got != "aarch64" {
		t.Errorf("arm64 variant: %q", got)
	}
	if ls := c.ok(time.Minute, "buildx", "ls").Stdout; strings.Count(ls, "multiarch-default ") != 1 {
		t.Errorf("buildx ls does not show the one builder made on the context:\n%s", ls)
	}
}

// create without --use leaves plain docker build's builder alone, and says so.
func TestCreateWithoutUseSaysSo(t *testing.T) {
	c := newCLI(t).withBuildx()
	c.farmNodes()
	name := fmt.Sprintf("nouse%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(name)
	res := c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", name}, farmDriverOpts())...)
	if !strings.Contains(res.Stderr, "plain `docker build` keeps its own builder") {
		t.Errorf("create without --use: %q", res.Stderr)
	}
	if b := c.builders()[name]; b.Current {
		t.Error("create without --use made the builder current")
	}
}
