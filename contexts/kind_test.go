package contexts

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// What each kind can do, as the rest of the product asks it: a node stored without a kind (before
// there were kinds) is an engine.
func TestKindsSayWhatTheyCanDo(t *testing.T) {
	for _, tc := range []struct {
		stored, name, driver string
		engine               bool
	}{
		{"", KindEngine, DriverDockerContainer, true},
		{KindEngine, KindEngine, DriverDockerContainer, true},
		{KindBuildKit, KindBuildKit, DriverRemote, false},
	} {
		k := Data{KindName: tc.stored}.Kind()
		if k.Name() != tc.name || k.BuildxDriver() != tc.driver || k.Engine() != tc.engine {
			t.Errorf("kind %q: %s %s engine=%v, want %s %s engine=%v", tc.stored, k.Name(), k.BuildxDriver(), k.Engine(), tc.name, tc.driver, tc.engine)
		}
		var d Data
		d.SetKind(k)
		if d.Kind().Name() != tc.name || (tc.engine && d.KindName != "") {
			t.Errorf("SetKind(%s) stores %q", tc.name, d.KindName)
		}
	}
	if _, ok := KindNamed("kubernetes"); ok {
		t.Error("an unknown kind is known")
	}
}

// A node written by a later version with a kind this one does not know is listed (one such node
// does not stop every command), never probed or taken for an engine (probed at a Docker endpoint
// it may not have), and can be removed.
func TestAnUnknownKindIsListedNotTakenForAnEngine(t *testing.T) {
	n, s, f := newTestNodes(t)
	err := s.CreateOrUpdate(store.Metadata{
		Name:      "future",
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: hostA}},
		Metadata: command.DockerContext{AdditionalFields: map[string]any{
			MetadataKey: map[string]any{"kind": "kubernetes", "platforms": []string{"linux/amd64"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Add(t.Context(), addOpts("amd", hostB)); err != nil {
		t.Fatal(err)
	}
	all, err := n.List()
	if err != nil || len(all) != 2 {
		t.Fatalf("list: %+v, %v", all, err)
	}
	future := all[slices.IndexFunc(all, func(x Node) bool { return x.Name == "future" })]
	k := future.Kind()
	if k.Name() != "kubernetes" || k.Engine() || k.BuildxDriver() != "" || future.Endpoint != hostA {
		t.Errorf("unknown kind read as %s (engine %v, driver %q) at %s", k.Name(), k.Engine(), k.BuildxDriver(), future.Endpoint)
	}
	probed := len(f.probed)
	st := n.Probe(t.Context(), future, time.Second)
	if st.Err == nil || !strings.Contains(st.Err.Error(), `"kubernetes"`) || len(f.probed) != probed {
		t.Errorf("probe of an unknown kind: %v (engine probes %d -> %d)", st.Err, probed, len(f.probed))
	}
	if _, err := n.Remove(t.Context(), []string{"future"}, RemoveOptions{Timeout: time.Second}); err != nil {
		t.Errorf("removing it: %v", err)
	}
	if names := contextNames(t, s); slices.Contains(names, "future") {
		t.Errorf("contexts after rm: %v", names)
	}
}

// Diff says which kind of node an add makes, so a plan over nodes not yet written (apply) knows
// how a builder reaches each.
func TestDiffNamesTheKind(t *testing.T) {
	n, _ := newBuildKitNodes(t)
	for _, tc := range []struct {
		opts AddOptions
		want string
	}{
		{addOpts("amd", hostA), KindEngine},
		{bkOpts("arm", bkHost, TLSFiles{}), KindBuildKit},
	} {
		d, err := n.Diff(t.Context(), tc.opts)
		if err != nil || d.Kind == nil || d.Kind.Name() != tc.want || d.Action != DiffCreate {
			t.Errorf("diff of %s: %+v, %v; want a create of kind %s", tc.opts.Name, d, err, tc.want)
		}
	}
}
