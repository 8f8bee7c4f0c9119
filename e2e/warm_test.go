//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 22: with two nodes for linux/amd64 (an engine and a BuildKit daemon, each behind a proxy
// that can go dark), rebuilds of a Dockerfile with a slow step and a changed late file land on the
// node that built it, the slow step cached, and --dry-run says why, also without the local record
// (the node's BuildKit history says); with that node dark the rebuild goes to the other one.
func TestWarmRoutingFindsTheCache(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	engine, daemon, builder := c.proxiedPool("warm")
	dir := writeFiles(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo slow-%d && sleep 4\nCOPY late.txt /late.txt\n", farm.Busybox, time.Now().UnixNano()),
		"late.txt":   "0",
	})
	nodeOf := func(out string) string {
		for _, n := range []string{"eng", "bk"} {
			if regexpLine(out, "linux/amd64", " "+n+" ") {
				return n
			}
		}
		t.Fatalf("no node in the summary:\n%s", out)
		return ""
	}
	build := func(i int) result {
		if err := os.WriteFile(filepath.Join(dir, "late.txt"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		return c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", dir)
	}
	// The first build on the daemon (the engine dark), so that the warm node is not the one the
	// builder's order picks anyway.
	engine.cutOff()
	first := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s", dir)
	engine.restore()
	warm := "bk"
	if n := nodeOf(first.Stdout); n != warm {
		t.Fatalf("the first build ran on %s", n)
	}
	plan := c.ok(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--dry-run", dir).Stdout
	if !regexpLine(plan, "linux/amd64", warm, "warm: it built this last") {
		t.Errorf("--dry-run does not say the warm node is chosen for its cache:\n%s", plan)
	}
	for i := 1; i <= 5; i++ {
		out := build(i).Stdout
		if n := nodeOf(out); n != warm || !regexpLine(out, "linux/amd64", warm, "1/2") {
			t.Errorf("rebuild %d: on %s (want %s, its slow step cached: 1/2 steps):\n%s", i, n, warm, out)
		}
	}
	// Without the local record (as on another machine or a CI runner): the nodes' BuildKit
	// histories say which built it last.
	c.ok(time.Minute, "multiarch", "history", "rm", "--all")
	plan = c.ok(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--dry-run", dir).Stdout
	if !regexpLine(plan, "linux/amd64", warm, "warm: its BuildKit built this last") {
		t.Errorf("--dry-run without a local record does not find the warm node in its BuildKit's history:\n%s", plan)
	}
	if out := build(6).Stdout; nodeOf(out) != warm || !regexpLine(out, "linux/amd64", warm, "1/2") {
		t.Errorf("the rebuild without a local record: want %s, its slow step cached:\n%s", warm, out)
	}
	// The warm node dark: the rebuild goes to the other node, cold.
	if warm == "eng" {
		engine.cutOff()
	} else {
		daemon.cutOff()
	}
	out := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s", dir).Stdout
	if n := nodeOf(out); n == warm {
		t.Errorf("with %s dark the rebuild still ran there:\n%s", warm, out)
	}
}

// Issue 22, warm failover: a builder created with --cache-ref exports every build's cache to the
// registry, so a rebuild that has to move to the other node (the warm one dark) still finds its
// slow step cached there.
func TestBuilderCacheRefWarmFailover(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	cache := farm.Registry + "/" + uniqueRepo("buildercache")
	engine, daemon, builder := c.proxiedPool("failover", "--cache-ref", cache)
	if r := c.run(time.Minute, "multiarch", "create", builder+"x", "--node", "eng", "--cache-ref", "Not A Ref"); r.ExitCode == 0 || !strings.Contains(r.Stderr, `invalid --cache-ref "Not A Ref"`) {
		t.Errorf("a bad --cache-ref: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	dir := writeFiles(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo slow-%d && sleep 4\nCOPY late.txt /late.txt\n", farm.Busybox, time.Now().UnixNano()),
		"late.txt":   "0",
	})
	engine.cutOff() // the first build on the daemon
	first := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s", "--progress", "plain", dir)
	engine.restore()
	if !regexpLine(first.Stdout, "linux/amd64", " bk ", "0/2") || !strings.Contains(first.Stderr, cache) {
		t.Fatalf("the first build (on bk, exporting to %s):\n%s\n%s", cache, first.Stdout, tail(first.Stderr, 1500))
	}
	daemon.cutOff() // the warm node dark: the rebuild moves, and imports the builder's cache
	if err := os.WriteFile(filepath.Join(dir, "late.txt"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s", dir).Stdout
	if !regexpLine(out, "linux/amd64", " eng ", "1/2") {
		t.Errorf("the rebuild on the other node did not find its slow step in the builder's cache:\n%s", out)
	}
}
