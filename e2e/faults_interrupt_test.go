//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowContext is a build whose RUN step sleeps long enough to be interrupted in the middle.
func slowContext(t *testing.T, seconds string) string {
	return writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nARG NONCE\nRUN echo $NONCE && sleep " + seconds + " && uname -m > /arch\n"})
}

// tempEntries lists this machine's temp dir entries a plugin could leave behind.
func tempEntries(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "multiarch-") || strings.HasPrefix(e.Name(), "buildkit") {
			out = append(out, e.Name())
		}
	}
	return out
}

// historyRecord is one build a node's BuildKit remembers.
type historyRecord struct {
	Platform string
	Nonce    string
	Error    string
	Attrs    map[string]string // the frontend's attributes, as BuildKit recorded them
	Pushed   []string          // the image exporters' names
}

// nodeRecords reads a builder node's BuildKit build history (buildctl debug histories).
func (c *cli) nodeRecords(engine, builder, node string) []historyRecord {
	c.t.Helper()
	res := c.withHost(engine).run(time.Minute, "exec", "buildx_buildkit_"+builder+"-"+node,
		"buildctl", "debug", "histories", "--format", "{{json .}}")
	if res.ExitCode != 0 {
		c.t.Fatalf("buildctl debug histories on %s: %s", node, res.Stderr)
	}
	var out []historyRecord
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		var ev struct {
			Record struct {
				FrontendAttrs map[string]string
				Error         *struct{ Message string }
				Exporters     []struct{ Attrs map[string]string }
			} `json:"record"`
		}
		if line == "" || json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		r := historyRecord{Platform: ev.Record.FrontendAttrs["platform"], Nonce: ev.Record.FrontendAttrs["build-arg:NONCE"], Attrs: ev.Record.FrontendAttrs}
		for _, e := range ev.Record.Exporters {
			r.Pushed = append(r.Pushed, e.Attrs["name"])
		}
		if ev.Record.Error != nil {
			r.Error = ev.Record.Error.Message
		}
		out = append(out, r)
	}
	return out
}

// waitCancelled waits until a node's BuildKit records the build with this nonce as cancelled.
func (c *cli) waitCancelled(engine, builder, node, nonce string) {
	c.t.Helper()
	var seen []historyRecord
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(300 * time.Millisecond) {
		seen = c.nodeRecords(engine, builder, node)
		for _, r := range seen {
			if r.Nonce == nonce && strings.Contains(r.Error, "cancel") {
				return
			}
		}
	}
	c.t.Errorf("%s's BuildKit does not show the interrupted solve cancelled: %+v", node, seen)
}

func nonce() string { return time.Now().Format("150405.000000000") }

// Ctrl-C at a terminal in the middle of the solves: the build stops within seconds with 130,
// every node's BuildKit cancels its solve, no tag moves and no temp dir is left.
func TestFaultsCtrlCDuringSolve(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("ctrlc")
	ref := farm.Registry + "/" + repo + ":v1"
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "-t", ref, "--push", "--progress", "quiet", copyContext(t, "v0"))
	before := tagDigest(t, repo, "v1")
	temps := tempEntries(t)

	n := nonce()
	p := c.startTTY("multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "-t", ref, "--push",
		"--progress", "plain", "--build-arg", "NONCE="+n, slowContext(t, "30"))
	p.waitOutput("sleep 30", 3*time.Minute)
	time.Sleep(2 * time.Second) // both RUN steps are running on their nodes
	p.interrupt()
	code, took := p.waitExit(30 * time.Second)
	if code != 130 || took > 5*time.Second {
		t.Errorf("Ctrl-C: exit %d after %s, want 130 within 5s\n%s", code, took, tail(p.output(), 1500))
	}
	if after := tagDigest(t, repo, "v1"); after != before {
		t.Errorf("the interrupted build moved %s from %s to %s", ref, before, after)
	}
	if got := tempEntries(t); !slices.Equal(got, temps) {
		t.Errorf("temp entries before %v, after %v", temps, got)
	}
	c.waitCancelled(farm.EngineA, builder, "farm-a", n)
	c.waitCancelled(farm.EngineB, builder, "farm-b", n)
}

// Ctrl-C while the tags are being moved: the tags already moved are put back.
func TestFaultsCtrlCDuringPublish(t *testing.T) {
	c, builder := buildFarm(t)
	px := newFaultProxy(t, "http://"+farm.Registry)
	repo := uniqueRepo("ctrlc-publish")
	ref := func(tag string) string { return px.addr() + "/" + repo + ":" + tag }
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "-t", ref("t1"), "-t", ref("t2"),
		"--push", "--progress", "quiet", copyContext(t, "v0"))
	before := tagsAt(t, repo, "t1", "t2")

	t2 := "^/v2/" + regexp.QuoteMeta(repo) + "/manifests/t2$"
	px.hang(http.MethodPut, t2)
	puts := px.count(http.MethodPut, t2)
	p := c.startTTY("multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "-t", ref("t1"), "-t", ref("t2"),
		"--push", "--progress", "plain", "--timeout", "2s", copyContext(t, "v1"))
	waitCount(t, px, http.MethodPut, t2, puts+1, 3*time.Minute) // t1 has moved, t2 is in flight
	p.interrupt()
	code, took := p.waitExit(30 * time.Second)
	if code != 130 || took > 5*time.Second {
		t.Errorf("Ctrl-C during publish: exit %d after %s, want 130 within 5s\n%s", code, took, tail(p.output(), 1500))
	}
	if now := tagsAt(t, repo, "t1", "t2"); now["t1"] != before["t1"] || now["t2"] != before["t2"] {
		t.Errorf("tags before %v, after the interrupt %v\n%s", before, now, tail(p.output(), 1500))
	}
	if !strings.Contains(p.output(), ref("t1")) {
		t.Errorf("the output does not say where t1 is:\n%s", tail(p.output(), 1500))
	}
}

// CI cancelling a job: SIGTERM to the docker CLI, without a terminal. The CLI tells the plugin
// through its socket; the build stops within seconds with 143.
func TestFaultsSIGTERMToTheDockerCLI(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("sigterm")
	ref := farm.Registry + "/" + repo + ":v1"
	n := nonce()
	p := c.startBackground("multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "-t", ref, "--push",
		"--progress", "plain", "--build-arg", "NONCE="+n, slowContext(t, "30"))
	p.waitOutput("sleep 30", 3*time.Minute)
	time.Sleep(time.Second)
	p.signal(syscall.SIGTERM)
	code, took := p.waitExit(30 * time.Second)
	if code != 143 || took > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %s, want 143 within 5s\n%s", code, took, tail(p.output(), 1500))
	}
	if slices.Contains(c.reg().catalog(), repo) {
		t.Error("the cancelled build pushed something")
	}
	c.waitCancelled(farm.EngineA, builder, "farm-a", n)
}

// An interrupted engine-strategy build leaves no image and no container on its node.
func TestFaultsInterruptedEngineBuildLeavesNothing(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-a")
	a := c.withHost(farm.EngineA)
	a.ok(2*time.Minute, "pull", "-q", farm.Busybox) // the base the build pulls is not the build's own
	images := func() []string {
		out := strings.Fields(a.ok(time.Minute, "images", "-a", "-q", "--no-trunc").Stdout)
		slices.Sort(out)
		return slices.Compact(out)
	}
	containers := func() []string { return strings.Fields(a.ok(time.Minute, "ps", "-a", "-q").Stdout) }
	imagesBefore, containersBefore := images(), containers()

	p := c.startBackground("multiarch", "build", "--builder", builder, "--strategy", "engine", "--platform", "linux/amd64",
		"-t", farm.Registry+"/"+uniqueRepo("engine-int")+":v1", "--push", "--build-arg", "NONCE="+nonce(),
		writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nARG NONCE\nRUN echo $NONCE > /n\nRUN sleep 30\n"}))
	p.waitOutput("Step 4/4 : RUN sleep 30", 3*time.Minute) // step 3 committed an image of the build's own
	time.Sleep(time.Second)
	p.signalGroup(syscall.SIGTERM)
	code, took := p.waitExit(30 * time.Second)
	if code != 143 || took > 5*time.Second {
		t.Errorf("SIGTERM: exit %d after %s, want 143 within 5s\n%s", code, took, tail(p.output(), 1500))
	}
	var imagesAfter []string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if imagesAfter = images(); slices.Equal(imagesAfter, imagesBefore) && slices.Equal(containers(), containersBefore) {
			return
		}
	}
	t.Errorf("images before %v, after %v; containers before %v, after %v", imagesBefore, imagesAfter, containersBefore, containers())
}

// A node whose engine answers but whose BuildKit froze (its container paused), and a node whose
// engine froze (SIGSTOP): the build stops at the deadline naming the node; the tag does not move.
func TestFaultsFrozenNode(t *testing.T) {
	c, builder := buildFarm(t) // linux/arm64 is emulated on farm-b
	repo := uniqueRepo("frozen")
	ref := farm.Registry + "/" + repo + ":v1"
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/arm64", "-t", ref, "--push", "--progress", "quiet", copyContext(t, "v0"))
	before := tagDigest(t, repo, "v1")
	container := "buildx_buildkit_" + builder + "-farm-b"
	b := c.withHost(farm.EngineB)
	pidFile := filepath.Join(filepath.Dir(strings.TrimPrefix(farm.EngineB, "unix://")), "dockerd.pid")

	for _, tc := range []struct {
		name           string
		freeze, thaw   func()
		wantInTheError string
	}{
		{"BuildKit paused", func() { b.ok(time.Minute, "pause", container) }, func() { b.run(time.Minute, "unpause", container) }, "its BuildKit"},
		{"engine stopped", func() { signalPidFile(t, pidFile, syscall.SIGSTOP) }, func() { signalPidFile(t, pidFile, syscall.SIGCONT) }, `node "farm-b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(tc.thaw) // runs before the builder's removal, which needs the node
			go func() { time.Sleep(4 * time.Second); tc.freeze() }()
			start := time.Now()
			res := c.run(2*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/arm64", "--no-cache",
				"-t", ref, "--push", "--timeout", "3s", slowContext(t, "20"))
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the build took %s with the node frozen 4s into a 20s step and --timeout 3s", took)
			}
			if res.ExitCode == 0 || !strings.Contains(res.Stderr, `node "farm-b"`) || !strings.Contains(res.Stderr, "stopped answering") ||
				!strings.Contains(res.Stderr, tc.wantInTheError) {
				t.Errorf("exit %d, stderr %s", res.ExitCode, tail(res.Stderr, 800))
			}
			tc.thaw()
			if after := tagDigest(t, repo, "v1"); after != before {
				t.Errorf("the tag moved from %s to %s", before, after)
			}
		})
	}
}

func signalPidFile(t *testing.T, path string, sig syscall.Signal) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Error(err)
		return
	}
	if err := syscall.Kill(pid, sig); err != nil {
		t.Errorf("signal %s to dockerd %d: %v", sig, pid, err)
	}
}

// A second Ctrl-C exits at once, even while the first one's clean-up waits on a registry.
func TestFaultsSecondCtrlCExitsAtOnce(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-a")
	px := newFaultProxy(t, "http://"+farm.Registry)
	repo := uniqueRepo("ctrlc-twice")
	tag := "^/v2/" + regexp.QuoteMeta(repo) + "/manifests/v1$"
	px.hang(http.MethodPut, tag)
	p := c.startTTY("multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "-t", px.addr()+"/"+repo+":v1",
		"--push", "--progress", "plain", "--timeout", "60s", copyContext(t, "twice"))
	waitCount(t, px, http.MethodPut, tag, 1, 3*time.Minute)
	p.interrupt() // the clean-up now waits (up to 60s) on the hung registry
	p.waitOutput("again to exit at once", 10*time.Second)
	p.interrupt()
	if code, took := p.waitExit(30 * time.Second); code != 130 || took > 2*time.Second {
		t.Errorf("second Ctrl-C: exit %d after %s, want 130 at once\n%s", code, took, tail(p.output(), 1500))
	}
}
