package contexts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/context/docker"
)

// fakeBuildKit answers per address, recording what each probe was given.
type fakeBuildKit struct {
	mu      sync.Mutex
	daemons map[string]BuildKitStatus
	probed  []BuildKitTarget
}

func (f *fakeBuildKit) ProbeBuildKit(_ context.Context, t BuildKitTarget) (BuildKitStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probed = append(f.probed, t)
	st, ok := f.daemons[t.Host]
	if !ok {
		return st, errors.New("connection refused")
	}
	return st, nil
}

const bkHost = "tcp://10.0.0.9:1234"

func newBuildKitNodes(t *testing.T) (*Nodes, *fakeBuildKit) {
	t.Helper()
	n, _, _ := newTestNodes(t)
	info, err := NewBuildKitInfo("v0.34.2", []string{"linux/arm64", "linux/amd64", "linux/amd64/v2", "linux/arm/v7"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBuildKit{daemons: map[string]BuildKitStatus{bkHost: {Info: info, Running: 2}}}
	return n.WithBuildKitProber(f), f
}

func bkOpts(name, host string, files TLSFiles) AddOptions {
	return AddOptions{Name: name, BuildKit: host, TLS: files, Timeout: time.Second}
}

func TestNewBuildKitInfoMarksTheNativePlatformFirst(t *testing.T) {
	info, err := NewBuildKitInfo("v1", []string{"linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386", "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Native() != "linux/amd64" || !slices.Equal(info.Emulated, []string{"linux/arm64", "linux/386"}) ||
		!slices.Equal(info.Platforms, []string{"linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386"}) {
		t.Errorf("info %+v", info)
	}
	if _, err := NewBuildKitInfo("v1", nil); err == nil {
		t.Error("a daemon without platforms is accepted")
	}
}

func TestAddBuildKitStoresItsEndpointAndTLSFiles(t *testing.T) {
	n, f := newBuildKitNodes(t)
	files := writeTLSFiles(t, "client")
	res, err := n.Add(t.Context(), bkOpts("arm-pool", bkHost, files))
	if err != nil {
		t.Fatal(err)
	}
	node := res.Node
	if !res.Created || node.Kind().Name() != KindBuildKit || node.Endpoint != bkHost || !slices.Equal(node.Platforms, []string{"linux/arm64"}) ||
		node.PlatformSource != SourceBuildKit || node.BuildKit.Version != "v0.34.2" || !slices.Equal(node.BuildKit.Emulated, []string{"linux/amd64", "linux/amd64/v2", "linux/arm/v7"}) {
		t.Fatalf("node %+v (buildkit %+v)", node, node.BuildKit)
	}
	if abs, _ := filepath.Abs(files.CA); f.probed[0].CA != abs || f.probed[0].Cert == "" {
		t.Errorf("probed with %+v, want the files given", f.probed[0])
	}
	meta, err := n.store.GetMetadata("arm-pool")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docker.EndpointFromContext(meta); err == nil {
		t.Error("a BuildKit node has a Docker endpoint")
	}
	target, err := n.BuildKitTarget("arm-pool")
	if err != nil || target.Host != bkHost || !target.TLS() || target.Key == "" {
		t.Fatalf("target %+v, %v", target, err)
	}
	for _, p := range []string{target.CA, target.Cert, target.Key} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, st.Mode(), err)
		}
	}
	want, _ := os.ReadFile(files.Key)
	if got, _ := os.ReadFile(target.Key); string(got) != string(want) {
		t.Error("the stored key is not the one given")
	}
	// Probed as stored: BuildKit's answer, its running builds.
	st := n.Probe(t.Context(), node, time.Second)
	if st.Err != nil || st.BuildKit == nil || st.BuildKit.Running != 2 || f.probed[1].CA != target.CA {
		t.Errorf("probe %+v (last target %+v)", st, f.probed[1])
	}
	// Again at its address without TLS options: probed with, and keeping, its stored files.
	if _, err := n.Add(t.Context(), bkOpts("arm-pool", bkHost, TLSFiles{})); err != nil {
		t.Fatal(err)
	}
	if again, _ := n.BuildKitTarget("arm-pool"); again != target || f.probed[2].CA != target.CA {
		t.Errorf("re-added: target %+v, probed %+v", again, f.probed[2])
	}
}

func TestAddBuildKitRefuses(t *testing.T) {
	n, _ := newBuildKitNodes(t)
	files := writeTLSFiles(t, "client")
	if _, err := n.Add(t.Context(), addOpts("engine", hostA)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Add(t.Context(), bkOpts("pool", bkHost, TLSFiles{})); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts AddOptions
		want string
	}{
		{"not a URL", bkOpts("xx", "10.0.0.9:1234", TLSFiles{}), "want tcp://HOST:PORT or unix:///PATH"},
		{"ssh", bkOpts("xx", "ssh://me@box", TLSFiles{}), "want tcp://HOST:PORT"},
		{"credentials", bkOpts("xx", "tcp://me:secret@box:1234", TLSFiles{}), "no credentials"},
		{"no port", bkOpts("xx", "tcp://box", TLSFiles{}), "needs a port"},
		{"TLS on unix", bkOpts("xx", "unix:///run/buildkit.sock", files), "tcp:// BuildKit addresses only"},
		{"TLS without CA", bkOpts("xx", "tcp://box:1234", TLSFiles{Cert: files.Cert, Key: files.Key}), "--tls-cacert"},
		{"skip verify", bkOpts("xx", "tcp://box:1234", TLSFiles{CA: files.CA, SkipVerify: true}), "--tls-skip-verify"},
		{"cert without key", bkOpts("xx", "tcp://box:1234", TLSFiles{CA: files.CA, Cert: files.Cert}), "go together"},
		{"no answer", bkOpts("xx", "tcp://box:1234", TLSFiles{}), `node "xx": BuildKit at tcp://box:1234: connection refused`},
		{"an engine's name", bkOpts("engine", "tcp://box:1234", TLSFiles{}), `node "engine" exists and is a Docker engine`},
		{"the same daemon", bkOpts("again", bkHost, TLSFiles{}), `node "pool" already is BuildKit at ` + bkHost},
		{"another address", bkOpts("pool", "tcp://box:1234", TLSFiles{}), "use --force"},
		{"with --host", AddOptions{Name: "xx", Host: hostA, BuildKit: bkHost, Timeout: time.Second}, "exactly one of"},
	} {
		_, err := n.Add(t.Context(), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := n.Add(t.Context(), addOpts("pool", hostA)); err == nil || !strings.Contains(err.Error(), `node "pool" exists and is BuildKit`) {
		t.Errorf("an engine over a BuildKit node: %v", err)
	}
	// Offline, with its platforms.
	res, err := n.Add(t.Context(), AddOptions{Name: "later", BuildKit: "tcp://box:1234", Platforms: []string{"linux/arm64"}, Timeout: time.Second})
	if err != nil || res.ProbeErr == nil || res.Node.PlatformSource != SourceUser || res.Node.Kind().Name() != KindBuildKit {
		t.Errorf("offline: %+v, %v", res, err)
	}
	// --keep-context does not keep a BuildKit node's entry (no Docker context to keep): the name is free again.
	removed, err := n.Remove(t.Context(), []string{"later"}, RemoveOptions{KeepContext: true, Timeout: time.Second})
	if err != nil || len(removed) != 1 || !removed[0].ContextRemoved {
		t.Fatalf("rm --keep-context of a BuildKit node: %+v, %v", removed, err)
	}
	if _, err := n.Add(t.Context(), AddOptions{Name: "later", BuildKit: "tcp://box:1234", Platforms: []string{"linux/arm64"}, Timeout: time.Second}); err != nil {
		t.Errorf("adding the name again: %v", err)
	}
}

func TestSaveRestoreKeepsBuildKitTLSFiles(t *testing.T) {
	n, _ := newBuildKitNodes(t)
	first := writeTLSFiles(t, "first")
	if _, err := n.Add(t.Context(), bkOpts("pool", bkHost, first)); err != nil {
		t.Fatal(err)
	}
	saved, err := n.Save("pool")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Add(t.Context(), bkOpts("pool", bkHost, writeTLSFiles(t, "second"))); err != nil {
		t.Fatal(err)
	}
	if err := n.Restore(t.Context(), saved, time.Second); err != nil {
		t.Fatal(err)
	}
	target, _ := n.BuildKitTarget("pool")
	want, _ := os.ReadFile(first.CA)
	if got, _ := os.ReadFile(target.CA); string(got) != string(want) {
		t.Error("Restore did not put the first CA back")
	}
}
