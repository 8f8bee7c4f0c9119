package contexts

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// fakeProber answers per host: an engine, an error, or a hang until the context ends.
type fakeProber struct {
	mu      sync.Mutex
	engines map[string]Engine
	errs    map[string]error
	hang    map[string]bool
	probed  []string
}

func (f *fakeProber) Probe(ctx context.Context, ep docker.Endpoint) (Engine, error) {
	f.mu.Lock()
	f.probed = append(f.probed, ep.Host)
	e, err, hang := f.engines[ep.Host], f.errs[ep.Host], f.hang[ep.Host]
	f.mu.Unlock()
	if hang {
		<-ctx.Done()
		time.Sleep(time.Second) // a prober that is slow to notice cancellation
		return Engine{}, ctx.Err()
	}
	if err != nil {
		return Engine{}, err
	}
	if e.Platform == "" {
		return Engine{}, errors.New("connection refused")
	}
	return e, nil
}

const (
	hostA = "unix:///run/a.sock"
	hostB = "tcp://127.0.0.1:2376"
	hostC = "ssh://builder@arm-box"
)

var amd64Engine = Engine{Version: "20.10.24", OS: "linux", Arch: "x86_64", Platform: "linux/amd64"}

func newTestNodes(t *testing.T) (*Nodes, store.Store, *fakeProber) {
	t.Helper()
	s := store.New(t.TempDir(), command.DefaultContextStoreConfig())
	f := &fakeProber{
		engines: map[string]Engine{hostA: amd64Engine, hostB: {Version: "29.0.0", OS: "linux", Arch: "aarch64", Platform: "linux/arm64"}},
		errs:    map[string]error{},
		hang:    map[string]bool{},
	}
	return New(s, f).WithLock(filepath.Join(t.TempDir(), "contexts", ".multiarch.lock")), s, f
}

func addOpts(name, host string, platforms ...string) AddOptions {
	return AddOptions{Name: name, Host: host, Platforms: platforms, Timeout: time.Second}
}

func contextNames(t *testing.T, s store.Store) []string {
	t.Helper()
	names, err := store.Names(s)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestAddDetectsPlatformAndStoresNodeInContext(t *testing.T) {
	n, s, _ := newTestNodes(t)
	res, err := n.Add(context.Background(), AddOptions{Name: "amd", Host: hostA, Description: "x86 box", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.ProbeErr != nil {
		t.Errorf("result = %+v", res)
	}
	got, err := n.Get("amd")
	if err != nil {
		t.Fatal(err)
	}
	want := Node{Name: "amd", Endpoint: hostA, Description: "x86 box",
		Data: Data{Platforms: []string{"linux/amd64"}, PlatformSource: SourceEngine, Engine: amd64Engine}}
	if !nodesEqual(got, want) {
		t.Errorf("Get = %+v\nwant  %+v", got, want)
	}
	// The node is a plain Docker context that the docker CLI can use.
	meta, err := s.GetMetadata("amd")
	if err != nil {
		t.Fatal(err)
	}
	ep, err := docker.EndpointFromContext(meta)
	if err != nil || ep.Host != hostA {
		t.Errorf("context endpoint = %+v, %v", ep, err)
	}
	if dc, _ := command.GetDockerContext(meta); dc.Description != "x86 box" {
		t.Errorf("context description = %q", dc.Description)
	}
}

func TestAddPlatformFlagOverridesEngine(t *testing.T) {
	n, _, _ := newTestNodes(t)
	res, err := n.Add(context.Background(), addOpts("multi", hostA, "linux/amd64,linux/x86_64", "linux/armhf"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Node.Platforms, []string{"linux/amd64", "linux/arm/v7"}) || res.Node.PlatformSource != SourceUser {
		t.Errorf("node = %+v", res.Node)
	}
	if res.Node.Engine.Platform != "linux/amd64" {
		t.Errorf("engine facts not kept: %+v", res.Node.Engine)
	}
}

func TestAddUnreachableEngine(t *testing.T) {
	n, s, _ := newTestNodes(t)
	_, err := n.Add(context.Background(), addOpts("down", "tcp://127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), `"down"`) || !strings.Contains(err.Error(), "tcp://127.0.0.1:1") {
		t.Fatalf("error %v does not name the node and endpoint", err)
	}
	if names := contextNames(t, s); len(names) != 0 {
		t.Fatalf("a failed add left contexts %v", names)
	}
	res, err := n.Add(context.Background(), addOpts("down", "tcp://127.0.0.1:1", "linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ProbeErr == nil || !slices.Equal(res.Node.Platforms, []string{"linux/arm64"}) {
		t.Errorf("offline add = %+v", res)
	}
}

func TestAddRefusesUntrustedSSHHostEvenWithPlatform(t *testing.T) {
	n, s, f := newTestNodes(t)
	f.errs[hostC] = errors.New(`error during connect: Get "http://docker.example.com/v1.53/info": command [ssh -o ConnectTimeout=30 -T -- builder@arm-box docker system dial-stdio] has exited with exit status 255, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=Host key verification failed.`)
	_, err := n.Add(context.Background(), addOpts("arm", hostC, "linux/arm64"))
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "ssh: Host key verification failed.") || !strings.Contains(err.Error(), hostC) {
		t.Fatalf("error = %v", err)
	}
	if names := contextNames(t, s); len(names) != 0 {
		t.Errorf("left contexts %v", names)
	}
}

func TestAddHangingEngineStopsAtDeadline(t *testing.T) {
	n, s, f := newTestNodes(t)
	f.hang[hostC] = true
	start := time.Now()
	_, err := n.Add(context.Background(), AddOptions{Name: "slow", Host: hostC, Timeout: 200 * time.Millisecond})
	if took := time.Since(start); took > 700*time.Millisecond {
		t.Errorf("add waited %s past a 200ms deadline", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "200ms") {
		t.Errorf("error = %v", err)
	}
	if names := contextNames(t, s); len(names) != 0 {
		t.Errorf("a failed add left contexts %v", names)
	}
}

func TestAddRejectsBadInputBeforeAnySideEffect(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts AddOptions
		want string
	}{
		{"reserved name", addOpts("default", hostA), `"default"`},
		{"bad name", addOpts("-x", hostA), `"-x"`},
		{"bad name chars", addOpts("a/b", hostA), `"a/b"`},
		{"no endpoint", AddOptions{Name: "nn", Timeout: time.Second}, "--host"},
		{"both endpoints", AddOptions{Name: "nn", Host: hostA, Context: "x", Timeout: time.Second}, "--context"},
		{"bad scheme", addOpts("nn", "http://host:2375"), `"http"`},
		{"not a URL", addOpts("nn", "somehost"), `"somehost"`},
		{"tcp without port", addOpts("nn", "tcp://host"), `"tcp://host"`},
		{"tcp bad port", addOpts("nn", "tcp://host:99999"), `"99999"`},
		{"unix without path", addOpts("nn", "unix://"), `"unix://"`},
		{"ssh without host", addOpts("nn", "ssh://"), `"ssh://"`},
		{"bad platform", addOpts("nn", hostA, "linux/amd64,linux/sparc"), `"linux/sparc"`},
		{"platform without os", addOpts("nn", hostA, "arm64"), `"arm64"`},
		{"unknown context", AddOptions{Name: "nn", Context: "nosuch", Timeout: time.Second}, `"nosuch"`},
		{"tls on unix", AddOptions{Name: "nn", Host: hostA, TLS: TLSFiles{CA: "/ca.pem"}, Timeout: time.Second}, hostA},
		{"unreadable tls", AddOptions{Name: "nn", Host: hostB, TLS: TLSFiles{CA: "/nonexistent/ca.pem"}, Timeout: time.Second}, "/nonexistent/ca.pem"},
		{"cert without key", AddOptions{Name: "nn", Host: hostB, TLS: TLSFiles{Cert: "/c.pem"}, Timeout: time.Second}, "--tlskey"},
		{"zero timeout", AddOptions{Name: "nn", Host: hostA}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, s, f := newTestNodes(t)
			_, err := n.Add(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v does not name %s", err, tc.want)
			}
			if names := contextNames(t, s); len(names) != 0 {
				t.Errorf("left contexts %v", names)
			}
			if len(f.probed) != 0 {
				t.Errorf("probed %v before rejecting the input", f.probed)
			}
		})
	}
}

func TestAddExistingContext(t *testing.T) {
	n, s, _ := newTestNodes(t)
	writeContext(t, s, "mine", hostA)

	_, err := n.Add(context.Background(), addOpts("mine", hostB))
	if err == nil || !strings.Contains(err.Error(), hostA) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("another endpoint without --force: %v", err)
	}
	if node, err := n.Get("mine"); err == nil {
		t.Fatalf("the refused add made a node: %+v", node)
	}

	// The same endpoint adopts the context; removing the node then keeps the context.
	res, err := n.Add(context.Background(), addOpts("mine", hostA+"/"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || !res.Node.Adopted {
		t.Errorf("adopt = %+v", res)
	}
	rm, err := n.Remove(context.Background(), []string{"mine"}, RemoveOptions{})
	if err != nil || rm[0].ContextRemoved {
		t.Fatalf("remove adopted = %+v, %v", rm, err)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"mine"}) {
		t.Errorf("contexts after removing an adopted node = %v", names)
	}
	if _, err := n.Get("mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("node still there: %v", err)
	}

	// --force points the context at the new endpoint.
	res, err = n.Add(context.Background(), AddOptions{Name: "mine", Host: hostB, Force: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Node.Endpoint != hostB || !slices.Equal(res.Node.Platforms, []string{"linux/arm64"}) {
		t.Errorf("forced add = %+v", res.Node)
	}
}

func TestAddFromContext(t *testing.T) {
	n, s, _ := newTestNodes(t)
	writeContext(t, s, "src", hostA)
	res, err := n.Add(context.Background(), AddOptions{Name: "copy", Context: "src", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Node.Endpoint != hostA || res.Node.Adopted {
		t.Errorf("add --context src as copy = %+v", res)
	}
	res, err = n.Add(context.Background(), AddOptions{Name: "src", Context: "src", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created || !res.Node.Adopted {
		t.Errorf("add --context in place = %+v", res)
	}
	nodes, err := n.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Name != "copy" || nodes[1].Name != "src" {
		t.Errorf("List = %+v", nodes)
	}
}

func TestAddTwiceIsIdempotent(t *testing.T) {
	n, s, _ := newTestNodes(t)
	for range 2 {
		if _, err := n.Add(context.Background(), addOpts("amd", hostA)); err != nil {
			t.Fatal(err)
		}
	}
	node, err := n.Get("amd")
	if err != nil || node.Adopted || !slices.Equal(node.Platforms, []string{"linux/amd64"}) {
		t.Fatalf("node after a second add = %+v, %v", node, err)
	}
	if _, err := n.Remove(context.Background(), []string{"amd"}, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if names := contextNames(t, s); len(names) != 0 {
		t.Errorf("removing a created node left contexts %v", names)
	}
}

func TestRemove(t *testing.T) {
	n, s, _ := newTestNodes(t)
	if _, err := n.Add(context.Background(), addOpts("amd", hostA)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Add(context.Background(), addOpts("arm", hostB)); err != nil {
		t.Fatal(err)
	}
	// One bad name, or the current context, and nothing is removed.
	if _, err := n.Remove(context.Background(), []string{"arm", "amd"}, RemoveOptions{CurrentContext: "amd"}); err == nil || !strings.Contains(err.Error(), "current") {
		t.Errorf("removing the current context: %v", err)
	}
	if _, err := n.Remove(context.Background(), []string{"arm", "nosuch"}, RemoveOptions{}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("removing an unknown node: %v", err)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"amd", "arm"}) {
		t.Fatalf("a refused remove changed contexts: %v", names)
	}
	res, err := n.Remove(context.Background(), []string{"amd"}, RemoveOptions{KeepContext: true})
	if err != nil || res[0].ContextRemoved {
		t.Fatalf("--keep-context: %+v, %v", res, err)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"amd", "arm"}) {
		t.Errorf("--keep-context left %v", names)
	}
	if _, err := n.Remove(context.Background(), []string{"amd"}, RemoveOptions{}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"amd"`) {
		t.Errorf("removing a context that is not a node: %v", err)
	}
	if _, err := n.Remove(context.Background(), []string{"arm"}, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"amd"}) {
		t.Errorf("after removing arm: %v", names)
	}
}

func TestProbeAllInParallelWithinDeadline(t *testing.T) {
	n, _, f := newTestNodes(t)
	var nodes []Node
	hosts := []string{"ssh://h1", "ssh://h2", "ssh://h3", "ssh://h4", hostA}
	for _, host := range hosts { // before any probe runs: probes abandoned at their deadline read it
		f.hang[host] = host != hostA
	}
	for i, host := range hosts {
		opts := addOpts("n"+string(rune('a'+i)), host, "linux/amd64")
		opts.Timeout = 50 * time.Millisecond
		res, err := n.Add(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, res.Node)
	}
	start := time.Now()
	statuses := n.ProbeAll(context.Background(), nodes, 300*time.Millisecond)
	if took := time.Since(start); took > 800*time.Millisecond {
		t.Errorf("probing 4 hanging nodes took %s with a 300ms deadline", took)
	}
	for i, st := range statuses {
		if st.Node.Name != nodes[i].Name {
			t.Errorf("status %d is for %s, want %s", i, st.Node.Name, nodes[i].Name)
		}
		if hang := f.hang[st.Node.Endpoint]; hang != errors.Is(st.Err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v", st.Node.Name, st.Err)
		}
	}
	if statuses[4].Engine.Platform != "linux/amd64" {
		t.Errorf("healthy node's engine = %+v", statuses[4].Engine)
	}
}

func TestWindowsOSVersion(t *testing.T) {
	for in, want := range map[string]string{
		"10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)":   "10.0.17763.1",
		"10.0 20348 (20348.2849.amd64fre.fe_release.210507-1500)": "10.0.20348.2849",
		"10.0 20348":   "10.0.20348",
		"":             "",
		"6.18.44-fc-1": "",
	} {
		if got := windowsOSVersion(in); got != want {
			t.Errorf("windowsOSVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeContext(t *testing.T, s store.Store, name, host string) {
	t.Helper()
	err := s.CreateOrUpdate(store.Metadata{
		Name:      name,
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: host}},
		Metadata:  command.DockerContext{Description: "made by the user"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func nodesEqual(a, b Node) bool {
	return a.Name == b.Name && a.Endpoint == b.Endpoint && a.Description == b.Description &&
		slices.Equal(a.Platforms, b.Platforms) && a.PlatformSource == b.PlatformSource &&
		a.Engine == b.Engine && a.Adopted == b.Adopted
}
