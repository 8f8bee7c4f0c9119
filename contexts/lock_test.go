package contexts

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/internal/lockfile"
)

// barrierProber answers every host as an amd64 engine, but only once `waitFor` probes have
// started: the adds it serves have all read the store before any writes.
type barrierProber struct{ wg *sync.WaitGroup }

func (p barrierProber) Probe(ctx context.Context, ep docker.Endpoint) (Engine, error) {
	p.wg.Done()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return Engine{}, ctx.Err()
	}
	time.Sleep(10 * time.Millisecond)
	return amd64Engine, nil
}

// processes returns n node services over one store directory and lock file, each with a store
// of its own, as n concurrent `docker multiarch node add` processes have.
func processes(t *testing.T, n int) ([]*Nodes, store.Store) {
	t.Helper()
	dir, lock := t.TempDir(), filepath.Join(t.TempDir(), "contexts", ".multiarch.lock")
	var wg sync.WaitGroup
	wg.Add(n)
	var out []*Nodes
	for range n {
		s := store.New(dir, command.DefaultContextStoreConfig())
		out = append(out, New(s, barrierProber{&wg}).WithLock(lock))
	}
	return out, store.New(dir, command.DefaultContextStoreConfig())
}

func TestConcurrentAddsOfDistinctNamesAllLand(t *testing.T) {
	procs, s := processes(t, 6)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			opts := addOpts(fmt.Sprintf("n%d", i), fmt.Sprintf("unix:///run/n%d.sock", i))
			opts.Timeout = 5 * time.Second
			if _, err := p.Add(context.Background(), opts); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	nodes, err := New(s, nil).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 6 {
		t.Fatalf("nodes after 6 concurrent adds: %+v", nodes)
	}
	for i, n := range nodes {
		if want := fmt.Sprintf("unix:///run/n%d.sock", i); n.Endpoint != want || n.Engine.Platform != "linux/amd64" {
			t.Errorf("node %d = %+v", i, n)
		}
	}
}

func TestConcurrentAddsOfOneNameOneWins(t *testing.T) {
	procs, s := processes(t, 2)
	hosts := []string{"tcp://127.0.0.1:2376", "tcp://127.0.0.2:2376"}
	tls := []TLSFiles{writeTLSFiles(t, "one"), writeTLSFiles(t, "two")}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() {
			_, errs[i] = p.Add(context.Background(), AddOptions{Name: "box", Host: hosts[i], TLS: tls[i], Timeout: 5 * time.Second})
		})
	}
	wg.Wait()
	winner, loser := 0, 1
	if errs[0] != nil {
		winner, loser = 1, 0
	}
	if errs[winner] != nil || errs[loser] == nil {
		t.Fatalf("want exactly one add to succeed: %v", errs)
	}
	if msg := errs[loser].Error(); !strings.Contains(msg, "already exists with endpoint "+hosts[winner]) {
		t.Errorf("the losing add's error does not name the existing endpoint %s: %v", hosts[winner], msg)
	}
	if got := endpointOf(t, s, "box"); got != hosts[winner] {
		t.Errorf("endpoint = %s, want the winner's %s", got, hosts[winner])
	}
	if got, want := storedTLS(t, s, "box"), tlsOf(t, tls[winner]); !maps.Equal(got, want) {
		t.Errorf("TLS files are not the winner's")
	}
}

func TestAddAndRemoveWaitForTheLockWithinTheTimeout(t *testing.T) {
	n, s, _ := newTestNodes(t)
	if _, err := n.Add(context.Background(), addOpts("amd", hostA)); err != nil {
		t.Fatal(err)
	}
	release, err := lockfile.Acquire(context.Background(), n.lockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	opts := addOpts("arm", hostB)
	opts.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err = n.Add(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), n.lockPath) || !strings.Contains(err.Error(), `"arm"`) {
		t.Errorf("add while the lock is held: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("add waited %s for the lock with a 200ms timeout", took)
	}
	_, err = n.Remove(context.Background(), []string{"amd"}, RemoveOptions{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), n.lockPath) {
		t.Errorf("remove while the lock is held: %v", err)
	}
	if names := contextNames(t, s); len(names) != 1 || names[0] != "amd" {
		t.Errorf("contexts = %v", names)
	}
}
