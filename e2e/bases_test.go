//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// A base without a platform stops the build before any node builds, with one line naming the
// Dockerfile line, the base, the missing platform and the ones it has.
func TestBasesCheckedUpFront(t *testing.T) {
	c, builder := buildFarmWith(t, "--emulate", "linux/arm/v7=farm-a", "--emulate", "linux/arm64=farm-b", "--bootstrap")

	// The two-platform base is built by engine B's own BuildKit (no builder), so the test's
	// builder starts with an empty history.
	baseDir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nLABEL two=platforms\n"})
	base := farm.Registry + "/" + uniqueRepo("bases") + "-base:latest"
	newCLI(t).withHost(farm.EngineB).ok(10*time.Minute, "multiarch", "build", "--platform", "linux/amd64,linux/arm64",
		"-t", base, "--push", "--progress", "quiet", baseDir)
	missing := func(line int, ref string) string {
		return fmt.Sprintf("Dockerfile:%d: FROM %s has no linux/arm/v7 variant (it has linux/amd64, linux/arm64)", line, ref)
	}
	build := func(dir string, args ...string) result {
		return c.run(10*time.Minute, slices.Concat([]string{"multiarch", "build", "--builder", builder, "--platform", threePlatforms,
			"--network", "none", "--progress", "plain"}, args, []string{dir})...)
	}
	checkStopped := func(what string, res result, want string) {
		t.Helper()
		t.Logf("%s: exit %d\n%s", what, res.ExitCode, tail(res.Stderr, 1000))
		var lines []string
		for _, l := range strings.Split(res.Stderr, "\n") {
			if strings.Contains(l, "has no") || strings.Contains(l, "no match for platform") {
				lines = append(lines, l)
			}
		}
		if res.ExitCode == 0 || len(lines) != 1 || !strings.Contains(lines[0], want) {
			t.Errorf("%s: exit %d, error lines %q; want one line with %q\nstderr: %s", what, res.ExitCode, lines, want, tail(res.Stderr, 1500))
		}
	}

	onBase := writeFiles(t, map[string]string{"Dockerfile": "FROM " + base + "\nRUN uname -m > /arch\n"})
	checkStopped("FROM a two-platform base", build(onBase), missing(1, base))

	argBase := writeFiles(t, map[string]string{"Dockerfile": "ARG BASE=" + farm.Busybox + "\nFROM ${BASE}\nRUN uname -m > /arch\n"})
	checkStopped("--build-arg BASE=<two-platform base>", build(argBase, "--build-arg", "BASE="+base), missing(2, base))

	for n, engine := range map[string]string{"farm-a": farm.EngineA, "farm-b": farm.EngineB} {
		if got := c.nodeHistory(engine, builder, n); len(got) != 0 {
			t.Errorf("a build stopped for its base reached BuildKit on %s: %v", n, got)
		}
	}

	// --dry-run shows every platform's bases and whether each has the platform.
	plan := c.run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--dry-run", onBase).Stdout
	t.Logf("--dry-run on the two-platform base:\n%s", plan)
	for p, avail := range map[string]string{"linux/amd64": "yes", "linux/arm64": "yes", "linux/arm/v7": "NO"} {
		if !regexpLine(plan, p+" ", "Dockerfile:1", base, p, avail) {
			t.Errorf("--dry-run does not show %s's base %s as %s:\n%s", p, base, avail, plan)
		}
	}
	if !regexpLine(plan, "linux/arm/v7 ", base, "NO", "linux/amd64, linux/arm64") {
		t.Errorf("--dry-run does not say which platforms the base has:\n%s", plan)
	}
	plan = c.run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--dry-run",
		"--build-arg", "BASE="+base, argBase).Stdout
	if !regexpLine(plan, "linux/arm/v7 ", "Dockerfile:2", base, "NO") || !regexpLine(plan, "linux/amd64 ", "Dockerfile:2", base, "yes") {
		t.Errorf("--dry-run with --build-arg BASE does not resolve the base:\n%s", plan)
	}

	// A stage on the base pulled for the build platform is fine for every target platform.
	tools := writeFiles(t, map[string]string{"Dockerfile": "FROM --platform=$BUILDPLATFORM " + base + " AS tools\n" +
		"RUN echo built-on-$(uname -m) > /tools\n" +
		"FROM " + farm.Busybox + "\nCOPY --from=tools /tools /tools\n"})
	plan = c.run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--dry-run", tools).Stdout
	t.Logf("--dry-run of the $BUILDPLATFORM stage:\n%s", plan)
	if !regexpLine(plan, "linux/arm/v7 ", "Dockerfile:1", base, "linux/amd64", "yes") {
		t.Errorf("--dry-run does not pull the tools stage for the build platform:\n%s", plan)
	}
	repo := uniqueRepo("bases-tools")
	ref := farm.Registry + "/" + repo + ":v1"
	if res := build(tools, "-t", ref, "--push"); res.ExitCode != 0 {
		t.Errorf("FROM --platform=$BUILDPLATFORM on the base: exit %d\n%s", res.ExitCode, tail(res.Combined(), 2000))
	} else {
		if got := imagePlatforms(c.reg().index(repo, "v1")); !samePlatformSet(got, strings.Split(threePlatforms, ",")) {
			t.Errorf("tools build index platforms %v", got)
		}
		if got := c.runVariant(ref, "linux/arm/v7", "cat", "/tools"); got != "built-on-x86_64" {
			t.Errorf("the arm/v7 variant's tools stage ran on %q, want the build platform's x86_64", got)
		}
	}

	// ARG BASE / FROM ${BASE} with its default passes.
	if res := build(argBase); res.ExitCode != 0 {
		t.Errorf("ARG BASE with its default: exit %d\n%s", res.ExitCode, tail(res.Combined(), 2000))
	}
	// The builds that passed are in the nodes' history, as the stopped ones would have been.
	if got := c.nodeHistory(farm.EngineA, builder, "farm-a"); !slices.Equal(got, []string{"linux/amd64", "linux/arm/v7"}) {
		t.Errorf("farm-a's BuildKit built %v after the passing builds", got)
	}
	if got := c.nodeHistory(farm.EngineB, builder, "farm-b"); !slices.Equal(got, []string{"linux/arm64"}) {
		t.Errorf("farm-b's BuildKit built %v after the passing builds", got)
	}
}
