//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 25: push access is proved before the first solve. A build with a 20 s step to a registry
// that would refuse the push fails within seconds, naming the registry, what failed and the fix,
// and no node starts a solve; the same build to a registry that takes it pushes one verified tag.
func TestPushAccessProvedBeforeAnySolve(t *testing.T) {
	c, builder := buildFarm(t)
	slow := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nARG N\nRUN echo $N && sleep 20\n"})
	build := func(ref string, n int) (result, time.Duration) {
		start := time.Now()
		r := c.run(3*time.Minute, "multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "--push",
			"--progress", "plain", "--timeout", "10s", "--build-arg", "N="+strings.Repeat("x", n), "-t", ref, slow)
		return r, time.Since(start)
	}
	denied := newFaultProxy(t, "http://"+farm.Registry)
	denied.fail("POST", "/blobs/uploads/", 403, "DENIED", "requested access to the resource is denied")
	for i, tc := range []struct {
		name, ref string
		want      []string
	}{
		{"closed port", "127.0.0.1:5999/app:1", []string{"127.0.0.1:5999/app: unreachable", "check that the registry runs at 127.0.0.1:5999"}},
		{"pull only", denied.addr() + "/" + uniqueRepo("pullonly") + ":1", []string{"no push permission", "ask for push access"}},
		{"no login", farm.AuthRegistry + "/" + uniqueRepo("login") + ":1", []string{"no credentials", "docker login " + farm.AuthRegistry}},
	} {
		r, took := build(tc.ref, i+1)
		out := r.Combined()
		if r.ExitCode == 0 {
			t.Fatalf("%s: the build succeeded:\n%s", tc.name, out)
		}
		for _, w := range append(tc.want, "nothing built: the registry would refuse the push") {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
		// No solve started: no step ran (the 20 s one would hold the build past this), and
		// BuildKit's progress never began.
		if took > 10*time.Second || strings.Contains(out, "load build definition") {
			t.Errorf("%s: failed after %s, having started a solve:\n%s", tc.name, took, out)
		}
	}
	// After `docker login`, the same build to the registry that wanted one: one verified tag,
	// and the password never printed.
	pw, err := os.ReadFile(farm.AuthPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(pw))
	c.ok(time.Minute, "login", farm.AuthRegistry, "-u", farm.AuthUser, "-p", password)
	repo := uniqueRepo("pushok")
	r, _ := build(farm.AuthRegistry+"/"+repo+":1", 9)
	if r.ExitCode != 0 || !strings.Contains(r.Combined(), "verified") || strings.Contains(r.Combined(), password) {
		t.Fatalf("a push after docker login: exit %d:\n%s", r.ExitCode, r.Combined())
	}
	if tags := newAuthRegistryClient(t, farm.AuthUser, password).tags(repo); !slices.Equal(tags, []string{"1"}) {
		t.Errorf("tags after the push: %v", tags)
	}
	// --dry-run shows the check per repository.
	dry := c.run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "--push", "--dry-run",
		"-t", farm.AuthRegistry+"/"+repo+":2", "-t", denied.addr()+"/"+repo+":2", slow)
	if out := dry.Combined(); !strings.Contains(out, "push access: "+farm.AuthRegistry+"/"+repo+": push allowed") ||
		!strings.Contains(out, "push access: "+denied.addr()+"/"+repo+": no push permission") {
		t.Errorf("--dry-run does not show each repository's check:\n%s", out)
	}
}

// Issue 25, bake: one target's repository refuses the push: no target is built (none starts a
// solve), and the refusal is named.
func TestBakePushAccessRefusedBuildsNothing(t *testing.T) {
	c, builder := buildFarm(t)
	denied := newFaultProxy(t, "http://"+farm.Registry)
	denied.fail("POST", "/blobs/uploads/", 403, "DENIED", "requested access to the resource is denied")
	ok, refused := uniqueRepo("bake-ok"), uniqueRepo("bake-refused")
	from := "FROM " + farm.Busybox + "\n"
	dir := bakeContexts(t, map[string]string{
		"a/Dockerfile": from + "RUN sleep 20\n",
		"b/Dockerfile": from + "RUN sleep 21\n",
		"docker-bake.hcl": fmt.Sprintf(`group "default" { targets = ["a", "b"] }
target "a" {
  context = "a"
  platforms = ["linux/amd64"]
  tags = ["%s/%s:1"]
}
target "b" {
  context = "b"
  platforms = ["linux/amd64"]
  tags = ["%s/%s:1"]
}
`, farm.Registry, ok, denied.addr(), refused),
	})
	start := time.Now()
	r := c.inDir(dir).run(3*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--progress", "plain", "--timeout", "10s")
	out := r.Combined()
	if r.ExitCode == 0 || !strings.Contains(out, denied.addr()+"/"+refused+": no push permission") {
		t.Fatalf("exit %d:\n%s", r.ExitCode, out)
	}
	if took := time.Since(start); took > 15*time.Second || strings.Contains(out, "load build definition") {
		t.Errorf("failed after %s, having started a solve:\n%s", took, out)
	}
	if d := tagDigest(t, ok, "1"); d != "" {
		t.Errorf("target a was published (%s) though b's repository refuses the push", d)
	}
}
