package builders

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/context/docker"
	ctxstore "github.com/docker/cli/cli/context/store"
	"github.com/docker/cli/cli/flags"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// fakeEngine answers the Docker API calls buildx's docker-container driver makes to load and
// boot a node, keeping the BuildKit containers it creates. Booting never gets past starting the
// container: either the image cannot be pulled, or the start is refused.
type fakeEngine struct {
	pullFails bool   // no BuildKit image: booting fails before a container is created
	onStart   func() // called when a container is started (and the start refused)

	mu         sync.Mutex
	containers map[string]bool // name -> running
	created    []string
	removed    []string
	volumesRm  []string
	unexpected []string
}

var apiVersionRE = regexp.MustCompile(`^/v[0-9.]+`)

func (e *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := apiVersionRE.ReplaceAllString(r.URL.Path, "")
	name := func(suffix string) string {
		return strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), suffix)
	}
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code int, msg string) { reply(code, map[string]string{"message": msg}) }
	switch {
	case p == "/_ping":
		w.Header().Set("Api-Version", "1.47")
		_, _ = w.Write([]byte("OK"))
	case r.Method == http.MethodGet && p == "/info":
		reply(200, map[string]any{"OSType": "linux", "Architecture": "x86_64", "CgroupDriver": "systemd"})
	case r.Method == http.MethodPost && p == "/images/create":
		if e.pullFails {
			fail(500, "pull refused")
			return
		}
		reply(200, map[string]string{"status": "pulled"})
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		if e.pullFails {
			fail(404, "No such image")
			return
		}
		reply(200, map[string]any{"Id": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
	case r.Method == http.MethodPost && p == "/containers/create":
		n := r.URL.Query().Get("name")
		if n == "" { // the driver's GPU probe
			fail(400, "no GPUs here")
			return
		}
		e.containers[n] = false
		e.created = append(e.created, n)
		reply(201, map[string]any{"Id": n, "Warnings": []string{}})
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/json") && strings.HasPrefix(p, "/containers/"):
		n := name("/json")
		running, ok := e.containers[n]
		if !ok {
			fail(404, "No such container: "+n)
			return
		}
		reply(200, map[string]any{"Id": n, "Name": "/" + n, "State": map[string]any{"Running": running, "Status": "created"},
			"Mounts": []map[string]string{{"Type": "volume", "Name": n + "_state", "Destination": "/var/lib/buildkit"}}})
	case r.Method == http.MethodPut && strings.HasSuffix(p, "/archive"):
		w.WriteHeader(200)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/start"):
		if e.onStart != nil {
			e.onStart()
		}
		fail(500, "start refused")
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/stop"):
		e.containers[name("/stop")] = false
		w.WriteHeader(204)
	case r.Method == http.MethodDelete && strings.HasPrefix(p, "/containers/"):
		n := name("")
		delete(e.containers, n)
		e.removed = append(e.removed, n)
		w.WriteHeader(204)
	case r.Method == http.MethodDelete && strings.HasPrefix(p, "/volumes/"):
		e.volumesRm = append(e.volumesRm, strings.TrimPrefix(p, "/volumes/"))
		w.WriteHeader(204)
	default:
		e.unexpected = append(e.unexpected, r.Method+" "+p)
		fail(500, "unexpected "+r.Method+" "+p)
	}
}

// startFakeEngine serves a fake engine on a unix socket and returns its endpoint.
func startFakeEngine(t *testing.T, e *fakeEngine) string {
	t.Helper()
	if e.containers == nil {
		e.containers = map[string]bool{}
	}
	dir, err := os.MkdirTemp("", "fe") // short: a unix socket path is limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return "unix://" + sock
}

// fakeProber says every engine is a linux/amd64 one.
type fakeProber struct{}

func (fakeProber) Probe(context.Context, docker.Endpoint) (contexts.Engine, error) {
	return contexts.Engine{OS: "linux", Arch: "x86_64", Platform: "linux/amd64"}, nil
}

// testCLI is a Docker CLI on a temp DOCKER_CONFIG, with a context per node; buildx's store is
// DOCKER_CONFIG/buildx.
func testCLI(t *testing.T, nodes map[string]string) (*Manager, string) {
	t.Helper()
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	config.SetDir(cfgDir) // the CLI reads DOCKER_CONFIG once per process
	t.Setenv("BUILDX_CONFIG", "")
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	cli, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	for name, host := range nodes {
		if err := cli.ContextStore().CreateOrUpdate(ctxstore.Metadata{
			Name:      name,
			Metadata:  command.DockerContext{},
			Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: host}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return New(cli, contexts.New(cli.ContextStore(), fakeProber{})), filepath.Join(cfgDir, "buildx")
}

func testSpec(name string, nodes ...string) BuilderSpec {
	spec := BuilderSpec{Name: name}
	for _, n := range nodes {
		spec.Nodes = append(spec.Nodes, NodeSpec{Node: contexts.Node{Name: n, Data: contexts.Data{Platforms: []string{"linux/amd64"}}}})
	}
	return spec
}
