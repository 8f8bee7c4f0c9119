//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// buildFarm is a builder across both engines: farm-a builds linux/amd64 natively and emulates
// linux/arm/v7, farm-b builds linux/amd64 natively and emulates linux/arm64.
func buildFarm(t *testing.T) (*cli, string) {
	t.Helper()
	return buildFarmWith(t, "--emulate", "linux/arm/v7=farm-a", "--emulate", "linux/arm64=farm-b")
}

// buildFarmWith adds the farm's nodes and creates a builder of the test's own with createArgs.
func buildFarmWith(t *testing.T, createArgs ...string) (*cli, string) {
	t.Helper()
	c := newCLI(t).withBuildx()
	c.farmNodes()
	name := fmt.Sprintf("b%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(name)
	c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", name}, createArgs, farmDriverOpts())...)
	return c, name
}

var threePlatforms = "linux/amd64,linux/arm64,linux/arm/v7"

// wantRoute is where buildFarm routes the three platforms.
var wantRoute = map[string]string{"linux/amd64": "farm-a", "linux/arm/v7": "farm-a", "linux/arm64": "farm-b"}

func uniqueRepo(name string) string { return fmt.Sprintf("e2e/%s-%d", name, time.Now().UnixNano()) }

// writeFiles writes a build context.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runVariant runs one platform of an image on engine A and returns what the command printed.
func (c *cli) runVariant(ref, platform string, cmd ...string) string {
	c.t.Helper()
	res := c.withHost(farm.EngineA).ok(2*time.Minute, append([]string{"run", "--rm", "--pull", "always", "-q",
		"--network", "none", "--platform", platform, ref}, cmd...)...)
	return strings.TrimSpace(res.Stdout)
}

// nodeHistory lists the platforms a builder node's BuildKit has built, from its own build records.
// The node's BuildKit must be running (a test that checks a node built nothing boots it first), so
// an empty answer always comes from BuildKit itself.
func (c *cli) nodeHistory(engine, builder, node string) []string {
	c.t.Helper()
	var out []string
	for _, r := range c.nodeRecords(engine, builder, node) {
		if p := r.Platform; p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func TestBuildPushesOnlyOneVerifiedTag(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("three")
	ref := farm.Registry + "/" + repo + ":v1"

	plan := c.ok(time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--dry-run", dir).Stdout
	for p, node := range wantRoute {
		if !regexpLine(plan, p, node, "Dockerfile") {
			t.Errorf("plan does not route %s to %s:\n%s", p, node, plan)
		}
	}
	if c.run(time.Minute, "multiarch", "build", "--builder", builder, "--dry-run", "-t", ref, "--push", dir).ExitCode != 0 ||
		slices.Contains(c.reg().catalog(), repo) {
		t.Fatal("--dry-run pushed something")
	}

	md := filepath.Join(t.TempDir(), "metadata.json")
	res := c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms,
		"-t", ref, "--push", "--progress", "plain", "--metadata-file", md, dir)
	for p, node := range wantRoute {
		if !regexpLine(res.Stdout, p, node, "sha256:") {
			t.Errorf("summary does not show %s built on %s:\n%s", p, node, res.Stdout)
		}
	}

	reg := c.reg()
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("%s has tags %v, want only v1", repo, tags)
	}
	if got := imagePlatforms(reg.index(repo, "v1")); !samePlatformSet(got, strings.Split(threePlatforms, ",")) {
		t.Errorf("index platforms %v", got)
	}
	for p, want := range unameFor {
		if got := c.runVariant(ref, p, "cat", "/arch"); got != want {
			t.Errorf("%s variant built its RUN on %q, want %q", p, got, want)
		}
	}

	var meta struct {
		Digest    string `json:"containerimage.digest"`
		Name      string `json:"image.name"`
		Platforms []struct {
			Platform, Node, Digest string
			Emulated               bool
		} `json:"multiarch.platforms"`
	}
	readJSONFile(t, md, &meta)
	if meta.Digest != reg.digest(repo, "v1") || meta.Name != ref || len(meta.Platforms) != 3 {
		t.Errorf("metadata %+v, tag digest %s", meta, reg.digest(repo, "v1"))
	}
	for _, p := range meta.Platforms {
		if wantRoute[p.Platform] != p.Node || p.Emulated != (p.Platform != "linux/amd64") || !strings.HasPrefix(p.Digest, "sha256:") {
			t.Errorf("metadata platform %+v", p)
		}
	}

	// Each node's BuildKit built exactly the platforms the plan gave it.
	if got := c.nodeHistory(farm.EngineA, builder, "farm-a"); !slices.Equal(got, []string{"linux/amd64", "linux/arm/v7"}) {
		t.Errorf("farm-a's BuildKit built %v", got)
	}
	if got := c.nodeHistory(farm.EngineB, builder, "farm-b"); !slices.Equal(got, []string{"linux/arm64"}) {
		t.Errorf("farm-b's BuildKit built %v", got)
	}
}

func TestBuildPerPlatformDockerfiles(t *testing.T) {
	c, builder := buildFarm(t)
	from := "FROM " + farm.Busybox + "\n"
	dir := writeFiles(t, map[string]string{
		"Dockerfile.linux-amd64": from + "RUN echo amd64-file > /which\n",
		"Dockerfile.linux-arm64": from + "RUN echo arm64-file > /which\n",
		"Dockerfile.linux-arm":   from + "RUN echo arm-file > /which\n",
	})
	repo := uniqueRepo("perfile")
	ref := farm.Registry + "/" + repo + ":v1"
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "-t", ref, "--push", "--progress", "plain", dir)
	if tags := c.reg().tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v, want only v1", tags)
	}
	for p, want := range map[string]string{"linux/amd64": "amd64-file", "linux/arm64": "arm64-file", "linux/arm/v7": "arm-file"} {
		if got := c.runVariant(ref, p, "cat", "/which"); got != want {
			t.Errorf("%s was built from %q, want %q", p, got, want)
		}
	}

	// --file-for takes one platform's Dockerfile from anywhere.
	other := writeFiles(t, map[string]string{"arm64.Dockerfile": from + "RUN echo given > /which\n"})
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "-t", ref, "--push", "--progress", "quiet",
		"--file-for", "linux/aarch64="+filepath.Join(other, "arm64.Dockerfile"), dir)
	if got := c.runVariant(ref, "linux/arm64", "cat", "/which"); got != "given" {
		t.Errorf("--file-for: arm64 built from %q", got)
	}
	if got := c.runVariant(ref, "linux/amd64", "cat", "/which"); got != "amd64-file" {
		t.Errorf("--file-for changed amd64: %q", got)
	}
}

func TestBuildFailureLeavesTheTag(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nARG FAIL_ON=none\nRUN uname -m > /arch && [ \"$(uname -m)\" != \"$FAIL_ON\" ]\n"})
	repo := uniqueRepo("fail")
	ref := farm.Registry + "/" + repo + ":v1"
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-t", ref, "--push", "--progress", "quiet", dir)
	reg := c.reg()
	before := reg.digest(repo, "v1")

	res := c.run(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms,
		"-t", ref, "-t", farm.Registry+"/"+repo+":v2", "--push", "--build-arg", "FAIL_ON=armv7l", "--no-cache", dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/arm/v7 on node farm-a") {
		t.Errorf("a failing platform: exit %d, stderr tail %q", res.ExitCode, tail(res.Stderr, 600))
	}
	if after := reg.digest(repo, "v1"); after != before {
		t.Errorf("the failed build moved %s from %s to %s", ref, before, after)
	}
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("the failed build left tags %v", tags)
	}

	// A platform no node builds stops everything before it starts.
	res = c.run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/ppc64le",
		"-t", farm.Registry+"/"+repo+":v3", "--push", dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "no node builds linux/ppc64le") {
		t.Errorf("unserved platform: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags after an unroutable build: %v", tags)
	}
	if got := c.nodeHistory(farm.EngineA, builder, "farm-a"); slices.Contains(got, "linux/ppc64le") {
		t.Error("an unroutable build reached BuildKit")
	}
}

func TestBuildBadInput(t *testing.T) {
	c, builder := buildFarmWith(t, "--emulate", "linux/arm/v7=farm-a", "--emulate", "linux/arm64=farm-b", "--bootstrap")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\n"})
	ref := farm.Registry + "/" + uniqueRepo("bad") + ":v1"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--push", dir}, "--push needs at least one tag"},
		{[]string{"-t", "Bad Tag", dir}, `"Bad Tag"`},
		{[]string{"--platform", "linux/sparc", dir}, `"linux/sparc"`},
		{[]string{"--file-for", "linux/arm64", dir}, `"linux/arm64"`},
		{[]string{"--file-for", "linux/s390x=" + filepath.Join(dir, "Dockerfile"), "--platform", "linux/amd64", dir}, "linux/s390x"},
		{[]string{"-f", "/nonexistent/Dockerfile", dir}, "/nonexistent/Dockerfile"},
		{[]string{"--progress", "fancy", dir}, `"fancy"`},
		{[]string{"--metadata-file", "/nonexistent/dir/md.json", dir}, "/nonexistent/dir"},
		{[]string{"--cache-from", "ref=x", dir}, "type is required"},
		{[]string{"--secret", "src=/etc/hostname", dir}, "id is required"},
		{[]string{"--secret", "id=s,src=/nonexistent/secret", dir}, "/nonexistent/secret"},
		{[]string{"--provenance", "mode=huge", dir}, "mode=huge"},
		{[]string{"--build-arg", "=s3cret", dir}, `--build-arg "=xxxxx"`}, // the value is masked, never echoed
		{[]string{filepath.Join(dir, "nosuchdir")}, "nosuchdir"},
		{[]string{"--builder", "nosuch", dir}, `"nosuch"`},
		{[]string{"--platform", "linux/s390x", dir}, "no node builds linux/s390x"},
		{[]string{"--timeout", "0s", dir}, "timeout"},
		{[]string{}, "requires 1 argument"},
	} {
		args := append([]string{"multiarch", "build", "--builder", builder, "-t", ref}, tc.args...)
		if slices.Contains(tc.args, "--builder") || slices.Contains(tc.args, "--push") && !slices.Contains(tc.args, "-t") {
			args = append([]string{"multiarch", "build"}, tc.args...)
		}
		res := c.run(time.Minute, args...)
		if strings.Contains(res.Combined(), "s3cret") {
			t.Errorf("build %s echoed a flag value: %q", strings.Join(tc.args, " "), res.Combined())
		}
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("build %s: exit %d, stderr %q; want an error naming %s", strings.Join(tc.args, " "), res.ExitCode, tail(res.Stderr, 400), tc.want)
		}
	}
	for n, engine := range map[string]string{"farm-a": farm.EngineA, "farm-b": farm.EngineB} {
		if got := c.nodeHistory(engine, builder, n); len(got) != 0 {
			t.Errorf("bad input reached BuildKit on %s: %v", n, got)
		}
	}
}

func (c *cli) reg() *registryClient { return newRegistryClient(c.t) }

// regexpLine reports whether some line of out holds every one of the words, in order.
func regexpLine(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		rest, ok := line, true
		for _, w := range words {
			i := strings.Index(rest, w)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(w):]
		}
		if ok {
			return true
		}
	}
	return false
}

func samePlatformSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// Without a multiarch builder, the current context's own BuildKit builds every platform (emulating
// the ones it does not run) and pushes one tag, as on a bare Docker Desktop with the containerd
// image store (engine B).
func TestBuildWithoutBuilderUsesTheCurrentContext(t *testing.T) {
	c := newCLI(t).withHost(farm.EngineB)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nCOPY greeting /greeting\n", "greeting": "hello\n"})
	plan := c.ok(time.Minute, "multiarch", "build", "--platform", "linux/amd64,linux/arm64", "--dry-run", dir).Stdout
	if !regexpLine(plan, "linux/amd64", "default", "native") || !regexpLine(plan, "linux/arm64", "default", "emulated") {
		t.Errorf("fallback plan:\n%s", plan)
	}
	repo := uniqueRepo("nobuilder")
	ref := farm.Registry + "/" + repo + ":v1"
	md := filepath.Join(t.TempDir(), "md.json")
	c.ok(10*time.Minute, "multiarch", "build", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", "--progress", "plain", "--metadata-file", md, dir)
	reg := c.reg()
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v, want only v1", tags)
	}
	// buildx's provenance keys from the engine's BuildKit: per platform; one key for one platform.
	var meta map[string]any
	readJSONFile(t, md, &meta)
	if meta["buildx.build.provenance/linux/amd64"] == nil || meta["buildx.build.provenance/linux/arm64"] == nil || meta["buildx.build.ref"] == nil {
		t.Errorf("metadata of the 2-platform push: %v", meta)
	}
	c.ok(10*time.Minute, "multiarch", "build", "--platform", "linux/amd64", "-t", farm.Registry+"/"+repo+"-one:v1", "--push", "--progress", "quiet", "--metadata-file", md, dir)
	meta = nil
	readJSONFile(t, md, &meta)
	if prv, _ := meta["buildx.build.provenance"].(map[string]any); prv["buildType"] == nil {
		t.Errorf("metadata of the 1-platform push: %v", meta)
	}
	if got := imagePlatforms(reg.index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", got)
	}
	if got := c.runVariant(ref, "linux/arm64", "cat", "/greeting"); got != "hello" {
		t.Errorf("arm64 variant: %q", got)
	}
}

// --load loads the variant native to the current engine into it.
func TestBuildLoad(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	tag := fmt.Sprintf("e2e-load/app:%d", time.Now().UnixNano())
	a := c.withHost(farm.EngineA)
	a.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/arm64,linux/amd64", "-t", tag, "--load", "--progress", "quiet", dir)
	t.Cleanup(func() { a.run(time.Minute, "rmi", tag) })
	if got := strings.TrimSpace(a.ok(time.Minute, "run", "--rm", "--network", "none", tag, "cat", "/arch").Stdout); got != "x86_64" {
		t.Errorf("loaded image built on %q, want the engine's own x86_64", got)
	}
	res := c.withHost(farm.EngineA).run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/arm64", "-t", tag, "--load", dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "no linux/amd64 variant") {
		t.Errorf("--load without the engine's platform: exit %d, %q", res.ExitCode, res.Stderr)
	}
}

// --cache-ref keeps one registry cache per platform; the image's repository still holds one tag.
func TestBuildCacheRefPerPlatform(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo, cacheRepo := uniqueRepo("cached"), uniqueRepo("cache")
	ref := farm.Registry + "/" + repo + ":v1"
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-t", ref, "--push",
		"--progress", "quiet", "--cache-ref", farm.Registry+"/"+cacheRepo, dir)
	reg := c.reg()
	want := []string{"cache-linux-amd64", "cache-linux-arm-v7", "cache-linux-arm64"}
	got := reg.tags(cacheRepo)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("cache tags %v, want %v", got, want)
	}
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("image tags %v", tags)
	}
}

// --strategy engine: each node's own engine builds through the classic build API (what Windows
// engines offer), the image is read back and pushed by digest, and both join one tag.
func TestBuildEngineStrategy(t *testing.T) {
	// amd64 on engine b (containerd store), arm64 emulated on engine a (classic store).
	c, builder := buildFarmWith(t, "--node", "farm-b", "--node", "farm-a", "--emulate", "linux/arm64=farm-a", "--bootstrap")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nCOPY greeting /greeting\n", "greeting": "from the engine\n"})
	repo := uniqueRepo("engine")
	ref := farm.Registry + "/" + repo + ":v1"
	plan := c.ok(time.Minute, "multiarch", "build", "--builder", builder, "--strategy", "engine", "--platform", "linux/amd64,linux/arm64", "--dry-run", dir).Stdout
	if !regexpLine(plan, "linux/amd64", "farm-b", "native", "engine") || !regexpLine(plan, "linux/arm64", "farm-a", "emulated", "engine") {
		t.Errorf("plan:\n%s", plan)
	}
	res := c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--strategy", "engine",
		"--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", dir)
	if !regexpLine(res.Stdout, "linux/amd64", "farm-b") || !regexpLine(res.Stdout, "linux/arm64", "farm-a") {
		t.Errorf("summary:\n%s", res.Stdout)
	}
	reg := c.reg()
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v, want only v1", tags)
	}
	if got := imagePlatforms(reg.index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", got)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if got := c.runVariant(ref, p, "cat", "/greeting"); got != "from the engine" {
			t.Errorf("%s: %q", p, got)
		}
	}
	if got := c.nodeHistory(farm.EngineB, builder, "farm-b"); len(got) != 0 {
		t.Errorf("the engine strategy used BuildKit: %v", got)
	}
}

// `build -` reads the context (a tar archive) or a Dockerfile from standard input, as buildx does.
func TestBuildContextFromStdin(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile.linux-amd64": "FROM " + farm.Busybox + "\nCOPY greeting /greeting\n",
		"Dockerfile.linux-arm64": "FROM " + farm.Busybox + "\nRUN echo arm > /greeting\n",
		"greeting":               "amd\n",
	})
	out, err := exec.Command("tar", "-C", dir, "-c", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	repo := uniqueRepo("stdin")
	ref := farm.Registry + "/" + repo + ":v1"
	c.withStdin(out).ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64",
		"-t", ref, "--push", "--progress", "quiet", "-")
	for p, want := range map[string]string{"linux/amd64": "amd", "linux/arm64": "arm"} {
		if got := c.runVariant(ref, p, "cat", "/greeting"); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	// A Dockerfile on stdin builds with an empty context.
	ref2 := farm.Registry + "/" + repo + ":v2"
	c.withStdin([]byte("FROM "+farm.Busybox+"\nRUN uname -m > /arch\n")).ok(10*time.Minute, "multiarch", "build",
		"--builder", builder, "--platform", "linux/arm/v7", "-t", ref2, "--push", "--progress", "quiet", "-")
	if got := c.runVariant(ref2, "linux/arm/v7", "cat", "/arch"); got != "armv7l" {
		t.Errorf("Dockerfile from stdin: %q", got)
	}
}

// --provenance and --sbom reach every platform; --secret reaches RUN --mount=type=secret.
func TestBuildAttestationsAndSecrets(t *testing.T) {
	c, builder := buildFarm(t)
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox +
		"\nRUN --mount=type=secret,id=token [ \"$(cat /run/secrets/token)\" = s3cret ] && uname -m > /arch\n"})
	repo := uniqueRepo("attest")
	reg := c.reg()
	attestations := func(tag string) int {
		n := 0
		for _, m := range reg.index(repo, tag).Manifests {
			if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
				n++
			}
		}
		return n
	}
	for tag, args := range map[string][]string{
		"none": {"--provenance", "false"},
		"max":  {"--provenance", "mode=max", "--sbom", "false"},
	} {
		c.ok(10*time.Minute, append([]string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64",
			"--secret", "id=token,src=" + secret, "-t", farm.Registry + "/" + repo + ":" + tag, "--push", "--progress", "quiet", dir}, args...)...)
	}
	if n := attestations("none"); n != 0 {
		t.Errorf("--provenance false left %d attestation manifests", n)
	}
	if n := attestations("max"); n != 2 {
		t.Errorf("--provenance mode=max: %d attestation manifests, want one per platform", n)
	}
	if got := imagePlatforms(reg.index(repo, "max")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", got)
	}
	// inspect marks the attestations.
	if out := c.ok(time.Minute, "multiarch", "inspect", farm.Registry+"/"+repo+":max").Stdout; strings.Count(out, "attestation of") != 2 {
		t.Errorf("inspect:\n%s", out)
	}
	// A wrong secret fails the RUN step.
	if err := os.WriteFile(secret, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := c.run(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--no-cache",
		"--secret", "id=token,src="+secret, dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/amd64 on node farm-a") || !strings.Contains(res.Stderr, "did not complete successfully: exit code: 1") {
		t.Errorf("the wrong secret must fail the RUN step on its node: exit %d, %s", res.ExitCode, tail(res.Stderr, 600))
	}
}

// A node that stops answering after the builder was made: the build stops at the deadline before
// anything runs, naming the node and its endpoint, and no tag is written.
func TestBuildUnreachableNodeStopsAtTheDeadline(t *testing.T) {
	c := newCLI(t).withBuildx()
	c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA)
	px := newProxy(t, farm.EngineBTLS)
	tls := func(name string) string { return filepath.Join(farm.TLSDir, name) }
	c.ok(time.Minute, "multiarch", "node", "add", "flaky", "--host", px.addr(),
		"--tlscacert", tls("ca.pem"), "--tlscert", tls("cert.pem"), "--tlskey", tls("key.pem"))
	builder := fmt.Sprintf("u%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(builder)
	t.Cleanup(px.restore) // runs before the builder's removal, so it can reach the node
	c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", builder, "--emulate", "linux/arm64=flaky", "--bootstrap"}, farmDriverOpts())...)

	px.cutOff()
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("unreachable")
	start := time.Now()
	res := c.run(2*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64",
		"-t", farm.Registry+"/"+repo+":v1", "--push", "--timeout", "3s", dir)
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("build with an unreachable node took %s with a 3s deadline", took)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"flaky"`) || !strings.Contains(res.Stderr, px.addr()) {
		t.Errorf("unreachable node: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if slices.Contains(c.reg().catalog(), repo) {
		t.Error("a build that could not start pushed something")
	}
	// A node that goes dark in the middle of a build stops it at the deadline too.
	px.restore()
	slow := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN sleep 20 && uname -m > /arch\n"})
	go func() { time.Sleep(4 * time.Second); px.cutOff() }()
	start = time.Now()
	res = c.run(2*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/arm64", "--no-cache",
		"-t", farm.Registry+"/"+repo+":v2", "--push", "--timeout", "3s", slow)
	// Cut at 4s, probed every 1.5s with a 3s deadline: stopped by about 8.5s, far before the 20s RUN.
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a build whose node went dark took %s (RUN sleeps 20s, deadline 3s)", took)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"flaky"`) || !strings.Contains(res.Stderr, "stopped answering") {
		t.Errorf("node dark mid-build: exit %d, %q", res.ExitCode, tail(res.Stderr, 500))
	}

	// ls marks the node and still returns at the deadline.
	start = time.Now()
	res = c.ok(time.Minute, "multiarch", "ls", "--timeout", "3s", "--format", "json")
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("ls with an unreachable node took %s with a 3s deadline", took)
	}
	list, err := jsonLines[builderJSON](res.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		for _, n := range b.Nodes {
			if b.Name == builder && n.Name == "flaky" && n.Status != "error" {
				t.Errorf("ls shows the unreachable node as %+v", n)
			}
		}
	}
	// Back again, the node's BuildKit still runs the interrupted solve: rm removes its container
	// all the same, within --timeout (it used to wait for the engine's 10s stop grace, time out,
	// and leave the container stopped on the engine).
	px.restore()
	if out := c.ok(time.Minute, "multiarch", "rm", builder).Stderr; !strings.Contains(out, "flaky: BuildKit container removed") {
		t.Errorf("rm did not remove the node's container:\n%s", out)
	}
	name := "buildx_buildkit_" + builder + "-flaky"
	if res := c.run(time.Minute, "--host", farm.EngineB, "container", "inspect", name); res.ExitCode == 0 {
		t.Errorf("container %s is still on the engine", name)
	}
}
