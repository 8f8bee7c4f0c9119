package builders

import (
	"slices"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

func TestStoredListsTheMultiarchBuilders(t *testing.T) {
	engine := startFakeEngine(t, &fakeEngine{})
	m, _ := testCLI(t, map[string]string{"plain": engine})
	for _, name := range []string{"nb", "na"} {
		opts := contexts.AddOptions{Name: name, Host: engine, Platforms: []string{"linux/amd64"}, Timeout: testTimeout}
		if _, err := m.nodes.Add(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
	}
	spec := testSpec("zeta", "na", "nb")
	spec.Nodes[1].Emulate = []string{"linux/arm64"}
	for _, s := range []BuilderSpec{spec, testSpec("alpha", "na"), testSpec("foreign", "plain")} {
		if _, err := m.Apply(t.Context(), s, testTimeout); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := m.Stored()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stored {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"alpha", "zeta"}) {
		t.Fatalf("stored multiarch builders %v, want alpha and zeta (foreign's node is no multiarch node)", names)
	}
	if got := stored[1].Platforms(); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("zeta's platforms %v", got)
	}
	if n := stored[1].Nodes[1]; n.Node != "nb" || !slices.Equal(n.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("zeta's node nb: %+v", n)
	}
}
