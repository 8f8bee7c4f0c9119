//go:build e2e

package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// testLabel is the label `docker multiarch test` (and the build's test gate) puts on its containers.
const testLabel = "io.docker-multiarch.test"

// testResultJSON is one variant's result in `docker multiarch test --format json` and in the
// build metadata's "test" entries.
type testResultJSON struct {
	Platform string   `json:"platform"`
	Image    string   `json:"image"`
	Node     string   `json:"node"`
	Emulated bool     `json:"emulated"`
	ExitCode int      `json:"exitCode"`
	Running  bool     `json:"running"`
	Seconds  float64  `json:"durationSeconds"`
	Output   []string `json:"output"`
	Passed   bool     `json:"passed"`
	Reason   string   `json:"reason"`
}

func (r testResultJSON) lastLine() string {
	if len(r.Output) == 0 {
		return ""
	}
	return r.Output[len(r.Output)-1]
}

// testResults parses `docker multiarch test --format json`, by platform.
func testResults(t *testing.T, res result) map[string]testResultJSON {
	t.Helper()
	list, err := jsonLines[testResultJSON](res.Stdout)
	if err != nil {
		t.Fatalf("test --format json: %v\nstdout %q\nstderr %q", err, res.Stdout, tail(res.Stderr, 800))
	}
	out := map[string]testResultJSON{}
	for _, r := range list {
		if _, dup := out[r.Platform]; dup {
			t.Errorf("test --format json lists %s twice", r.Platform)
		}
		out[r.Platform] = r
	}
	return out
}

// testContainers lists every container on an engine that carries the test label, whatever its
// state: "ID PLATFORM STATUS" per container.
func (c *cli) testContainers(engine string) []string {
	c.t.Helper()
	res := c.withHost(engine).ok(time.Minute, "ps", "-a", "--filter", "label="+testLabel,
		"--format", `{{.ID}} {{.Label "`+testLabel+`"}} {{.Status}}`)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// noTestContainers fails the test when a test container is left on either engine.
func (c *cli) noTestContainers(when string) {
	c.t.Helper()
	for name, engine := range map[string]string{"farm-a": farm.EngineA, "farm-b": farm.EngineB} {
		if left := c.testContainers(engine); len(left) != 0 {
			c.t.Errorf("%s: test containers left on %s: %v", when, name, left)
		}
	}
}

// A correct 3-platform index: every variant runs on the node the builder routes its platform to
// (native for amd64, emulated for the others) and reports its own architecture.
func TestTestCommand(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\nCMD [\"cat\",\"/arch\"]\n"})
	repo := uniqueRepo("testcmd")
	ref := farm.Registry + "/" + repo + ":v1"
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-t", ref, "--push",
		"--network", "none", "--progress", "quiet", dir)
	test := func(args ...string) result {
		return c.run(5*time.Minute, slices.Concat([]string{"multiarch", "test", ref, "--builder", builder, "--network", "none"}, args)...)
	}
	checkRuns := func(what string, res result) {
		t.Helper()
		if res.ExitCode != 0 {
			t.Errorf("%s: exit %d\n%s", what, res.ExitCode, tail(res.Combined(), 1500))
		}
		got := testResults(t, res)
		if len(got) != 3 {
			t.Errorf("%s: %d results, want 3: %+v", what, len(got), got)
		}
		for p, want := range unameFor {
			r, ok := got[p]
			switch {
			case !ok:
				t.Errorf("%s: no result for %s", what, p)
			case r.lastLine() != want || !r.Passed || r.ExitCode != 0 || r.Reason != "":
				t.Errorf("%s: %s printed %q (exit %d, passed %v, reason %q), want %q", what, p, r.Output, r.ExitCode, r.Passed, r.Reason, want)
			case r.Node != wantRoute[p] || r.Emulated != (p != "linux/amd64"):
				t.Errorf("%s: %s ran on %s (emulated %v), want %s (emulated %v)", what, p, r.Node, r.Emulated, wantRoute[p], p != "linux/amd64")
			case !strings.HasPrefix(r.Image, farm.Registry+"/"+repo+"@sha256:"):
				t.Errorf("%s: %s was not pulled by digest: %q", what, p, r.Image)
			}
		}
	}

	// The image's own command.
	checkRuns("test", test("--format", "json"))
	table := test()
	t.Logf("test (table):\n%s", table.Stdout)
	if table.ExitCode != 0 {
		t.Errorf("test (table): exit %d\n%s", table.ExitCode, table.Combined())
	}
	for p, want := range unameFor {
		mode := "emulated"
		if p == "linux/amd64" {
			mode = "native"
		}
		if !regexpLine(table.Stdout, p+" ", wantRoute[p], mode, "pass", want) {
			t.Errorf("the table does not show %s on %s, %s, passing with %s:\n%s", p, wantRoute[p], mode, want, table.Stdout)
		}
	}

	// A command of the test's own.
	checkRuns("test -- uname -m", test("--format", "json", "--", "uname", "-m"))

	// A command that fails everywhere fails the test, naming every platform and its node.
	res := test("--", "false")
	t.Logf("test -- false: exit %d\n%s", res.ExitCode, res.Combined())
	if res.ExitCode == 0 {
		t.Errorf("test -- false: exit 0\n%s", res.Combined())
	}
	for p := range unameFor {
		if !strings.Contains(res.Stderr, p+" on node "+wantRoute[p]) {
			t.Errorf("test -- false: the error does not name %s on %s: %q", p, wantRoute[p], res.Stderr)
		}
	}

	// A platform the index lacks stops the test before anything runs.
	res = test("--platform", "linux/ppc64le")
	t.Logf("test --platform linux/ppc64le: exit %d\n%s", res.ExitCode, res.Combined())
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/ppc64le") || strings.TrimSpace(res.Stdout) != "" {
		t.Errorf("test --platform linux/ppc64le: exit %d, stdout %q, stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}

	c.noTestContainers("after the tests")
}

// A server passes --running while it still runs; a variant that exits at once fails it. No
// container is left, also after Ctrl-C.
func TestTestCommandRunning(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox +
		"\nCMD [\"sh\",\"-c\",\"echo up on $(uname -m); [ $(uname -m) = armv7l ] && exit 3; sleep 60\"]\n"})
	ref := farm.Registry + "/" + uniqueRepo("testrun") + ":v1"
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm/v7", "-t", ref, "--push",
		"--network", "none", "--progress", "quiet", dir)

	start := time.Now()
	res := c.run(5*time.Minute, "multiarch", "test", ref, "--builder", builder, "--network", "none", "--running", "3s", "--format", "json")
	took := time.Since(start)
	if res.ExitCode == 0 {
		t.Errorf("test --running 3s with a variant that exits: exit 0\n%s", res.Combined())
	}
	got := testResults(t, res)
	if amd := got["linux/amd64"]; !amd.Passed || !amd.Running || amd.lastLine() != "up on x86_64" {
		t.Errorf("the amd64 server: %+v, want passed and still running", amd)
	}
	if arm := got["linux/arm/v7"]; arm.Passed || arm.Running || arm.ExitCode != 3 || !strings.Contains(arm.Reason, "exited") ||
		arm.lastLine() != "up on armv7l" {
		t.Errorf("the arm/v7 variant that exits at once: %+v, want failed with exit 3 and a reason saying it exited", arm)
	}
	if !strings.Contains(res.Stderr, "linux/arm/v7 on node farm-a") || strings.Contains(res.Stderr, "linux/amd64 on node") {
		t.Errorf("the error should name only linux/arm/v7 on farm-a: %q", res.Stderr)
	}
	t.Logf("test --running 3s took %s: exit %d\n%s", took.Round(100*time.Millisecond), res.ExitCode, res.Stderr)
	c.noTestContainers("after test --running")

	// A variant past its --test-timeout fails, and its container is removed too.
	res = c.run(5*time.Minute, "multiarch", "test", ref, "--builder", builder, "--network", "none", "--platform", "linux/amd64",
		"--test-timeout", "3s", "--", "sleep", "60")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/amd64 on node farm-a: not done within 3s") {
		t.Errorf("test --test-timeout 3s -- sleep 60: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	c.noTestContainers("after a test timeout")

	// Ctrl-C while the server is being watched: 130 within 5s, every container removed.
	p := c.startTTY("multiarch", "test", ref, "--builder", builder, "--network", "none", "--running", "30s")
	var seen []string
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		// on either amd64 engine: arm/v7, which only farm-a builds, is placed there first
		seen = append(c.testContainers(farm.EngineA), c.testContainers(farm.EngineB)...)
		if slices.ContainsFunc(seen, func(l string) bool { return strings.Contains(l, "linux/amd64 Up") }) {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the amd64 server never ran: %v\n%s", seen, p.output())
		}
	}
	time.Sleep(time.Second)
	p.interrupt()
	code, took := p.waitExit(30 * time.Second)
	t.Logf("Ctrl-C: exit %d after %s\n%s", code, took.Round(time.Millisecond), tail(p.output(), 1500))
	if code != 130 || took > 5*time.Second {
		t.Errorf("Ctrl-C: exit %d after %s, want 130 within 5s\n%s", code, took, tail(p.output(), 1500))
	}
	c.noTestContainers("after Ctrl-C")
}

// The test gate: a variant whose command is missing never reaches the tag; a good build moves it,
// with each variant's result in the summary and the metadata.
func TestGateKeepsABrokenVariantOffTheTag(t *testing.T) {
	c, builder := buildFarm(t)
	app := "#!/bin/sh\necho \"app on $(uname -m)\"\n"
	withApp := "FROM " + farm.Busybox + "\nARG V=1\nLABEL v=$V\nCOPY --chmod=755 app /usr/local/bin/app\nCMD [\"app\"]\n"
	good := writeFiles(t, map[string]string{"Dockerfile": withApp, "app": app})
	broken := writeFiles(t, map[string]string{
		"Dockerfile.linux-amd64": withApp,
		"Dockerfile.linux-arm64": withApp,
		"Dockerfile.linux-arm":   "FROM " + farm.Busybox + "\nARG V=1\nLABEL v=$V\nCMD [\"app\"]\n", // no app
		"app":                    app,
	})
	repo := uniqueRepo("gate")
	ref := farm.Registry + "/" + repo + ":v1"
	build := func(args ...string) result {
		return c.run(10*time.Minute, slices.Concat([]string{"multiarch", "build", "--builder", builder, "--platform", threePlatforms,
			"-t", ref, "--push", "--network", "none", "--progress", "plain"}, args)...)
	}
	if res := build(good); res.ExitCode != 0 {
		t.Fatalf("seeding the tag: exit %d\n%s", res.ExitCode, tail(res.Combined(), 2000))
	}
	before := tagDigest(t, repo, "v1")

	for _, gate := range [][]string{{"--test-image-cmd"}, {"--test", "app"}} {
		res := build(append(gate, "--build-arg", "V=2", broken)...)
		t.Logf("build %s with a broken arm/v7: exit %d\n%s", gate[0], res.ExitCode, tail(res.Stderr, 700))
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/arm/v7 on node farm-a") {
			t.Errorf("build %s with a broken arm/v7 variant: exit %d, stderr tail %q", gate[0], res.ExitCode, tail(res.Stderr, 800))
		}
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			if strings.Contains(res.Stderr, p+" on node") {
				t.Errorf("build %s: the error blames %s, which passed: %q", gate[0], p, tail(res.Stderr, 800))
			}
		}
		if after := tagDigest(t, repo, "v1"); after != before {
			t.Errorf("build %s moved %s from %s to %s", gate[0], ref, before, after)
		}
		if tags := c.reg().tags(repo); !slices.Equal(tags, []string{"v1"}) {
			t.Errorf("build %s left tags %v, want only v1", gate[0], tags)
		}
	}
	c.noTestContainers("after the failed gates")

	// Every variant fine: the tag moves, the summary and the metadata hold each test result.
	md := filepath.Join(t.TempDir(), "metadata.json")
	res := build("--test", "app", "--expect-output", "app on ", "--build-arg", "V=3", "--metadata-file", md, good)
	if res.ExitCode != 0 {
		t.Fatalf("build --test app of a good image: exit %d\n%s", res.ExitCode, tail(res.Combined(), 2000))
	}
	t.Logf("build --test app of a good image:\n%s", res.Stdout)
	after := tagDigest(t, repo, "v1")
	if after == before || after == "" {
		t.Errorf("the passing build did not move %s (%s before, %s after)", ref, before, after)
	}
	if !regexpLine(res.Stdout, "PLATFORM", "TEST", "OUTPUT") {
		t.Errorf("the summary has no TEST and OUTPUT columns:\n%s", res.Stdout)
	}
	for p, node := range wantRoute {
		if !regexpLine(res.Stdout, p+" ", node, "sha256:", "pass on "+node, "app on ") {
			t.Errorf("the summary does not show %s passing on %s with what it printed:\n%s", p, node, res.Stdout)
		}
	}
	var meta struct {
		Digest    string `json:"containerimage.digest"`
		Platforms []struct {
			Platform string          `json:"platform"`
			Digest   string          `json:"digest"`
			Test     *testResultJSON `json:"test"`
		} `json:"multiarch.platforms"`
	}
	readJSONFile(t, md, &meta)
	if meta.Digest != after || len(meta.Platforms) != 3 {
		t.Errorf("metadata digest %s with %d platforms; the tag is at %s", meta.Digest, len(meta.Platforms), after)
	}
	for _, p := range meta.Platforms {
		switch tr := p.Test; {
		case tr == nil:
			t.Errorf("metadata: %s has no test result", p.Platform)
		case !tr.Passed || tr.Platform != p.Platform || tr.Node != wantRoute[p.Platform] ||
			tr.lastLine() != "app on "+unameFor[p.Platform] || !strings.HasSuffix(tr.Image, "@"+p.Digest):
			t.Errorf("metadata: %s (%s) test result %+v", p.Platform, p.Digest, *tr)
		}
	}
	if tags := c.reg().tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v after the passing gate, want only v1", tags)
	}
	c.noTestContainers("after the passing gate")
}

// Without a multiarch builder (the context's BuildKit pushes one index of every platform), the
// gate runs each platform's own image, so the variants on that one engine pull, run and remove
// distinct images: every variant prints its own machine, and no image is left behind.
func TestGateWithoutBuilderRunsEachPlatformsImage(t *testing.T) {
	c := newCLI(t).withHost(farm.EngineB)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nCOPY greeting /greeting\n", "greeting": "hello\n"})
	repo := uniqueRepo("gate-nobuilder")
	md := filepath.Join(t.TempDir(), "md.json")
	res := c.run(10*time.Minute, "multiarch", "build", "--platform", "linux/amd64,linux/arm64", "-t", farm.Registry+"/"+repo+":v1",
		"--push", "--network", "none", "--test", "uname -m", "--metadata-file", md, "--progress", "quiet", dir)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", res.ExitCode, tail(res.Combined(), 2000))
	}
	var meta struct {
		Platforms []struct {
			Platform string `json:"platform"`
			Test     *struct {
				Output []string `json:"output"`
				Image  string   `json:"image"`
			} `json:"test"`
		} `json:"multiarch.platforms"`
	}
	readJSONFile(t, md, &meta)
	want := map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
	images := map[string]bool{}
	for _, p := range meta.Platforms {
		if p.Test == nil || len(p.Test.Output) == 0 || strings.TrimSpace(p.Test.Output[len(p.Test.Output)-1]) != want[p.Platform] {
			t.Errorf("%s ran %+v, want it to print %s", p.Platform, p.Test, want[p.Platform])
			continue
		}
		images[p.Test.Image] = true
	}
	if len(images) != 2 {
		t.Errorf("the variants ran %v: one image each expected", images)
	}
	c.noTestContainers("after the gate")
	for image := range images { // what the gate pulled (the build's own index stays in the engine's store)
		if res := c.run(time.Minute, "image", "inspect", image); res.ExitCode == 0 {
			t.Errorf("the gate left %s on the engine", image)
		}
	}
}

// build --test runs a command that exits in the BuildKit of the node that built each variant
// (native or, alone for its platform, emulating): each reports its own architecture, the exit
// code is judged as docker run's would be, and nothing is pulled into an engine or left there.
func TestGateRunsCommandsInBuildKit(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nENV GREETING=hi\nWORKDIR /work\nRUN echo " + uniqueRepo("x") + " > /id\n"})
	repo := uniqueRepo("gatebk")
	build := func(tag string, test ...string) result {
		return c.run(8*time.Minute, slices.Concat([]string{"multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push",
			"-t", farm.Registry + "/" + repo + ":" + tag}, test, []string{dir})...)
	}
	r := build("ok", "--test", `sh -c 'echo $GREETING $(pwd) $(uname -m); exit 3'`, "--expect-exit", "3", "--expect-output", "hi /work")
	if r.ExitCode != 0 {
		t.Fatalf("a test exiting 3 with --expect-exit 3: exit %d\n%s", r.ExitCode, tail(r.Combined(), 3000))
	}
	for p, arch := range map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm/v7": "armv7l"} {
		if !regexpLine(r.Stdout, p+" ", "pass on "+wantRoute[p], "hi /work "+arch) {
			t.Errorf("%s does not pass on %s printing its architecture %s:\n%s", p, wantRoute[p], arch, r.Stdout)
		}
	}
	r = build("bad", "--test", "sh -c 'exit 3'")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "exit code 3, want 0") || newRegistryClient(t).tagsIfAny(repo)[0] != "ok" || len(newRegistryClient(t).tagsIfAny(repo)) != 1 {
		t.Errorf("a test exiting 3 without --expect-exit: exit %d, tags %v\n%s", r.ExitCode, newRegistryClient(t).tagsIfAny(repo), tail(r.Stderr, 1500))
	}
	// A command that cannot start is no exit code 1 (BuildKit reports it as one): with
	// --expect-exit 1 the variant runs on an engine, whose start fails it.
	r = build("nostart", "--test", "/nonexistent", "--expect-exit", "1")
	if r.ExitCode == 0 {
		t.Errorf("a test that cannot start passed --expect-exit 1:\n%s", tail(r.Combined(), 1500))
	}
	c.noTestContainers("after the gates in BuildKit")
	for name, engine := range map[string]string{"farm-a": farm.EngineA, "farm-b": farm.EngineB} {
		if out := c.withHost(engine).ok(time.Minute, "images", "--format", "{{.Repository}}").Stdout; strings.Contains(out, repo) {
			t.Errorf("a variant was pulled into %s's engine:\n%s", name, out)
		}
	}
}
