//go:build e2e

package e2e

import (
	"context"
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

// bkNodeJSON is the part of a `node ls --format json` entry that BuildKit nodes add.
type bkNodeJSON struct {
	nodeJSON
	Kind     string `json:"kind"`
	Running  *int   `json:"running"`
	BuildKit *struct {
		Version   string   `json:"version"`
		Platforms []string `json:"platforms"`
		Emulated  []string `json:"emulated"`
	} `json:"buildkit"`
}

func needBuildKitFarm(t *testing.T) {
	t.Helper()
	if farm.BuildKitA == "" || farm.BuildKitB == "" || farm.BuildKitTLS == "" {
		t.Fatal("the farm has no buildkitd (bring it up again: e2e/farm/farm.sh up)")
	}
}

// bkTLS are the TLS flags of node add for the farm's buildkitds: their CA and a client certificate.
func bkTLS(extra ...string) []string {
	f := func(name string) string { return filepath.Join(farm.BuildKitTLS, name) }
	return append([]string{"--tls-cacert", f("ca.pem"), "--tls-cert", f("cert.pem"), "--tls-key", f("key.pem")}, extra...)
}

// addBuildKit adds a farm buildkitd (or a proxy to one) as a node.
func (c *cli) addBuildKit(name, addr string, extra ...string) result {
	c.t.Helper()
	return c.ok(time.Minute, slices.Concat([]string{"multiarch", "node", "add", name, "--buildkit", addr}, bkTLS(extra...))...)
}

func (c *cli) bkNodes() map[string]bkNodeJSON {
	c.t.Helper()
	return listByName(c, func(n bkNodeJSON) string { return n.Name }, "multiarch", "node", "ls")
}

// historyPlatforms are the platforms of the builds a BuildKit recorded with build-arg NONCE=nonce,
// from `buildctl debug histories` (JSON lines) run by run.
func historyPlatforms(t *testing.T, out, nonce string) []string {
	t.Helper()
	var plats []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct {
			Record struct{ FrontendAttrs map[string]string } `json:"record"`
		}
		if line == "" || json.Unmarshal([]byte(line), &ev) != nil || ev.Record.FrontendAttrs["build-arg:NONCE"] != nonce {
			continue
		}
		if p := ev.Record.FrontendAttrs["platform"]; !slices.Contains(plats, p) {
			plats = append(plats, p)
		}
	}
	slices.Sort(plats)
	return plats
}

// daemonHistory is what a farm buildkitd built with NONCE=nonce, asked with the farm's buildctl.
func (c *cli) daemonHistory(addr, nonce string) []string {
	c.t.Helper()
	f := func(name string) string { return filepath.Join(farm.BuildKitTLS, name) }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(farm.Bin, "buildctl"), "--addr", addr, "--tlscacert", f("ca.pem"),
		"--tlscert", f("cert.pem"), "--tlskey", f("key.pem"), "debug", "histories", "--format", "{{json .}}").Output()
	if err != nil {
		c.t.Fatalf("buildctl debug histories at %s: %v", addr, err)
	}
	return historyPlatforms(c.t, string(out), nonce)
}

// containerHistory is what an engine node's BuildKit container built with NONCE=nonce.
func (c *cli) containerHistory(engine, builder, node, nonce string) []string {
	c.t.Helper()
	res := c.withHost(engine).ok(time.Minute, "exec", "buildx_buildkit_"+builder+"-"+node,
		"buildctl", "debug", "histories", "--format", "{{json .}}")
	return historyPlatforms(c.t, res.Stdout, nonce)
}

func nonceContext(t *testing.T, sleep int) string {
	return writeFiles(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nARG NONCE\nRUN echo $NONCE && sleep %d && uname -m > /arch\n", farm.Busybox, sleep)})
}

// node add --buildkit asks the daemon for its workers: its native platform recorded, the emulated
// ones shown; its TLS files kept 0600 in the context store; a missing client certificate or
// another CA refused, naming the node and the daemon.
func TestBuildKitNodesAdd(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	add := c.addBuildKit("bk-a", farm.BuildKitA)
	if !strings.Contains(add.Stderr, "linux/amd64, detected from BuildKit") || !strings.Contains(add.Stderr, "linux/arm64") {
		t.Errorf("node add: %s", add.Stderr)
	}
	c.refusedBuildKitAdds()
	c.addBuildKit("bk-b", farm.BuildKitB, "--tls-servername", "buildkitd.farm")
	c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA)
	nodes := c.bkNodes()
	for _, name := range []string{"bk-a", "bk-b"} {
		n := nodes[name]
		if n.Kind != "buildkit" || n.Status != "ok" || !slices.Equal(n.Platforms, []string{"linux/amd64"}) || n.PlatformSource != "buildkit" ||
			n.BuildKit == nil || n.BuildKit.Version != farmBuildKitVersion() || n.BuildKit.Platforms[0] != "linux/amd64" ||
			!slices.Contains(n.BuildKit.Emulated, "linux/arm64") || slices.Contains(n.BuildKit.Emulated, "linux/amd64") || n.Running == nil {
			t.Errorf("node ls %s: %+v (buildkit %+v)", name, n, n.BuildKit)
		}
	}
	if n := nodes["farm-a"]; n.Kind != "engine" || n.Running == nil || *n.Running != 0 {
		t.Errorf("node ls farm-a: %+v", n)
	}
	table := c.ok(time.Minute, "multiarch", "node", "ls").Stdout
	if !regexpLine(table, "bk-a", "buildkit", farm.BuildKitA, "linux/amd64", "ok", farmBuildKitVersion(), "0") {
		t.Errorf("node ls table:\n%s", table)
	}
	// BuildKit nodes are not Docker contexts (they have no Docker endpoint): docker context ls and
	// docker buildx ls do not show them as broken; their TLS files are kept 0600 beside the contexts.
	ls := c.ok(time.Minute, "context", "ls", "--format", "{{.Name}}|{{.Error}}").Stdout
	if strings.Contains(ls, "bk-") || !strings.Contains(ls, "farm-a|\n") {
		t.Errorf("docker context ls:\n%s", ls)
	}
	if bx := c.run(time.Minute, "buildx", "ls"); strings.Contains(bx.Stdout+bx.Stderr, "bk-") || strings.Contains(bx.Stderr, "Cannot load builder bk") {
		t.Errorf("docker buildx ls:\n%s\n%s", bx.Stdout, bx.Stderr)
	}
	files, _ := filepath.Glob(filepath.Join(c.config, "contexts", "multiarch-buildkit", "tls", "*", "buildkit", "*.pem"))
	if len(files) != 6 {
		t.Errorf("TLS files %v, want ca, cert and key of both daemons", files)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st.Mode(), err)
		}
	}

	// The same daemon twice is refused.
	if res := c.run(time.Minute, slices.Concat([]string{"multiarch", "node", "add", "again", "--buildkit", farm.BuildKitA}, bkTLS())...); res.ExitCode == 0 ||
		!strings.Contains(res.Stderr, `node "bk-a" already is BuildKit`) {
		t.Errorf("the same daemon twice: exit %d, %s", res.ExitCode, res.Stderr)
	}
	c.ok(time.Minute, "multiarch", "node", "rm", "bk-a", "bk-b")
	if left, _ := filepath.Glob(filepath.Join(c.config, "contexts", "multiarch-buildkit", "*", "*")); len(left) != 0 {
		t.Errorf("after node rm: %v", left)
	}
}

// refusedBuildKitAdds: no client certificate, or the engines' CA instead of the daemons', is
// refused naming the node and the daemon, and nothing is written.
func (c *cli) refusedBuildKitAdds() {
	c.t.Helper()
	t := c.t
	ca := filepath.Join(farm.BuildKitTLS, "ca.pem")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no-cert", []string{"--tls-cacert", ca}, "--tls-cert"},
		{"other-ca", []string{"--tls-cacert", filepath.Join(farm.TLSDir, "ca.pem"), "--tls-cert", filepath.Join(farm.BuildKitTLS, "cert.pem"),
			"--tls-key", filepath.Join(farm.BuildKitTLS, "key.pem")}, "certificate signed by unknown authority"},
	} {
		res := c.run(time.Minute, slices.Concat([]string{"multiarch", "node", "add", tc.name, "--buildkit", farm.BuildKitB, "--timeout", "10s"}, tc.args)...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, `node "`+tc.name+`"`) || !strings.Contains(res.Stderr, farm.BuildKitB) ||
			!strings.Contains(res.Stderr, tc.want) {
			t.Errorf("%s: exit %d, %s", tc.name, res.ExitCode, res.Stderr)
		}
		if slices.Contains(c.contextNames(), tc.name) {
			t.Errorf("%s: a refused node left its context", tc.name)
		}
	}
}

// A builder of an engine node and a BuildKit node: two buildx builders (docker-container and
// remote), one 2-platform image pushed as one verified tag, each node's BuildKit holding its
// platform's build.
func TestBuildKitNodesMixedBuilder(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA)
	c.addBuildKit("bk-a", farm.BuildKitA)
	builder := fmt.Sprintf("mix%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(builder)
	create := c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", builder, "--node", "farm-a", "--node", "bk-a",
		"--emulate", "linux/arm64=bk-a", "--bootstrap"}, farmDriverOpts())...)
	if !strings.Contains(create.Stderr, builder+"-buildkit (remote)") {
		t.Errorf("create: %s", create.Stderr)
	}
	ls := c.ok(time.Minute, "buildx", "ls").Stdout
	if !regexpLine(ls, builder, "docker-container") || !regexpLine(ls, builder+"-buildkit", "remote") || !regexpLine(ls, farm.BuildKitA, "running") {
		t.Errorf("docker buildx ls:\n%s", ls)
	}
	if b := c.builders()[builder]; len(b.Nodes) != 2 {
		t.Errorf("multiarch ls: %+v", b)
	}

	nonce := fmt.Sprint(time.Now().UnixNano())
	repo := uniqueRepo("bkmix")
	ref := farm.Registry + "/" + repo + ":v1"
	res := c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64",
		"--build-arg", "NONCE="+nonce, "-t", ref, "--push", "--progress", "plain", nonceContext(t, 0))
	if !regexpLine(res.Stdout, "linux/amd64", "farm-a", "sha256:") || !regexpLine(res.Stdout, "linux/arm64", "bk-a", "sha256:") {
		t.Errorf("summary:\n%s", res.Stdout)
	}
	reg := c.reg()
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("%s has tags %v, want only v1", repo, tags)
	}
	if got := imagePlatforms(reg.index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", got)
	}
	if got := c.containerHistory(farm.EngineA, builder, "farm-a", nonce); !slices.Equal(got, []string{"linux/amd64"}) {
		t.Errorf("farm-a's BuildKit built %v", got)
	}
	if got := c.daemonHistory(farm.BuildKitA, nonce); !slices.Equal(got, []string{"linux/arm64"}) {
		t.Errorf("bk-a built %v", got)
	}

	// The engine strategy names the daemon as unable; a node in the builder cannot go.
	if res := c.run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/arm64", "--strategy", "engine", "--dry-run", nonceContext(t, 0)); res.ExitCode == 0 ||
		!strings.Contains(res.Stderr, "bk-a is a BuildKit daemon") {
		t.Errorf("--strategy engine: exit %d, %s", res.ExitCode, res.Stderr)
	}
	if res := c.run(time.Minute, "multiarch", "node", "rm", "bk-a"); res.ExitCode == 0 || !strings.Contains(res.Stderr, `builder "`+builder+`"`) {
		t.Errorf("node rm of a builder's daemon: exit %d, %s", res.ExitCode, res.Stderr)
	}
}

// Two nodes for linux/amd64, an engine and a buildkitd (each behind a proxy that can go dark):
// two builds at once land on different nodes; with the daemon dark a build runs on the engine and
// warns; with both dark it fails at the deadline naming both.
func TestBuildKitNodesPool(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	engine, daemon, builder := c.proxiedPool("pool")

	dir := nonceContext(t, 4)
	plan := c.ok(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--dry-run", dir).Stdout
	// Either node, the other the alternative: a node that built the same Dockerfile before (another
	// test's, in a folder of the same name) is warm, as its cache holds those steps.
	if !regexpLine(plan, "linux/amd64", "eng", "0", "Dockerfile", "bk (0 running)") && !regexpLine(plan, "linux/amd64", "bk", "0", "Dockerfile", "eng (0 running)") {
		t.Errorf("the plan shows no choice:\n%s", plan)
	}

	c.concurrentBuildsSpread(builder, dir)

	// The daemon dark: the build runs on the engine, warning of the daemon.
	daemon.cutOff()
	res := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s",
		"--build-arg", "NONCE=dark", "--progress", "plain", dir)
	if !regexpLine(res.Stdout, "linux/amd64", "eng") || !strings.Contains(res.Stderr, `WARNING: node "bk" (`+daemon.addr()+`) did not answer`) {
		t.Errorf("with the daemon dark:\n%s\n%s", res.Stdout, tail(res.Stderr, 800))
	}
	// Both dark: nothing runs, and the build stops at the deadline naming both.
	engine.cutOff()
	start := time.Now()
	res = c.run(2*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s", dir)
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("with both nodes dark the build took %s (--timeout 3s)", took)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `node "eng" (`+engine.addr()+`)`) || !strings.Contains(res.Stderr, `node "bk" (`+daemon.addr()+`)`) {
		t.Errorf("with both dark: exit %d, %s", res.ExitCode, res.Stderr)
	}
}

// concurrentBuildsSpread starts two linux/amd64 builds at once on the pool: one lands on each
// node, as the summaries and the nodes' BuildKit histories show.
func (c *cli) concurrentBuildsSpread(builder, dir string) {
	c.t.Helper()
	t := c.t
	nonces := []string{fmt.Sprint("a", time.Now().UnixNano()), fmt.Sprint("b", time.Now().UnixNano())}
	var procs []*bgProc
	for _, n := range nonces {
		procs = append(procs, c.startBackground("multiarch", "build", "--builder", builder, "--platform", "linux/amd64",
			"--build-arg", "NONCE="+n, "--progress", "plain", dir))
	}
	var nodes []string
	for i, p := range procs {
		if code, _ := p.waitExit(5 * time.Minute); code != 0 {
			t.Fatalf("build %d: exit %d\n%s", i, code, tail(p.output(), 1500))
		}
		for _, node := range []string{"eng", "bk"} {
			if regexpLine(p.stdout.String(), "linux/amd64", node) { // the summary: platform, node, ...
				nodes = append(nodes, node)
			}
		}
	}
	slices.Sort(nodes)
	if !slices.Equal(nodes, []string{"bk", "eng"}) {
		t.Errorf("the two builds ran on %v, want one on each node", nodes)
	}
	onDaemon := slices.Concat(c.daemonHistory(farm.BuildKitB, nonces[0]), c.daemonHistory(farm.BuildKitB, nonces[1]))
	onEngine := slices.Concat(c.containerHistory(farm.EngineB, builder, "eng", nonces[0]), c.containerHistory(farm.EngineB, builder, "eng", nonces[1]))
	if len(onDaemon) != 1 || len(onEngine) != 1 {
		t.Errorf("histories: the daemon built %v, the engine's BuildKit %v; want one build each", onDaemon, onEngine)
	}
}

// A farm file declares a BuildKit daemon (mutual TLS, a server name) beside an engine: apply
// --dry-run writes nothing; apply adds the daemon as node add --buildkit does and makes the
// builder over both, which builds one verified 2-platform tag; a second apply writes nothing.
func TestBuildKitNodesInAFarmFile(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	builder := fmt.Sprintf("bkfarm%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(builder)
	tls := func(name string) string { return filepath.Join(farm.BuildKitTLS, name) }
	path := writeFarmFile(t, t.TempDir(), "nodes:\n  - name: farm-a\n    host: "+farm.EngineA+"\n"+
		"  - name: bk-b\n    buildkit: "+farm.BuildKitB+"\n    tls: {ca: "+tls("ca.pem")+", cert: "+tls("cert.pem")+", key: "+tls("key.pem")+", servername: buildkitd.farm}\n"+
		"builders:\n  - name: "+builder+"\n    emulate: {linux/arm64: bk-b}\n    driver-opts: [image="+farm.BuildKitImage+", network=host]\n")
	created := map[string]string{"node farm-a": "create", "node bk-b": "create", "builder " + builder: "create"}
	empty := c.storeHashes()
	allow := "--allow=fs.read=" + farm.BuildKitTLS // the TLS files are outside the farm file's folder
	got, _ := c.apply(path, "--dry-run", allow)
	wantActions(t, "dry run", got, created)
	if ch := got["node bk-b"].Changes; !slices.Equal(ch, []string{"BuildKit daemon " + farm.BuildKitB, "platforms linux/amd64 (detected)"}) {
		t.Errorf("bk-b would be created with %q", ch)
	}
	if changed := changedPaths(empty, c.storeHashes()); len(changed) != 0 {
		t.Errorf("--dry-run wrote %v", changed)
	}
	got, _ = c.apply(path, allow)
	wantActions(t, "apply", got, created)
	if n := c.bkNodes()["bk-b"]; n.Kind != "buildkit" || n.Status != "ok" || n.BuildKit == nil || n.BuildKit.Version != farmBuildKitVersion() {
		t.Errorf("node ls bk-b: %+v", n)
	}
	if ls := c.ok(time.Minute, "buildx", "ls").Stdout; !regexpLine(ls, builder+"-buildkit", "remote") || !regexpLine(ls, farm.BuildKitB, "running") {
		t.Errorf("docker buildx ls:\n%s", ls)
	}
	repo := uniqueRepo("bkfarm")
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", "-t", farm.Registry+"/"+repo+":v1", "--push", nonceContext(t, 0))
	if got := imagePlatforms(c.reg().index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", got)
	}
	before := c.storeHashes()
	got, _ = c.apply(path, allow)
	wantActions(t, "second apply", got, map[string]string{"node farm-a": "unchanged", "node bk-b": "unchanged", "builder " + builder: "unchanged"})
	activity := filepath.Join("buildx", "activity", builder)
	if changed := slices.DeleteFunc(changedPaths(before, c.storeHashes()), func(p string) bool { return strings.HasPrefix(p, activity) }); len(changed) != 0 {
		t.Errorf("the second apply changed %v", changed)
	}
}

// proxiedPool is a builder (named from prefix, bootstrapped, with createArgs) of two nodes for
// linux/amd64, each behind a proxy that can go dark: "eng", engine b over TLS, and "bk", BuildKit
// daemon b. The proxies are restored at cleanup, before the builder's removal.
func (c *cli) proxiedPool(prefix string, createArgs ...string) (engine, daemon *proxy, builder string) {
	c.t.Helper()
	engine, daemon = newProxy(c.t, farm.EngineBTLS), newProxy(c.t, farm.BuildKitB)
	tls := func(name string) string { return filepath.Join(farm.TLSDir, name) }
	c.ok(time.Minute, "multiarch", "node", "add", "eng", "--host", engine.addr(),
		"--tlscacert", tls("ca.pem"), "--tlscert", tls("cert.pem"), "--tlskey", tls("key.pem"))
	c.addBuildKit("bk", daemon.addr())
	builder = fmt.Sprintf("%s%d", prefix, time.Now().UnixNano())
	c.removeBuilderAtCleanup(builder)
	c.t.Cleanup(func() { engine.restore(); daemon.restore() }) // before the builder's removal
	c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", builder, "--node", "eng", "--node", "bk", "--bootstrap"}, createArgs, farmDriverOpts())...)
	return engine, daemon, builder
}
