package farm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
)

const (
	hostA = "unix:///run/a.sock"
	hostB = "unix:///run/b.sock"
)

// fakeProber answers for the hosts it knows; the others are down.
type fakeProber struct {
	mu      sync.Mutex
	engines map[string]contexts.Engine
	probed  []string
}

func (f *fakeProber) Probe(_ context.Context, ep docker.Endpoint) (contexts.Engine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probed = append(f.probed, ep.Host)
	e, ok := f.engines[ep.Host]
	if !ok {
		return contexts.Engine{}, errors.New("connection refused")
	}
	return e, nil
}

// fakeBuilders is buildx's store reduced to what a farm compares: per builder, its nodes and
// their platforms, its options, and whether it is current.
type fakeBuilders struct {
	stored  map[string]string
	current string
	created []builders.BuilderSpec
	diffed  []builders.BuilderSpec // the specs plans compared
	fail    error
}

func summaryOf(spec builders.BuilderSpec) string {
	var s []string
	for _, n := range spec.Nodes {
		s = append(s, n.Node.Name+"="+strings.Join(n.Platforms(), ","))
	}
	return strings.Join(s, " ") + " " + strings.Join(spec.DriverOpts, ",")
}

func (f *fakeBuilders) Diff(spec builders.BuilderSpec, use bool) (builders.Diff, error) {
	f.diffed = append(f.diffed, spec)
	d := builders.Diff{Use: use && f.current != spec.Name}
	switch was, ok := f.stored[spec.Name]; {
	case !ok:
		d.Created, d.Changes = true, []string{summaryOf(spec)}
	case was != summaryOf(spec):
		d.Changes = []string{was + " -> " + summaryOf(spec)}
	}
	return d, nil
}

func (f *fakeBuilders) Create(_ context.Context, spec builders.BuilderSpec, opts builders.CreateOptions, _ time.Duration) (builders.CreateResult, error) {
	if f.fail != nil {
		return builders.CreateResult{}, f.fail
	}
	f.created = append(f.created, spec)
	f.stored[spec.Name] = summaryOf(spec)
	if opts.Use {
		f.current = spec.Name
	}
	return builders.CreateResult{}, nil
}

type testFarm struct {
	*Farm
	dir      string // the context store
	store    store.Store
	prober   *fakeProber
	builders *fakeBuilders
	nodes    *contexts.Nodes
}

func newTestFarm(t *testing.T) *testFarm {
	t.Helper()
	dir := t.TempDir()
	p := &fakeProber{engines: map[string]contexts.Engine{
		hostA: {Version: "20.10", OS: "linux", Arch: "x86_64", Platform: "linux/amd64"},
		hostB: {Version: "29.0", OS: "linux", Arch: "aarch64", Platform: "linux/arm64"},
	}}
	s := store.New(dir, command.DefaultContextStoreConfig())
	nodes := contexts.New(s, p).WithLock(filepath.Join(dir, ".multiarch.lock"))
	b := &fakeBuilders{stored: map[string]string{}}
	return &testFarm{Farm: New(nodes, b), dir: dir, store: s, prober: p, builders: b, nodes: nodes}
}

// plan parses a farm file and plans it.
func (tf *testFarm) plan(t *testing.T, yaml string) (*Plan, error) {
	t.Helper()
	f, err := Parse([]byte(yaml), "multiarch.yaml", t.TempDir(), "fs.read=*") // TLS files of testtls.Write live elsewhere
	if err != nil {
		t.Fatal(err)
	}
	return tf.Plan(context.Background(), f, time.Second)
}

// apply plans and applies a farm file, failing the test on an error.
func (tf *testFarm) apply(t *testing.T, yaml string) []Change {
	t.Helper()
	p, err := tf.plan(t, yaml)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tf.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return res.Changes
}

// fileState is every file of the context store (but its lock) with its content and mtime.
func fileState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".multiarch.lock" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fmt.Sprintf("%s %s %s", st.Mode(), st.ModTime().Format(time.RFC3339Nano), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// changedFiles lists the files that differ between two states.
func changedFiles(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func actions(changes []Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.Kind+" "+c.Name+": "+c.Action)
	}
	return out
}

func metaFile(name string) string {
	return filepath.Join("meta", digestOf(name), "meta.json")
}
