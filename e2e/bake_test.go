//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// bakeRepos are the repositories of one bake test: first (per-platform Dockerfiles), second (an
// args matrix over a and b: one repository, a tag per value), third (first as its context "base").
type bakeRepos struct{ first, second, third string }

func newBakeRepos() bakeRepos {
	return bakeRepos{uniqueRepo("bake-first"), uniqueRepo("bake-second"), uniqueRepo("bake-third")}
}

func (r bakeRepos) ref(repo, tag string) string { return farm.Registry + "/" + repo + ":" + tag }

// bakeContexts writes the three targets' contexts: first/ has a Dockerfile per platform, second/
// one Dockerfile with ARG V, third/ builds FROM base (the named context).
func bakeContexts(t *testing.T, files map[string]string) string {
	t.Helper()
	from := "FROM " + farm.Busybox + "\n"
	all := map[string]string{
		"first/Dockerfile.linux-amd64": from + "RUN echo first-amd64 > /which\n",
		"first/Dockerfile.linux-arm64": from + "RUN echo first-arm64 > /which\n",
		"second/Dockerfile":            from + "ARG V\nRUN echo \"second-$V $(uname -m)\" > /which\n",
		"third/Dockerfile":             "FROM base\nRUN echo third >> /which\n",
	}
	for k, v := range files {
		all[k] = v
	}
	dir := t.TempDir()
	for name, data := range all {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func bakeHCL(r bakeRepos) string {
	return fmt.Sprintf(`variable "REGISTRY" { default = %q }
group "pair" { targets = ["first", "second"] }
target "first" {
  context   = "first"
  platforms = ["linux/amd64", "linux/arm64"]
  tags      = ["${REGISTRY}/%s:v1"]
}
target "second" {
  name      = "second-${v}"
  matrix    = { v = ["a", "b"] }
  context   = "second"
  args      = { V = v }
  platforms = ["linux/amd64", "linux/arm/v7"]
  tags      = ["${REGISTRY}/%s:${v}"]
}
target "third" {
  context   = "third"
  contexts  = { base = "target:first" }
  platforms = ["linux/amd64", "linux/arm64"]
  tags      = ["${REGISTRY}/%s:v1"]
}
`, farm.Registry, r.first, r.second, r.third)
}

func bakeCompose(r bakeRepos) string {
	return fmt.Sprintf(`services:
  first:
    image: %[1]s/%[2]s:v1
    build:
      context: first
      platforms: ["linux/amd64", "linux/arm64"]
  second-a:
    image: %[1]s/%[3]s:a
    build:
      context: second
      args: { V: a }
      platforms: ["linux/amd64", "linux/arm/v7"]
  second-b:
    image: %[1]s/%[3]s:b
    build:
      context: second
      args: { V: b }
      platforms: ["linux/amd64", "linux/arm/v7"]
  third:
    image: %[1]s/%[4]s:v1
    build:
      context: third
      additional_contexts:
        base: service:first
      platforms: ["linux/amd64", "linux/arm64"]
`, farm.Registry, r.first, r.second, r.third)
}

// checkBaked reads the registry back: each repository holds exactly its tags, each an index of
// exactly its platforms, and every variant runs and prints what its Dockerfile made.
func checkBaked(t *testing.T, c *cli, r bakeRepos, out string) {
	t.Helper()
	reg := c.reg()
	want := []struct {
		repo string
		tags []string
		runs map[string]string // platform -> /which
	}{
		{r.first, []string{"v1"}, map[string]string{"linux/amd64": "first-amd64", "linux/arm64": "first-arm64"}},
		{r.second, []string{"a", "b"}, map[string]string{"linux/amd64": "second-%s x86_64", "linux/arm/v7": "second-%s armv7l"}},
		{r.third, []string{"v1"}, map[string]string{"linux/amd64": "first-amd64\nthird", "linux/arm64": "first-arm64\nthird"}},
	}
	for _, w := range want {
		tags := slices.DeleteFunc(reg.tags(w.repo), isSignatureTag) // cosign's layout, when signed
		slices.Sort(tags)
		if !slices.Equal(tags, w.tags) {
			t.Errorf("%s has tags %v, want %v", w.repo, tags, w.tags)
		}
		for _, tag := range w.tags {
			idx := reg.index(w.repo, tag)
			if got := imagePlatforms(idx); !samePlatformSet(got, slices.Collect(mapKeys(w.runs))) {
				t.Errorf("%s:%s holds %v, want %v", w.repo, tag, got, slices.Collect(mapKeys(w.runs)))
			}
			if !strings.Contains(out, reg.digest(w.repo, tag)+" pushed to ") {
				t.Errorf("the summary does not show %s:%s's index %s pushed", w.repo, tag, reg.digest(w.repo, tag))
			}
			for p, which := range w.runs {
				if strings.Contains(which, "%s") {
					which = fmt.Sprintf(which, tag)
				}
				if got := c.runVariant(r.ref(w.repo, tag), p, "cat", "/which"); got != which {
					t.Errorf("%s:%s %s printed %q, want %q", w.repo, tag, p, got, which)
				}
			}
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestBakeFileBuildsEveryTarget(t *testing.T) {
	c, builder := buildFarm(t)
	r := newBakeRepos()
	dir := bakeContexts(t, map[string]string{"docker-bake.hcl": bakeHCL(r)})
	c = c.inDir(dir)

	// --print is buildx's own resolution, byte for byte.
	ours := c.ok(time.Minute, "multiarch", "bake", "--print", "pair", "third")
	theirs := c.ok(time.Minute, "buildx", "bake", "--print", "pair", "third")
	if ours.Stdout != theirs.Stdout || !strings.Contains(ours.Stdout, `"second-b"`) {
		t.Errorf("bake --print differs from docker buildx bake --print:\n%s\n---\n%s", ours.Stdout, theirs.Stdout)
	}

	plan := c.ok(2*time.Minute, "multiarch", "bake", "--builder", builder, "--dry-run", "pair", "third").Stdout
	for _, want := range [][]string{
		{"linux/amd64", "farm-a", "Dockerfile.linux-amd64", "native"}, {"linux/arm64", "farm-b", "Dockerfile.linux-arm64", "emulated"},
		{"linux/arm/v7", "farm-a", "second/Dockerfile", "emulated"}, {"linux/arm64", "farm-b", "third/Dockerfile", "emulated"},
	} {
		if !regexpLine(plan, want...) {
			t.Errorf("the plan lacks %v:\n%s", want, plan)
		}
	}
	for _, target := range []string{"first", "second-a", "second-b", "third"} {
		if !strings.Contains(plan, "target "+target+" ") {
			t.Errorf("the plan does not show target %s:\n%s", target, plan)
		}
	}
	if cat := c.reg().catalog(); slices.Contains(cat, r.first) || slices.Contains(cat, r.third) {
		t.Fatal("--dry-run pushed something")
	}

	md := filepath.Join(t.TempDir(), "metadata.json")
	key, pub := cosignKeyPair(t, cosignPassword) // issue 21: every target signed before any tag moves
	c.env = append(c.env, "COSIGN_PASSWORD="+cosignPassword)
	res := c.ok(20*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--metadata-file", md, "--sign-key", key, "pair", "third")
	checkBaked(t, c, r, res.Stdout)
	checkOneSessionPerFolder(t, c, builder, r.second)
	for _, ref := range []string{r.ref(r.first, "v1"), r.ref(r.second, "a"), r.ref(r.second, "b"), r.ref(r.third, "v1")} {
		c.ok(time.Minute, "multiarch", "verify", ref, "--key", pub, "--require", "provenance")
	}

	var meta map[string]struct {
		Digest    string                            `json:"containerimage.digest"`
		Name      string                            `json:"image.name"`
		Platforms []struct{ Platform, Node string } `json:"multiarch.platforms"`
	}
	readJSONFile(t, md, &meta)
	for target, ref := range map[string][2]string{"first": {r.first, "v1"}, "second-a": {r.second, "a"}, "second-b": {r.second, "b"}, "third": {r.third, "v1"}} {
		m, ok := meta[target]
		if !ok || m.Digest != c.reg().digest(ref[0], ref[1]) || m.Name != r.ref(ref[0], ref[1]) || len(m.Platforms) != 2 {
			t.Errorf("metadata of %s: %+v (present %v)", target, m, ok)
		}
	}
}

// checkOneSessionPerFolder: second-a and second-b send the same folder to farm-a (both build
// linux/arm/v7 there, and maybe linux/amd64); their solves there name one session for it (as
// buildx bake's do), so BuildKit transfers it once. checkBaked has run each variant.
func checkOneSessionPerFolder(t *testing.T, c *cli, builder, repo string) {
	t.Helper()
	sessions := map[string]int{}
	for _, r := range c.nodeRecords(farm.EngineA, builder, "farm-a") {
		if slices.ContainsFunc(r.Pushed, func(name string) bool { return strings.HasSuffix(name, "/"+repo) }) {
			sessions[r.Attrs["local-sessionid:context"]+" "+r.Attrs["local-sessionid:dockerfile"]]++
		}
	}
	if len(sessions) != 1 || sessions[" "] != 0 || slices.Collect(maps.Values(sessions))[0] < 2 {
		t.Errorf("second-a and second-b's solves on farm-a named the sessions %v: want one for all of them", sessions)
	}
}

func TestBakeComposeFileBuildsTheSameWay(t *testing.T) {
	c, builder := buildFarm(t)
	r := newBakeRepos()
	dir := bakeContexts(t, map[string]string{"compose.yaml": bakeCompose(r)})
	c = c.inDir(dir)
	ours := c.ok(time.Minute, "multiarch", "bake", "-f", "compose.yaml", "--print")
	theirs := c.ok(time.Minute, "buildx", "bake", "-f", "compose.yaml", "--print")
	if ours.Stdout != theirs.Stdout {
		t.Errorf("bake --print differs from docker buildx bake --print:\n%s\n---\n%s", ours.Stdout, theirs.Stdout)
	}
	res := c.ok(20*time.Minute, "multiarch", "bake", "--builder", builder, "-f", "compose.yaml", "--push", "--progress", "plain")
	checkBaked(t, c, r, res.Stdout)
}

// One target fails on one platform: the bake names the target and the platform, and no target's
// tag moves, the other target's built and pushed by digest included.
func TestBakeFailureMovesNoTag(t *testing.T) {
	c, builder := buildFarm(t)
	good, bad := uniqueRepo("bake-good"), uniqueRepo("bake-bad")
	from := "FROM " + farm.Busybox + "\n"
	dir := bakeContexts(t, map[string]string{
		"good/Dockerfile": from + "ARG BUILD=1\nRUN echo good-$BUILD > /which\n",
		"bad/Dockerfile":  from + "ARG FAIL_ON=none\nRUN uname -m > /arch && [ \"$(uname -m)\" != \"$FAIL_ON\" ]\n",
		"docker-bake.hcl": fmt.Sprintf(`group "default" { targets = ["good", "bad"] }
target "good" {
  context = "good"
  platforms = ["linux/amd64", "linux/arm64"]
  tags = ["%[1]s/%[2]s:v1", "%[1]s/%[2]s:latest"]
}
target "bad" {
  context = "bad"
  platforms = ["linux/amd64", "linux/arm/v7"]
  tags = ["%[1]s/%[3]s:v1"]
}
`, farm.Registry, good, bad),
	})
	c = c.inDir(dir)
	c.ok(20*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--progress", "quiet")
	before := map[string]map[string]string{good: tagsAt(t, good, "v1", "latest"), bad: tagsAt(t, bad, "v1")}
	for repo, tags := range before {
		for tag, d := range tags {
			if d == "" {
				t.Fatalf("seeding: %s:%s was not published", repo, tag)
			}
		}
	}

	res := c.run(20*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--no-cache",
		"--set", "good.args.BUILD=2", "--set", "bad.args.FAIL_ON=armv7l")
	if res.ExitCode == 0 || !regexpLine(res.Stderr, "target bad", "linux/arm/v7 on node farm-a") {
		t.Errorf("a failing platform: exit %d, stderr tail %q", res.ExitCode, tail(res.Stderr, 800))
	}
	after := map[string]map[string]string{good: tagsAt(t, good, "v1", "latest"), bad: tagsAt(t, bad, "v1")}
	for repo, tags := range before {
		for tag, d := range tags {
			if after[repo][tag] != d {
				t.Errorf("the failed bake moved %s:%s from %s to %s", repo, tag, d, after[repo][tag])
			}
		}
	}
	if got := c.runVariant(farm.Registry+"/"+good+":v1", "linux/amd64", "cat", "/which"); got != "good-1" {
		t.Errorf("%s:v1 now holds %q", good, got)
	}
}

// bake --push as buildx applies it: a target with a local output and no tags is not pushed (its
// files are written), the tagged one is; --test runs on the pushed target only.
func TestBakePushLeavesLocalOutputTargets(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("bake-app")
	from := "FROM " + farm.Busybox + "\n"
	dir := bakeContexts(t, map[string]string{
		"app/Dockerfile": from + "RUN echo app > /which\n",
		"bin/Dockerfile": "FROM scratch\nCOPY tool.txt /tool.txt\n",
		"bin/tool.txt":   "a binary\n",
		"docker-bake.hcl": fmt.Sprintf(`group "default" { targets = ["app", "bin"] }
target "app" {
  context = "app"
  platforms = ["linux/amd64", "linux/arm64"]
  tags = ["%s/%s:v1"]
}
target "bin" {
  context = "bin"
  platforms = ["linux/amd64"]
  output = ["type=local,dest=out"]
}
`, farm.Registry, repo),
	})
	c = c.inDir(dir)
	c.ok(20*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--test", "cat /which", "--progress", "quiet")
	if got := imagePlatforms(c.reg().index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("app's index platforms %v", got)
	}
	if got := readFile(t, filepath.Join(dir, "out", "tool.txt")); got != "a binary\n" {
		t.Errorf("bin's local output: %q", got)
	}
}

// A bake file that reads a secret outside the working directory stops before anything is built,
// naming the --allow flag buildx would ask for; with it, the bake runs.
func TestBakeFilesystemEntitlements(t *testing.T) {
	c, builder := buildFarm(t)
	secret := filepath.Join(t.TempDir(), "token")
	writeFile(t, secret, "s3cret")
	repo := uniqueRepo("bake-ent")
	dir := bakeContexts(t, map[string]string{
		"app/Dockerfile": "FROM " + farm.Busybox + "\nRUN --mount=type=secret,id=token [ \"$(cat /run/secrets/token)\" = s3cret ]\n",
		"docker-bake.hcl": fmt.Sprintf(`target "default" {
  context = "app"
  platforms = ["linux/amd64"]
  tags = ["%s/%s:v1"]
  secret = ["id=token,src=%s"]
}
`, farm.Registry, repo, secret),
	})
	c = c.inDir(dir)
	res := c.run(5*time.Minute, "multiarch", "bake", "--builder", builder, "--push")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "--allow=fs.read=") || !strings.Contains(res.Stderr, "additional privileges requested") {
		t.Errorf("a secret outside the working directory: exit %d, %s", res.ExitCode, tail(res.Stderr, 600))
	}
	if resp, err := http.Get("http://" + farm.Registry + "/v2/" + repo + "/tags/list"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("refused, yet %s answers %v (%v): something was pushed", repo, resp, err)
	} else {
		resp.Body.Close()
	}
	c.ok(10*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--allow", "fs.read="+filepath.Dir(secret), "--progress", "quiet")
	if tags := c.reg().tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("granted: tags %v", tags)
	}
}
