//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/testtls"
)

// nodeJSON is one entry of `node ls --format json`.
type nodeJSON struct {
	Name           string   `json:"name"`
	Endpoint       string   `json:"endpoint"`
	Platforms      []string `json:"platforms"`
	PlatformSource string   `json:"platformSource"`
	Adopted        bool     `json:"adopted"`
	Status         string   `json:"status"`
	Error          string   `json:"error"`
	Engine         struct {
		Version  string `json:"version"`
		OS       string `json:"os"`
		Arch     string `json:"arch"`
		Platform string `json:"platform"`
	} `json:"engine"`
}

func (c *cli) nodes(args ...string) map[string]nodeJSON {
	c.t.Helper()
	return listByName(c, func(n nodeJSON) string { return n.Name }, append([]string{"multiarch", "node", "ls"}, args...)...)
}

// listByName runs a list command with --format json and indexes its entries by name.
func listByName[T any](c *cli, name func(T) string, args ...string) map[string]T {
	c.t.Helper()
	args = append(args, "--format", "json")
	res := c.ok(time.Minute, args...)
	list, err := jsonLines[T](res.Stdout)
	if err != nil {
		c.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, res.Stdout)
	}
	out := map[string]T{}
	for _, e := range list {
		out[name(e)] = e
	}
	return out
}

// jsonLines decodes what a list command prints with --format json: one JSON object per line, as
// docker's list commands print them.
func jsonLines[T any](out string) ([]T, error) {
	var list []T
	for i, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e T
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		list = append(list, e)
	}
	return list, nil
}

func (c *cli) contextNames() []string {
	c.t.Helper()
	names := strings.Fields(c.ok(time.Minute, "context", "ls", "--format", "{{.Name}}").Stdout)
	slices.Sort(names)
	return names
}

func TestNodeAddDetectsTheEngines(t *testing.T) {
	c := newCLI(t)
	add := c.ok(time.Minute, "multiarch", "node", "add", "farm-a", "--host", farm.EngineA, "--description", "Debian's engine")
	if strings.TrimSpace(add.Stdout) != "farm-a" || !strings.Contains(add.Stderr, "linux/amd64") {
		t.Errorf("node add printed %q / %q", add.Stdout, add.Stderr)
	}
	c.ok(time.Minute, "multiarch", "node", "add", "farm-b", "--host", farm.EngineB)
	c.ok(time.Minute, "multiarch", "node", "add", "arm-node", "--host", farm.EngineB, "--platform", "linux/aarch64")

	nodes := c.nodes()
	for name, version := range map[string]string{"farm-a": farm.EngineAVersion, "farm-b": farm.EngineBVersion} {
		n := nodes[name]
		if !slices.Equal(n.Platforms, []string{"linux/amd64"}) || n.PlatformSource != "engine" || n.Status != "ok" ||
			n.Engine.Version != version || n.Engine.Arch != "x86_64" {
			t.Errorf("node %s = %+v, want linux/amd64 detected from engine %s", name, n, version)
		}
	}
	if n := nodes["arm-node"]; !slices.Equal(n.Platforms, []string{"linux/arm64"}) || n.PlatformSource != "user" || n.Status != "ok" {
		t.Errorf("node arm-node = %+v, want the linux/arm64 it was given", n)
	}

	// The nodes are Docker contexts: the docker CLI lists them and can use them.
	if names := c.contextNames(); !slices.Equal(names, []string{"arm-node", "default", "farm-a", "farm-b"}) {
		t.Errorf("docker context ls = %v", names)
	}
	res := c.ok(time.Minute, "--context", "farm-a", "version", "--format", "{{.Server.Version}}")
	if strings.TrimSpace(res.Stdout) != farm.EngineAVersion {
		t.Errorf("docker --context farm-a reaches %q", res.Stdout)
	}
	desc := c.ok(time.Minute, "context", "ls", "--format", "{{.Name}}: {{.Description}}")
	if !strings.Contains(desc.Stdout, "farm-a: Debian's engine\n") {
		t.Errorf("context description = %q", desc.Stdout)
	}

	// inspect agrees with ls.
	var inspected nodeJSON
	res = c.ok(time.Minute, "multiarch", "node", "inspect", "farm-b", "--format", "json")
	if err := json.Unmarshal([]byte(res.Stdout), &inspected); err != nil {
		t.Fatalf("node inspect --format json: %v\n%s", err, res.Stdout)
	}
	if inspected.Endpoint != farm.EngineB || inspected.Engine.Version != farm.EngineBVersion || inspected.Status != "ok" {
		t.Errorf("node inspect farm-b = %+v", inspected)
	}
	text := c.ok(time.Minute, "multiarch", "node", "inspect", "arm-node").Stdout
	for _, want := range []string{"arm-node", farm.EngineB, "linux/arm64 (given with --platform)", "Status:", "ok", farm.EngineBVersion} {
		if !strings.Contains(text, want) {
			t.Errorf("node inspect lacks %q:\n%s", want, text)
		}
	}
}

// silentListener accepts connections and never answers, as a hung engine or a black-holed proxy does.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "tcp://" + l.Addr().String()
}

// closedPort is a local TCP port that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	return "tcp://" + freeAddr(t)
}

// freeAddr is a local address (127.0.0.1:PORT) that nothing listens on, for a server to start on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestNodeLsStopsAtTheDeadline(t *testing.T) {
	c := newCLI(t)
	silent, closed := silentListener(t), closedPort(t)
	c.ok(time.Minute, "multiarch", "node", "add", "healthy", "--host", farm.EngineA)
	for name, host := range map[string]string{"silent": silent, "closed": closed} {
		res := c.ok(time.Minute, "multiarch", "node", "add", name, "--host", host, "--platform", "linux/arm64", "--timeout", "1s")
		if !strings.Contains(res.Stderr, "offline") || !strings.Contains(res.Stderr, host) {
			t.Errorf("adding unreachable %s with --platform does not say it is offline: %q", name, res.Stderr)
		}
	}

	const deadline = 3 * time.Second
	for _, format := range []string{"table", "json"} {
		start := time.Now()
		res := c.ok(time.Minute, "multiarch", "node", "ls", "--timeout", deadline.String(), "--format", format)
		if took := time.Since(start); took > deadline+time.Second {
			t.Errorf("node ls --format %s took %s with a %s deadline", format, took, deadline)
		}
		if format == "table" {
			checkNodeTable(t, res.Stdout, map[string]string{"healthy": "ok", "silent": "error: no answer within 3s", "closed": "error: "})
		}
	}
	nodes := c.nodes("--timeout", deadline.String())
	// The table and the JSON carry the same facts.
	table := c.ok(time.Minute, "multiarch", "node", "ls", "--timeout", deadline.String()).Stdout
	for name, n := range nodes {
		status := n.Status
		if n.Error != "" {
			status = "error: " + n.Error
		}
		if !regexpLine(table, name, n.Endpoint, strings.Join(n.Platforms, ","), status) {
			t.Errorf("the table lacks %s as JSON has it (%+v):\n%s", name, n, table)
		}
	}
	if n := nodes["healthy"]; n.Status != "ok" || n.Engine.Version != farm.EngineAVersion {
		t.Errorf("healthy node = %+v", n)
	}
	if n := nodes["silent"]; n.Status != "error" || !strings.Contains(n.Error, "no answer within 3s") || n.Endpoint != silent {
		t.Errorf("silent node = %+v", n)
	}
	if n := nodes["closed"]; n.Status != "error" || n.Error == "" || strings.Contains(n.Error, "no answer within") {
		t.Errorf("closed-port node = %+v, want a connection error", n)
	}

	// Adding an engine that never answers fails at the deadline, names node and endpoint, writes nothing.
	start := time.Now()
	res := c.run(time.Minute, "multiarch", "node", "add", "hung", "--host", silent, "--timeout", "2s")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("node add of a silent engine took %s with a 2s deadline", took)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"hung"`) || !strings.Contains(res.Stderr, silent) {
		t.Errorf("node add hung: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	if slices.Contains(c.contextNames(), "hung") {
		t.Error("a failed node add created its context")
	}
}

// checkNodeTable checks the table of node ls: a header, then each node with its status.
func checkNodeTable(t *testing.T, out string, status map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(status)+1 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "STATUS") {
		t.Fatalf("node ls table:\n%s", out)
	}
	for _, line := range lines[1:] {
		name := strings.Fields(line)[0]
		if want, ok := status[name]; !ok || !strings.Contains(line, want) {
			t.Errorf("node ls row for %s: %q, want status %q", name, line, want)
		}
	}
}

func TestNodeRemove(t *testing.T) {
	c := newCLI(t)
	c.ok(time.Minute, "multiarch", "node", "add", "gone", "--host", farm.EngineA)
	c.ok(time.Minute, "multiarch", "node", "add", "kept", "--host", farm.EngineB)
	c.ok(time.Minute, "context", "create", "mine", "--docker", "host="+farm.EngineA)
	c.ok(time.Minute, "multiarch", "node", "add", "mine", "--context", "mine")
	c.ok(time.Minute, "multiarch", "node", "add", "copy", "--context", "mine")
	if n := c.nodes()["mine"]; !n.Adopted || n.Endpoint != farm.EngineA {
		t.Errorf("adopted node = %+v", n)
	}

	res := c.run(time.Minute, "multiarch", "node", "rm", "gone", "nosuch")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"nosuch"`) {
		t.Errorf("rm with an unknown name: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if len(c.nodes()) != 4 {
		t.Fatal("a failed rm removed nodes")
	}
	c.ok(time.Minute, "multiarch", "node", "rm", "gone", "mine", "copy")
	c.ok(time.Minute, "multiarch", "node", "rm", "--keep-context", "kept")
	if nodes := c.nodes(); len(nodes) != 0 {
		t.Errorf("nodes left: %v", nodes)
	}
	// Created contexts go; adopted ones and --keep-context ones stay, as plain contexts.
	if names := c.contextNames(); !slices.Equal(names, []string{"default", "kept", "mine"}) {
		t.Errorf("contexts after rm = %v", names)
	}
}

func TestNodeOverSSH(t *testing.T) {
	// The farm sshd forwards to engine A: the remote side runs `docker system dial-stdio`.
	host := farm.SSH + strings.TrimPrefix(farm.EngineA, "unix://")
	c := newCLI(t).withSSH(true)
	c.ok(time.Minute, "multiarch", "node", "add", "over-ssh", "--host", host)
	n := c.nodes()["over-ssh"]
	if n.Status != "ok" || !slices.Equal(n.Platforms, []string{"linux/amd64"}) || n.Engine.Version != farm.EngineAVersion {
		t.Errorf("ssh node = %+v", n)
	}

	// An unknown host key is refused, never bypassed, and nothing is created.
	untrusted := newCLI(t).withSSH(false)
	res := untrusted.run(time.Minute, "multiarch", "node", "add", "over-ssh", "--host", host, "--timeout", "20s")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "Host key verification failed") || !strings.Contains(res.Stderr, host) {
		t.Errorf("unknown host key: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	// Not even offline, with --platform: the key is never bypassed.
	res = untrusted.run(time.Minute, "multiarch", "node", "add", "over-ssh", "--host", host, "--platform", "linux/amd64")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "known_hosts") {
		t.Errorf("unknown host key with --platform: exit %d, stderr %q", res.ExitCode, res.Stderr)
	}
	if slices.Contains(untrusted.contextNames(), "over-ssh") {
		t.Error("the refused ssh node was created")
	}
}

func TestNodeBadInput(t *testing.T) {
	c := newCLI(t)
	c.ok(time.Minute, "context", "create", "other", "--docker", "host="+farm.EngineB)
	c.ok(time.Minute, "multiarch", "node", "add", "taken", "--host", farm.EngineA)
	before := c.contextNames()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "default", "--host", farm.EngineA}, `"default"`},
		{[]string{"add", "-bad-", "--host", farm.EngineA}, "unknown shorthand flag"},
		{[]string{"add", "bad/name", "--host", farm.EngineA}, `"bad/name"`},
		{[]string{"add", "x1"}, "--host"},
		{[]string{"add", "x1", "--host", farm.EngineA, "--context", "other"}, "--context"},
		{[]string{"add", "x1", "--host", "http://127.0.0.1:2375"}, `"http"`},
		{[]string{"add", "x1", "--host", "127.0.0.1:2375"}, `"127.0.0.1:2375"`},
		{[]string{"add", "x1", "--host", "tcp://127.0.0.1"}, `"tcp://127.0.0.1"`},
		{[]string{"add", "x1", "--host", "tcp://127.0.0.1:70000"}, `"70000"`},
		{[]string{"add", "x1", "--host", farm.EngineA, "--platform", "linux/sparc64"}, `"linux/sparc64"`},
		{[]string{"add", "x1", "--host", farm.EngineA, "--platform", "arm64"}, `"arm64"`},
		{[]string{"add", "x1", "--context", "nosuch"}, `"nosuch"`},
		{[]string{"add", "x1", "--host", "tcp://127.0.0.1:2376", "--tlscacert", "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"},
		{[]string{"add", "x1", "--host", farm.EngineA, "--tlscacert", "/etc/hostname"}, "tcp://"},
		{[]string{"add", "x1", "--host", farm.EngineA, "--timeout", "0s"}, "timeout"},
		{[]string{"add", "taken", "--host", farm.EngineB}, "--force"},
		{[]string{"add", "other", "--host", farm.EngineA}, farm.EngineB},
		{[]string{"ls", "--format", "yaml"}, `"yaml"`},
		{[]string{"ls", "--timeout", "-1s"}, "-1s"},
		{[]string{"ls", "extra"}, "accepts no arguments"},
		{[]string{"inspect", "nosuch"}, `"nosuch"`},
		{[]string{"inspect", "other"}, "not a node"},
		{[]string{"inspect"}, "requires 1 argument"},
		{[]string{"rm", "nosuch"}, `"nosuch"`},
		{[]string{"rm"}, "requires at least 1 argument"},
	} {
		res := c.run(time.Minute, append([]string{"multiarch", "node"}, tc.args...)...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("node %s: exit %d, stderr %q; want an error naming %s", strings.Join(tc.args, " "), res.ExitCode, res.Stderr, tc.want)
		}
	}
	if after := c.contextNames(); !slices.Equal(before, after) {
		t.Errorf("bad input changed contexts: %v -> %v", before, after)
	}
	if n := c.nodes()["taken"]; n.Endpoint != farm.EngineA {
		t.Errorf("refused add changed node taken: %+v", n)
	}
	// --force points the node at the new endpoint.
	c.ok(time.Minute, "multiarch", "node", "add", "taken", "--host", farm.EngineB, "--force")
	if n := c.nodes()["taken"]; n.Endpoint != farm.EngineB || n.Engine.Version != farm.EngineBVersion {
		t.Errorf("forced node = %+v", n)
	}
}

func TestNodeOverTLS(t *testing.T) {
	c := newCLI(t)
	tls := func(name string) string { return filepath.Join(farm.TLSDir, name) }
	c.ok(time.Minute, "multiarch", "node", "add", "over-tls", "--host", farm.EngineBTLS,
		"--tlscacert", tls("ca.pem"), "--tlscert", tls("cert.pem"), "--tlskey", tls("key.pem"))
	if n := c.nodes()["over-tls"]; n.Status != "ok" || n.Engine.Version != farm.EngineBVersion || !slices.Equal(n.Platforms, []string{"linux/amd64"}) {
		t.Errorf("TLS node = %+v", n)
	}
	// The context carries the TLS material: the docker CLI reaches the engine through it.
	res := c.ok(time.Minute, "--context", "over-tls", "version", "--format", "{{.Server.Version}}")
	if strings.TrimSpace(res.Stdout) != farm.EngineBVersion {
		t.Errorf("docker --context over-tls reaches %q", res.Stdout)
	}
	// Without a client certificate, or trusting another CA, the engine refuses and nothing is added.
	otherCA := filepath.Join(testtls.Write(t, "other-ca"), "ca.pem") // a CA that did not sign the farm's certificates
	for name, args := range map[string][]string{
		"no-client-cert": {"--tlscacert", tls("ca.pem")},
		"wrong-ca":       {"--tlscacert", otherCA, "--tlscert", tls("cert.pem"), "--tlskey", tls("key.pem")},
	} {
		res := c.run(time.Minute, append([]string{"multiarch", "node", "add", name, "--host", farm.EngineBTLS, "--timeout", "5s"}, args...)...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"`+name+`"`) || !strings.Contains(res.Stderr, farm.EngineBTLS) {
			t.Errorf("%s: exit %d, %q", name, res.ExitCode, res.Stderr)
		}
		if slices.Contains(c.contextNames(), name) {
			t.Errorf("%s: the refused node was created", name)
		}
	}
}
