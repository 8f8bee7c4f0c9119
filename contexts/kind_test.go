package contexts

import (
	"strings"
	"testing"

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

// A node written by a later version with a kind this one does not know is not taken for an
// engine (probed at a Docker endpoint it does not have): reading it fails, naming the context and
// the kind.
func TestAnUnknownKindIsRefusedNotTakenForAnEngine(t *testing.T) {
	n, s, _ := newTestNodes(t)
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
	for what, err := range map[string]error{"get": func() error { _, err := n.Get("future"); return err }(), "list": func() error { _, err := n.List(); return err }()} {
		if err == nil || !strings.Contains(err.Error(), `context "future"`) || !strings.Contains(err.Error(), `"kubernetes"`) {
			t.Errorf("%s: %v, want an error naming the context and the kind", what, err)
		}
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
