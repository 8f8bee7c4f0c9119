package builders

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// answeringBuildKit says every BuildKit daemon is an idle linux/arm64 one.
type answeringBuildKit struct{}

func (answeringBuildKit) ProbeBuildKit(context.Context, contexts.BuildKitTarget) (contexts.BuildKitStatus, error) {
	info, err := contexts.NewBuildKitInfo("v0.34.2", []string{"linux/arm64"})
	return contexts.BuildKitStatus{Info: info}, err
}

// A builder of an engine and a BuildKit daemon is two buildx builders, NAME (docker-container)
// and NAME-buildkit (remote), read and written as one.
func TestBuilderWithABuildKitDaemon(t *testing.T) {
	engine := startFakeEngine(t, &fakeEngine{})
	m, dir := testCLI(t, map[string]string{"eng": engine})
	m.nodes.WithBuildKitProber(answeringBuildKit{})
	ctx := t.Context()
	if _, err := m.nodes.Add(ctx, contexts.AddOptions{Name: "eng", Context: "eng", Timeout: testTimeout}); err != nil {
		t.Fatal(err)
	}
	// Nothing listens there: buildx's remote driver reports the node inactive, which loads.
	if _, err := m.nodes.Add(ctx, contexts.AddOptions{Name: "bk", BuildKit: "tcp://127.0.0.1:9", Timeout: testTimeout}); err != nil {
		t.Fatal(err)
	}
	all, err := m.nodes.List()
	if err != nil {
		t.Fatal(err)
	}
	specs, err := SelectNodes(all, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Apply(ctx, BuilderSpec{Name: "mix", Nodes: specs}, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !slices.Equal(res.Added, []string{"eng", "bk"}) || !slices.Equal(res.Buildx, []string{"mix (docker-container)", "mix-buildkit (remote)"}) {
		t.Errorf("apply %+v", res)
	}
	companion, err := os.ReadFile(filepath.Join(dir, "instances", "mix-buildkit"))
	if err != nil || !strings.Contains(string(companion), `"Endpoint":"tcp://127.0.0.1:9"`) || !strings.Contains(string(companion), `"Driver":"remote"`) {
		t.Errorf("mix-buildkit: %s, %v", companion, err)
	}

	stored, err := m.Stored()
	if err != nil || len(stored) != 1 || stored[0].Name != "mix" || len(stored[0].Nodes) != 2 || stored[0].Nodes[1].Node != "bk" {
		t.Errorf("stored %+v, %v", stored, err)
	}
	target, err := m.Resolve(ctx, "mix", testTimeout)
	if err != nil || target.Companion != "mix-buildkit" || len(target.Nodes) != 2 || !target.Nodes[1].BuildKit ||
		target.Nodes[1].BuildxNode != "mix-bk" || !slices.Equal(target.Nodes[1].Native, []string{"linux/arm64"}) {
		t.Errorf("target %+v, %v", target, err)
	}
	loaded, err := m.BuildNodes(ctx, target, testTimeout)
	if err != nil || loaded["mix-bk"].Endpoint != "bk" || loaded["mix-bk"].Driver == nil {
		t.Errorf("build nodes %+v, %v", loaded, err)
	}
	if err := m.CheckNodesUnused([]string{"bk"}); err == nil || !strings.Contains(err.Error(), `part of builder "mix"`) {
		t.Errorf("node rm of the daemon: %v", err)
	}

	daemonLeavesThenAlone(t, m, dir, specs)
}

func TestDesiredKeepsBuilderOptionsToEngines(t *testing.T) {
	m, _ := testCLI(t, nil)
	daemon := NodeSpec{Node: contexts.Node{Name: "bk", Data: contexts.Data{KindName: contexts.KindBuildKit, Platforms: []string{"linux/arm64"}}}}
	_, err := m.desired(BuilderSpec{Name: "d", Nodes: []NodeSpec{daemon}, DriverOpts: []string{"network=host"}})
	if err == nil || !strings.Contains(err.Error(), "only BuildKit daemons") {
		t.Errorf("driver options on a builder of daemons: %v", err)
	}
}

// daemonLeavesThenAlone: the daemon leaves a mixed builder (its buildx builder goes), then is its
// only node (NAME becomes a remote builder), then the builder is removed (the daemon left running).
func daemonLeavesThenAlone(t *testing.T, m *Manager, dir string, specs []NodeSpec) {
	ctx := t.Context()
	i := slices.IndexFunc(specs, func(s NodeSpec) bool { return !s.Node.Kind().Engine() })
	daemonOnly, engineOnly := specs[i:i+1], slices.Delete(slices.Clone(specs), i, i+1)
	if res, err := m.Apply(ctx, BuilderSpec{Name: "mix", Nodes: engineOnly}, testTimeout); err != nil || !slices.Equal(res.Removed, []string{"bk"}) {
		t.Fatalf("without the daemon: %+v, %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "instances", "mix-buildkit")); !os.IsNotExist(err) {
		t.Errorf("mix-buildkit is still there: %v", err)
	}
	if res, err := m.Apply(ctx, BuilderSpec{Name: "mix", Nodes: daemonOnly}, testTimeout); err != nil || !slices.Equal(res.Removed, []string{"eng"}) ||
		!slices.Equal(res.Buildx, []string{"mix (remote)"}) {
		t.Fatalf("only the daemon: %+v, %v", res, err)
	}
	if target, err := m.Resolve(ctx, "mix", testTimeout); err != nil || len(target.Nodes) != 1 || target.Nodes[0].Name != "bk" {
		t.Errorf("target %+v, %v", target, err)
	}
	rm, err := m.Remove(ctx, "mix", testTimeout)
	if err != nil || !slices.Equal(rm.Left, []string{"bk"}) || len(rm.Removed) != 0 {
		t.Errorf("remove %+v, %v", rm, err)
	}
}
