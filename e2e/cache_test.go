//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

type cacheUsage struct {
	Node        string
	Records     int
	Size        int64
	Reclaimable int64
	Error       string
}

// Issue 22: du lists every node of a builder (an engine's BuildKit container and a BuildKit
// daemon) with its size; prune --keep-storage brings each node under the size; both name a node
// that does not answer, finish within --timeout, and still do the others.
func TestDuAndPruneEveryNode(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	daemon := newProxy(t, farm.BuildKitB)
	c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA)
	c.addBuildKit("bk", daemon.addr())
	builder := fmt.Sprintf("cache%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(builder)
	t.Cleanup(daemon.restore) // before the builder's removal
	c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", builder, "--node", "farm-a", "--node", "bk", "--emulate", "linux/arm64=farm-a", "--bootstrap"}, farmDriverOpts())...)
	dir := writeFiles(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN head -c 3000000 /dev/urandom > /blob-%d\n", farm.Busybox, time.Now().UnixNano())})
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", dir)

	du := func() []cacheUsage {
		var u []cacheUsage
		if err := json.Unmarshal([]byte(c.ok(time.Minute, "multiarch", "du", "--builder", builder, "--format", "json").Stdout), &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	usage := du()
	if len(usage) != 2 || usage[0].Node != "bk" || usage[1].Node != "farm-a" {
		t.Fatalf("du: %+v", usage)
	}
	for _, u := range usage {
		if u.Size < 3000000 || u.Records == 0 || u.Error != "" {
			t.Errorf("du of %s: %+v (the build wrote 3 MB there)", u.Node, u)
		}
	}
	table := c.ok(time.Minute, "multiarch", "du", "--builder", builder).Stdout
	if !regexpLine(table, "bk ", "ok") || !regexpLine(table, "farm-a ", "ok") || !regexpLine(table, "TOTAL") {
		t.Errorf("du's table:\n%s", table)
	}

	c.ok(2*time.Minute, "multiarch", "prune", "--builder", builder, "--keep-storage", "1MB", "--all", "--force")
	for _, u := range du() {
		if u.Size > 1<<20 {
			t.Errorf("after prune --keep-storage 1MB, %s holds %d bytes", u.Node, u.Size)
		}
	}
	// buildx's newer limit, confirmed through a pipe as buildx reads it: each node at most 1 MB.
	dir = writeFiles(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN head -c 3000000 /dev/urandom > /blob-%d\n", farm.Busybox, time.Now().UnixNano())})
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", dir)
	if r := c.withStdin([]byte("n\n")).ok(time.Minute, "multiarch", "prune", "--builder", builder, "--max-used-space", "1MB", "--all"); !strings.Contains(r.Combined(), "nothing removed") {
		t.Errorf("prune answered n:\n%s", r.Combined())
	}
	var total int64
	for _, u := range du() {
		total += u.Size
	}
	if total < 3000000 {
		t.Errorf("after a prune answered n, the nodes hold %d bytes (the build wrote 3 MB)", total)
	}
	c.withStdin([]byte("y\n")).ok(2*time.Minute, "multiarch", "prune", "--builder", builder, "--max-used-space", "1MB", "--all")
	for _, u := range du() {
		if u.Size > 1<<20 {
			t.Errorf("after prune --max-used-space 1MB, %s holds %d bytes", u.Node, u.Size)
		}
	}

	// The daemon dark: both commands name it, within --timeout, and still answer for the engine.
	daemon.cutOff()
	for _, args := range [][]string{{"du"}, {"prune", "--force"}} {
		start := time.Now()
		r := c.run(time.Minute, slices.Concat([]string{"multiarch"}, args, []string{"--builder", builder, "--timeout", "3s"})...)
		took := time.Since(start)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "node bk") || !regexpLine(r.Stdout, "farm-a ", "ok") || !regexpLine(r.Stdout, "bk ", "did not answer") {
			t.Errorf("%s with a node dark: exit %d\n%s", args[0], r.ExitCode, r.Combined())
		}
		if took > 20*time.Second {
			t.Errorf("%s with a node dark took %s (--timeout 3s)", args[0], took)
		}
	}
}
