package plan

import "testing"

func TestSecondPrefersAnotherNativeNodeThenEmulationThenTheSameNode(t *testing.T) {
	nodes := []RouteNode{
		{Name: "a", BuildxNode: "bx-a", Native: []string{"linux/amd64"}},
		{Name: "b", BuildxNode: "bx-b", Native: []string{"linux/amd64"}, BuildKit: true},
		{Name: "c", BuildxNode: "bx-c", Native: []string{"linux/amd64"}},
		{Name: "arm", BuildxNode: "bx-arm", Native: []string{"linux/arm64"}, Emulated: []string{"linux/amd64"}},
		{Name: "win", Native: []string{"linux/amd64"}, EngineOnly: true},
	}
	first := Step{Platform: "linux/amd64", Node: "a", BuildxNode: "bx-a", Dockerfile: "Dockerfile", Strategy: StrategyBuildKit}
	for _, tc := range []struct {
		name     string
		alts     []Alternative
		want     string
		emulated bool
	}{
		{"the least busy native node", []Alternative{{Node: "b", Running: 2}, {Node: "c", Running: 1}, {Node: "arm", Emulated: true}}, "c", false},
		{"a native node that did not answer is passed over", []Alternative{{Node: "c", Error: "down"}, {Node: "arm", Emulated: true}}, "arm", true},
		{"an engine-only node cannot build with BuildKit", []Alternative{{Node: "win"}}, "a", false},
		{"a node the builder does not have is passed over", []Alternative{{Node: "gone"}}, "a", false},
		{"nothing else", nil, "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, why := Second(nodes, first, tc.alts)
			if s.Node != tc.want || s.Emulated != tc.emulated || s.Dockerfile != "Dockerfile" || s.Platform != "linux/amd64" || why == "" {
				t.Fatalf("Second = %+v (%s), want node %s emulated %v", s, why, tc.want, tc.emulated)
			}
			if s.Node != "a" && s.BuildxNode != "bx-"+tc.want {
				t.Fatalf("buildx node %q", s.BuildxNode)
			}
		})
	}
}
