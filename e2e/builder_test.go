//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type builderJSON struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Nodes   []struct {
		Name       string   `json:"name"`
		BuildxNode string   `json:"buildxNode"`
		Endpoint   string   `json:"endpoint"`
		Platforms  []string `json:"platforms"`
		Status     string   `json:"status"`
		Error      string   `json:"error"`
		BuildKit   string   `json:"buildkit"`
	} `json:"nodes"`
}

func (c *cli) builders() map[string]builderJSON {
	c.t.Helper()
	return listByName(c, func(b builderJSON) string { return b.Name }, "multiarch", "ls")
}

// farmDriverOpts point buildx at the farm's BuildKit image, on the host network to reach the registry.
func farmDriverOpts() []string {
	return []string{"--driver-opt", "image=" + farm.BuildKitImage, "--driver-opt", "network=host"}
}

// farmNodes adds the two farm engines as nodes farm-a and farm-b.
func (c *cli) farmNodes() {
	c.t.Helper()
	c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA)
	c.ok(time.Minute, "multiarch", "node", "add", "farm-b", "--host", farm.EngineB)
}

// buildkitContainers lists the buildx BuildKit containers on an engine.
func (c *cli) buildkitContainers(engine string) []string {
	c.t.Helper()
	res := c.withHost(engine).ok(time.Minute, "ps", "-a", "--filter", "name=buildx_buildkit_", "--format", "{{.Names}}")
	return strings.Fields(res.Stdout)
}

// removeBuilderAtCleanup removes a builder (and its containers) however the test ends.
func (c *cli) removeBuilderAtCleanup(name string) {
	c.t.Cleanup(func() { c.run(2*time.Minute, "multiarch", "rm", name) })
}

// instanceFile is buildx's stored form of a builder.
func (c *cli) instanceFile(name string) []byte {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.config, "buildx", "instances", name))
	if err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	return b
}

// buildxPinned parses `docker buildx inspect`: each node's endpoint and its pinned (starred) platforms.
func (c *cli) buildxPinned(name string) map[string][]string {
	c.t.Helper()
	out := map[string][]string{}
	var endpoint string
	for _, line := range strings.Split(c.ok(time.Minute, "buildx", "inspect", name).Stdout, "\n") {
		key, val, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(key) {
		case "Endpoint":
			endpoint = strings.TrimSpace(val)
			out[endpoint] = []string{}
		case "Platforms":
			for _, p := range strings.Split(val, ",") {
				if p, ok := strings.CutSuffix(strings.TrimSpace(p), "*"); ok {
					out[endpoint] = append(out[endpoint], p)
				}
			}
		}
	}
	return out
}

func TestBuilderAcrossEngines(t *testing.T) {
	c := newCLI(t).withBuildx()
	c.farmNodes()
	c.removeBuilderAtCleanup("multiarch")
	res := c.ok(3*time.Minute, append([]string{"multiarch", "create", "--bootstrap", "--use"}, farmDriverOpts()...)...)
	if strings.TrimSpace(res.Stdout) != "multiarch" || !strings.Contains(res.Stderr, "created") {
		t.Errorf("create printed %q / %q", res.Stdout, res.Stderr)
	}
	// --bootstrap shows each node booting in BuildKit's progress display, as buildx does.
	for _, n := range []string{"multiarch-farm-a", "multiarch-farm-b"} {
		if !strings.Contains(res.Stderr, "["+n+" internal] booting buildkit") {
			t.Errorf("create --bootstrap does not show %s booting:\n%s", n, res.Stderr)
		}
	}

	b, ok := c.builders()["multiarch"]
	if !ok || !b.Current || len(b.Nodes) != 2 {
		t.Fatalf("ls: %+v", b)
	}
	for i, want := range []struct{ node, endpoint string }{{"farm-a", farm.EngineA}, {"farm-b", farm.EngineB}} {
		n := b.Nodes[i]
		if n.Name != want.node || n.Endpoint != want.endpoint || !slices.Equal(n.Platforms, []string{"linux/amd64"}) ||
			n.Status != "running" || n.BuildKit != farmBuildKitVersion() {
			t.Errorf("node %d = %+v", i, n)
		}
	}
	// Each engine runs its node's BuildKit.
	if got := c.buildkitContainers(farm.EngineA); !slices.Contains(got, "buildx_buildkit_multiarch-farm-a") {
		t.Errorf("engine A runs %v", got)
	}
	if got := c.buildkitContainers(farm.EngineB); !slices.Contains(got, "buildx_buildkit_multiarch-farm-b") {
		t.Errorf("engine B runs %v", got)
	}
	// Stock buildx sees the same builder, nodes and pinned platforms, and builds with it.
	pinned := c.buildxPinned("multiarch")
	if want := map[string][]string{"farm-a": {"linux/amd64"}, "farm-b": {"linux/amd64"}}; !mapsEqual(pinned, want) {
		t.Errorf("docker buildx inspect: pinned %v, want %v", pinned, want)
	}
	if !strings.Contains(c.ok(time.Minute, "buildx", "ls").Stdout, "multiarch*") {
		t.Error("docker buildx ls does not show multiarch as the current builder")
	}
	ref := fmt.Sprintf("%s/e2e/builder-interop:%d", farm.Registry, time.Now().UnixNano())
	c.ok(5*time.Minute, "buildx", "build", "--builder", "multiarch", "--platform", "linux/amd64", "--provenance", "false",
		"-t", ref, "--push", contextDir(t, "FROM "+farm.Busybox+"\nRUN echo built > /built\n"))
	repo, tag := splitRef(t, ref)
	if tags := newRegistryClient(t).tags(repo); !slices.Contains(tags, tag) {
		t.Errorf("buildx build with the builder pushed tags %v, want %s", tags, tag)
	}

	// Running create again changes nothing.
	before := c.instanceFile("multiarch")
	res = c.ok(3*time.Minute, append([]string{"multiarch", "create"}, farmDriverOpts()...)...)
	if !strings.Contains(res.Stderr, "up to date") || !bytes.Equal(before, c.instanceFile("multiarch")) {
		t.Errorf("a second create changed the builder: %q", res.Stderr)
	}

	// A node the builder uses cannot be removed.
	res = c.run(time.Minute, "multiarch", "node", "rm", "farm-b")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `builder "multiarch"`) || !slices.Contains(c.contextNames(), "farm-b") {
		t.Errorf("node rm of a builder's node: exit %d, %q", res.ExitCode, res.Stderr)
	}

	// A new node is appended; dropping it with --node takes it out again.
	c.ok(time.Minute, "multiarch", "node", "add", "arm-emu", "--host", farm.EngineB, "--platform", "linux/arm64")
	res = c.ok(3*time.Minute, append([]string{"multiarch", "create"}, farmDriverOpts()...)...)
	if !strings.Contains(res.Stderr, "joined: arm-emu") {
		t.Errorf("create after node add: %q", res.Stderr)
	}
	if b := c.builders()["multiarch"]; len(b.Nodes) != 3 || b.Nodes[2].Name != "arm-emu" || !slices.Equal(b.Nodes[2].Platforms, []string{"linux/arm64"}) {
		t.Errorf("after append: %+v", b)
	}
	if pinned := c.buildxPinned("multiarch"); !slices.Equal(pinned["arm-emu"], []string{"linux/arm64"}) {
		t.Errorf("buildx sees arm-emu pinned to %v", pinned["arm-emu"])
	}
	c.ok(3*time.Minute, append([]string{"multiarch", "create", "--node", "farm-a", "--node", "farm-b"}, farmDriverOpts()...)...)
	if b := c.builders()["multiarch"]; len(b.Nodes) != 2 {
		t.Errorf("after dropping arm-emu: %+v", b)
	}

	// rm removes the builder and its BuildKit containers on both engines.
	res = c.ok(3*time.Minute, "multiarch", "rm", "multiarch")
	if strings.Contains(res.Stderr, "WARNING") {
		t.Errorf("rm: %q", res.Stderr)
	}
	for engine, name := range map[string]string{farm.EngineA: "buildx_buildkit_multiarch-farm-a", farm.EngineB: "buildx_buildkit_multiarch-farm-b"} {
		if slices.Contains(c.buildkitContainers(engine), name) {
			t.Errorf("rm left %s on %s", name, engine)
		}
	}
	if _, ok := c.builders()["multiarch"]; ok || strings.Contains(c.ok(time.Minute, "buildx", "ls").Stdout, "multiarch") {
		t.Error("the removed builder is still listed")
	}
}

func TestBuilderFailedUpdateLeavesItUnchanged(t *testing.T) {
	c := newCLI(t).withBuildx()
	c.farmNodes()
	name := fmt.Sprintf("keep%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(name)
	c.ok(3*time.Minute, append([]string{"multiarch", "create", name, "--emulate", "linux/arm/v7=farm-b"}, farmDriverOpts()...)...)
	before := c.instanceFile(name)
	if pinned := c.buildxPinned(name); !slices.Equal(pinned["farm-b"], []string{"linux/amd64", "linux/arm/v7"}) {
		t.Fatalf("farm-b pinned to %v", pinned["farm-b"])
	}

	silent := silentListener(t)
	c.ok(time.Minute, "multiarch", "node", "add", "dead", "--host", silent, "--platform", "linux/arm64", "--timeout", "1s")
	start := time.Now()
	res := c.run(time.Minute, append([]string{"multiarch", "create", name, "--timeout", "2s"}, farmDriverOpts()...)...)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("create with an unreachable node took %s with a 2s deadline", took)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"dead"`) || !strings.Contains(res.Stderr, silent) {
		t.Errorf("create with an unreachable node: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if after := c.instanceFile(name); !bytes.Equal(before, after) {
		t.Errorf("a failed create changed the stored builder:\n%s\n->\n%s", before, after)
	}

	// A driver option buildx rejects fails only after the builder is written: it must be put back.
	c.ok(time.Minute, "multiarch", "node", "rm", "dead")
	res = c.run(time.Minute, "multiarch", "create", name, "--emulate", "linux/arm64=farm-a", "--driver-opt", "bogus-option=1")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "bogus-option") {
		t.Errorf("create with a bad driver option: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if after := c.instanceFile(name); !bytes.Equal(before, after) {
		t.Errorf("a rolled-back create changed the stored builder:\n%s\n->\n%s", before, after)
	}
	if pinned := c.buildxPinned(name); !slices.Equal(pinned["farm-b"], []string{"linux/amd64", "linux/arm/v7"}) {
		t.Errorf("after rollback farm-b is pinned to %v", pinned["farm-b"])
	}
	// And a new builder that fails leaves nothing behind.
	res = c.run(time.Minute, "multiarch", "create", "never", "--driver-opt", "bogus-option=1")
	if res.ExitCode == 0 || c.instanceFile("never") != nil {
		t.Errorf("failed create of a new builder: exit %d, stored %q", res.ExitCode, c.instanceFile("never"))
	}
}

func TestBuilderBadInput(t *testing.T) {
	bare := newCLI(t)
	res := bare.run(time.Minute, "multiarch", "create")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "node add") {
		t.Errorf("create without nodes: exit %d, %q", res.ExitCode, res.Stderr)
	}

	c := newCLI(t).withBuildx()
	c.farmNodes()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "default"}, `"default"`},
		{[]string{"create", "1bad"}, `"1bad"`},
		{[]string{"create", "a", "b"}, "at most 1 argument"},
		{[]string{"create", "--node", "nosuch"}, `"nosuch"`},
		{[]string{"create", "--emulate", "linux/arm64"}, `"linux/arm64"`},
		{[]string{"create", "--emulate", "linux/sparc=farm-a"}, "linux/sparc"},
		{[]string{"create", "--emulate", "linux/arm64=nosuch"}, `"nosuch"`},
		{[]string{"create", "--driver-opt", "image"}, `"image"`},
		{[]string{"create", "--buildkitd-config", "/nonexistent/buildkitd.toml"}, "/nonexistent/buildkitd.toml"},
		{[]string{"create", "--timeout", "0s"}, "timeout"},
		{[]string{"ls", "--format", "yaml"}, `"yaml"`},
		{[]string{"rm", "nosuch"}, `"nosuch"`},
		{[]string{"rm"}, "requires 1 argument"},
	} {
		res := c.run(time.Minute, append([]string{"multiarch"}, tc.args...)...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("multiarch %s: exit %d, stderr %q; want an error naming %s", strings.Join(tc.args, " "), res.ExitCode, res.Stderr, tc.want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(c.config, "buildx", "instances")); len(entries) != 0 {
		t.Errorf("bad input stored builders: %v", entries)
	}
}

// contextDir writes a Dockerfile into a fresh build context.
func contextDir(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
