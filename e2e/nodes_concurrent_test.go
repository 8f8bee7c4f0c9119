//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// contextJSON is the part of `docker context inspect` the tests read.
type contextJSON struct {
	Name      string `json:"Name"`
	Endpoints struct {
		Docker struct {
			Host string `json:"Host"`
		} `json:"docker"`
	} `json:"Endpoints"`
	TLSMaterial map[string][]string `json:"TLSMaterial"`
	Storage     struct {
		MetadataPath string `json:"MetadataPath"`
		TLSPath      string `json:"TLSPath"`
	} `json:"Storage"`
}

// inspectContext reads a Docker context back through the docker CLI.
func (c *cli) inspectContext(name string) contextJSON {
	c.t.Helper()
	res := c.ok(time.Minute, "context", "inspect", name)
	var out []contextJSON
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil || len(out) != 1 {
		c.t.Fatalf("docker context inspect %s: %v\n%s", name, err, res.Stdout)
	}
	return out[0]
}

// Concurrent `node add` in one DOCKER_CONFIG: distinct names all land; one name with two
// endpoints has exactly one winner, and the context on disk is wholly the winner's.
func TestNodeAddConcurrent(t *testing.T) {
	c := newCLI(t)

	// Six distinct names at once: all six exist afterwards.
	const n = 6
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = c.run(2*time.Minute, "multiarch", "node", "add", fmt.Sprintf("n%d", i+1), "--host", farm.EngineA)
		})
	}
	wg.Wait()
	for i, res := range results {
		if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != fmt.Sprintf("n%d", i+1) {
			t.Errorf("node add n%d: exit %d\n%s", i+1, res.ExitCode, res.Combined())
		}
	}
	nodes := c.nodes()
	if len(nodes) != n {
		t.Errorf("node ls lists %d nodes, want %d: %v", len(nodes), n, slices.Sorted(maps.Keys(nodes)))
	}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("n%d", i)
		nd, ok := nodes[name]
		if !ok || nd.Endpoint != farm.EngineA || nd.Status != "ok" || !slices.Equal(nd.Platforms, []string{"linux/amd64"}) {
			t.Errorf("node %s = %+v (listed %v)", name, nd, ok)
		}
	}
	want := []string{"default", "n1", "n2", "n3", "n4", "n5", "n6"}
	if names := c.contextNames(); !slices.Equal(names, want) {
		t.Errorf("docker context ls = %v, want %v", names, want)
	}

	// One name, two endpoints, at once: exactly one wins, the other names the existing endpoint.
	// The last round races a TLS endpoint against a plain one: the context must not end up with
	// the endpoint of one and the TLS material of the other.
	tlsFile := func(name string) string { return filepath.Join(farm.TLSDir, name) }
	tlsArgs := []string{"--tlscacert", tlsFile("ca.pem"), "--tlscert", tlsFile("cert.pem"), "--tlskey", tlsFile("key.pem")}
	for round := 1; round <= 3; round++ {
		name := fmt.Sprintf("same-%d", round)
		type contender struct {
			host, version string
			args          []string
			tls           bool
		}
		contenders := []contender{
			{host: farm.EngineA, version: farm.EngineAVersion},
			{host: farm.EngineB, version: farm.EngineBVersion},
		}
		if round == 3 {
			contenders[1] = contender{host: farm.EngineBTLS, version: farm.EngineBVersion, args: tlsArgs, tls: true}
		}
		res := make([]result, len(contenders))
		start := make(chan struct{})
		for i, ct := range contenders {
			wg.Go(func() {
				<-start
				res[i] = c.run(2*time.Minute, append([]string{"multiarch", "node", "add", name, "--host", ct.host}, ct.args...)...)
			})
		}
		close(start)
		wg.Wait()

		var winners []int
		for i, r := range res {
			if r.ExitCode == 0 {
				winners = append(winners, i)
			}
		}
		if len(winners) != 1 {
			t.Errorf("round %d: %d of the two adds of %s succeeded, want exactly one:\nA: exit %d %s\nB: exit %d %s",
				round, len(winners), name, res[0].ExitCode, res[0].Combined(), res[1].ExitCode, res[1].Combined())
			continue
		}
		w, l := winners[0], 1-winners[0]
		win, lose := contenders[w], contenders[l]
		t.Logf("round %d: %s won over %s", round, win.host, lose.host)
		if msg := res[l].Stderr; !strings.Contains(msg, "already exists") || !strings.Contains(msg, win.host) || !strings.Contains(msg, `"`+name+`"`) {
			t.Errorf("round %d: the losing add (%s) says %q; want it to name %s as already existing with endpoint %s",
				round, lose.host, msg, name, win.host)
		}

		var inspected nodeJSON
		out := c.ok(time.Minute, "multiarch", "node", "inspect", name, "--format", "json").Stdout
		if err := json.Unmarshal([]byte(out), &inspected); err != nil {
			t.Fatalf("node inspect %s: %v\n%s", name, err, out)
		}
		if inspected.Endpoint != win.host || inspected.Engine.Version != win.version || inspected.Status != "ok" {
			t.Errorf("round %d: node %s = %+v, want the winner's endpoint %s (engine %s)", round, name, inspected, win.host, win.version)
		}
		ctx := c.inspectContext(name)
		if ctx.Endpoints.Docker.Host != win.host {
			t.Errorf("round %d: context %s has endpoint %s, want the winner's %s", round, name, ctx.Endpoints.Docker.Host, win.host)
		}
		// The TLS material on disk is the winner's: present for the TLS endpoint, absent otherwise.
		tlsOnDisk := false
		if ctx.Storage.TLSPath != "" {
			if entries, err := os.ReadDir(ctx.Storage.TLSPath); err == nil && len(entries) > 0 {
				tlsOnDisk = true
			}
		}
		if tlsOnDisk != win.tls || (len(ctx.TLSMaterial) > 0) != win.tls {
			t.Errorf("round %d: context %s (winner %s) has TLS material %v on disk=%v", round, name, win.host, ctx.TLSMaterial, tlsOnDisk)
		}
		// And the docker CLI reaches the winner's engine through it.
		if v := strings.TrimSpace(c.ok(time.Minute, "--context", name, "version", "--format", "{{.Server.Version}}").Stdout); v != win.version {
			t.Errorf("round %d: docker --context %s reaches engine %q, want the winner's %q", round, name, v, win.version)
		}
	}
}
