package farm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

func digestOf(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

const twoNodes = `
nodes:
  - name: farm-a
    host: unix:///run/a.sock
  - name: farm-b
    host: unix:///run/b.sock
    description: the arm box
builders:
  - name: multiarch
    driver-opts: [image=buildkit:test, network=host]
    use: true
`

func TestApplyCreatesThenChangesNothing(t *testing.T) {
	tf := newTestFarm(t)
	p, err := tf.plan(t, twoNodes)
	if err != nil {
		t.Fatal(err)
	}
	// The plan alone writes nothing.
	if files := fileState(t, tf.dir); len(files) != 0 {
		t.Errorf("planning wrote %v", files)
	}
	want := []string{"node farm-a: create", "node farm-b: create", "builder multiarch: create"}
	if got := actions(p.Changes); !slices.Equal(got, want) || !p.Changed() {
		t.Errorf("plan = %v, want %v", got, want)
	}
	if c := p.Changes[1].Changes; !slices.Equal(c, []string{"endpoint " + hostB, "platforms linux/arm64 (detected)"}) {
		t.Errorf("farm-b's changes = %q", c)
	}
	if c := p.Changes[2].Changes; !slices.Contains(c, "use: make it the current builder") {
		t.Errorf("builder changes = %q", c)
	}
	if _, err := tf.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	nodes, err := tf.nodes.List()
	if err != nil || len(nodes) != 2 || !slices.Equal(nodes[1].Platforms, []string{"linux/arm64"}) || nodes[1].Description != "the arm box" {
		t.Fatalf("nodes after apply = %+v, %v", nodes, err)
	}
	if len(tf.builders.created) != 1 || summaryOf(tf.builders.created[0]) != "farm-a=linux/amd64 farm-b=linux/arm64 image=buildkit:test,network=host" ||
		tf.builders.current != "multiarch" {
		t.Errorf("builders created %+v, current %q", tf.builders.created, tf.builders.current)
	}

	// Again: every entry unchanged, no file rewritten, no builder created, no engine probed.
	before := fileState(t, tf.dir)
	tf.prober.probed = nil
	changes := tf.apply(t, twoNodes)
	want = []string{"node farm-a: unchanged", "node farm-b: unchanged", "builder multiarch: unchanged"}
	if got := actions(changes); !slices.Equal(got, want) {
		t.Errorf("second apply = %v, want %v", got, want)
	}
	if changed := changedFiles(before, fileState(t, tf.dir)); len(changed) != 0 {
		t.Errorf("the second apply rewrote %v", changed)
	}
	if len(tf.builders.created) != 1 || len(tf.prober.probed) != 0 {
		t.Errorf("second apply created builders %d times, probed %v", len(tf.builders.created), tf.prober.probed)
	}
}

func TestApplyUpdatesExactlyWhatChanged(t *testing.T) {
	tf := newTestFarm(t)
	tf.apply(t, twoNodes)
	before := fileState(t, tf.dir)

	changedFile := strings.Replace(twoNodes, "    description: the arm box\n", "    description: the arm box\n    platforms: [linux/arm64, linux/arm/v7]\n", 1)
	changes := tf.apply(t, changedFile)
	want := []string{"node farm-a: unchanged", "node farm-b: update", "builder multiarch: update"}
	if got := actions(changes); !slices.Equal(got, want) {
		t.Fatalf("apply = %v, want %v", got, want)
	}
	if c := changes[1].Changes; !slices.Equal(c, []string{"platforms linux/arm64 (detected) -> linux/arm64,linux/arm/v7"}) {
		t.Errorf("farm-b changes %q", c)
	}
	if got := changedFiles(before, fileState(t, tf.dir)); !slices.Equal(got, []string{metaFile("farm-b")}) {
		t.Errorf("files changed: %v, want only farm-b's meta.json", got)
	}
	if s := tf.builders.stored["multiarch"]; !strings.HasPrefix(s, "farm-a=linux/amd64 farm-b=linux/arm64,linux/arm/v7 ") {
		t.Errorf("builder pinned %s", s)
	}
	if got := actions(tf.apply(t, changedFile)); !slices.Equal(got, []string{"node farm-a: unchanged", "node farm-b: unchanged", "builder multiarch: unchanged"}) {
		t.Errorf("applying the changed file again = %v", got)
	}

	// Another endpoint: the node is repointed (node add --force), its platform detected again.
	moved := strings.Replace(twoNodes, "host: unix:///run/a.sock", "host: unix:///run/b.sock", 1)
	changes = tf.apply(t, moved)
	if c := changes[0]; c.Action != ActionUpdate || !slices.Equal(c.Changes, []string{
		"endpoint unix:///run/a.sock -> unix:///run/b.sock", "platforms linux/amd64 (detected) -> linux/arm64 (detected)"}) {
		t.Errorf("moved farm-a: %+v", c)
	}
	if n, err := tf.nodes.Get("farm-a"); err != nil || n.Endpoint != hostB || !slices.Equal(n.Platforms, []string{"linux/arm64"}) {
		t.Errorf("farm-a after the move = %+v, %v", n, err)
	}
}

func TestApplyLeavesOtherNodesAndContextsAlone(t *testing.T) {
	tf := newTestFarm(t)
	tf.apply(t, twoNodes)
	only := "nodes:\n  - name: farm-a\n    host: unix:///run/a.sock\n"
	if got := actions(tf.apply(t, only)); !slices.Equal(got, []string{"node farm-a: unchanged"}) {
		t.Errorf("apply of a file without farm-b = %v", got)
	}
	if _, err := tf.nodes.Get("farm-b"); err != nil {
		t.Errorf("a node the file does not declare was removed: %v", err)
	}
	// A context that is not a node, with another endpoint, is never repointed.
	if err := tf.store.CreateOrUpdate(store.Metadata{Name: "mine", Metadata: command.DockerContext{},
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: hostB}}}); err != nil {
		t.Fatal(err)
	}
	_, err := tf.plan(t, "nodes: [{name: mine, host: \"unix:///run/a.sock\"}]\n")
	if err == nil || !strings.Contains(err.Error(), `multiarch.yaml: nodes[0] (mine): context "mine" exists, is not a node`) {
		t.Errorf("plan over a user's context = %v", err)
	}
	// With the same endpoint, it is adopted.
	if got := actions(tf.apply(t, "nodes: [{name: mine, context: mine}]\n")); !slices.Equal(got, []string{"node mine: adopt"}) {
		t.Errorf("adopting = %v", got)
	}
}

func TestPlanFailsBeforeAnythingIsWritten(t *testing.T) {
	tf := newTestFarm(t)
	down := twoNodes + "  - name: other\n    nodes: [farm-a]\n"
	down = strings.Replace(down, "host: unix:///run/b.sock", "host: unix:///run/down.sock", 1)
	_, err := tf.plan(t, down)
	if err == nil || !strings.Contains(err.Error(), `multiarch.yaml: nodes[1] (farm-b): node "farm-b": engine at unix:///run/down.sock: connection refused`) {
		t.Errorf("plan with an engine down = %v", err)
	}
	// With its platforms given, the node needs no probe.
	withPlatforms := strings.Replace(down, "    description: the arm box\n", "    platforms: [linux/arm64]\n", 1)
	p, err := tf.plan(t, withPlatforms)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tf.Apply(context.Background(), p)
	if err != nil || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], `node "farm-b": engine at unix:///run/down.sock did not answer`) {
		t.Errorf("apply with an offline node: %+v, %v", res, err)
	}
	if files := fileState(t, tf.dir); len(files) != 2 {
		t.Errorf("files %v", files)
	}
}

func TestApplyPutsNodesBackWhenALaterStepFails(t *testing.T) {
	tf := newTestFarm(t)
	tf.apply(t, "nodes: [{name: farm-a, host: \"unix:///run/a.sock\"}]\n")
	before := fileState(t, tf.dir)

	// The builder fails: farm-a's update and farm-b's creation are undone.
	tf.builders.fail = errors.New(`builder "multiarch" unchanged: node "farm-b" did not answer`)
	p, err := tf.plan(t, strings.Replace(twoNodes, "host: unix:///run/a.sock", "host: unix:///run/a.sock\n    description: changed", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(p.Changes); !slices.Equal(got, []string{"node farm-a: update", "node farm-b: create", "builder multiarch: create"}) {
		t.Fatalf("plan %v", got)
	}
	_, err = tf.Apply(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), `multiarch.yaml: builders[0] (multiarch): builder "multiarch" unchanged`) ||
		!strings.Contains(err.Error(), "the nodes written were put back as they were") {
		t.Errorf("apply with a failing builder = %v", err)
	}
	after := fileState(t, tf.dir)
	if len(after) != len(before) {
		t.Errorf("files after the rollback: %v", changedFiles(before, after))
	}
	for k, v := range before {
		if contentOf(after[k]) != contentOf(v) {
			t.Errorf("%s not put back: %q", k, after[k])
		}
	}
	if names, _ := tf.nodes.List(); len(names) != 1 {
		t.Errorf("nodes after the rollback: %+v", names)
	}

	// farm-b's engine goes down between the plan and its add: farm-a is put back.
	tf.builders.fail = nil
	if p, err = tf.plan(t, strings.Replace(twoNodes, "host: unix:///run/a.sock", "host: unix:///run/a.sock\n    description: changed", 1)); err != nil {
		t.Fatal(err)
	}
	delete(tf.prober.engines, hostB)
	_, err = tf.Apply(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), `multiarch.yaml: nodes[1] (farm-b): node "farm-b": engine at unix:///run/b.sock`) ||
		!strings.Contains(err.Error(), "put back") {
		t.Errorf("apply with farm-b down = %v", err)
	}
	if after := fileState(t, tf.dir); len(after) != len(before) || contentOf(after[metaFile("farm-a")]) != contentOf(before[metaFile("farm-a")]) {
		t.Errorf("farm-a not put back: %v", changedFiles(before, after))
	}
	if len(tf.builders.created) != 0 {
		t.Errorf("builders created: %+v", tf.builders.created)
	}
}

// contentOf is a fileState entry without its mtime (a put-back file is written again).
func contentOf(entry string) string {
	f := strings.SplitN(entry, " ", 3)
	if len(f) < 3 {
		return entry
	}
	return f[0] + " " + f[2]
}
