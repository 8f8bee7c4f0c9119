package tester

import (
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// A BuildKit daemon native to a platform runs builds, not containers: its variant runs on an
// engine that emulates the platform (build's gate and `test` route the same way).
func TestRouteLeavesBuildKitDaemonsOut(t *testing.T) {
	target := builders.Target{Name: "mix", Nodes: []plan.RouteNode{
		{Name: "bk-arm", Native: []string{"linux/arm64"}, BuildKit: true},
		{Name: "eng", Native: []string{"linux/amd64"}, Emulated: []string{"linux/arm64"}},
	}}
	steps, err := Route(target, []string{"linux/arm64", "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if steps[0].Node != "eng" || !steps[0].Emulated || steps[1].Node != "eng" {
		t.Errorf("steps %+v, want both on the engine (arm64 emulated)", steps)
	}
	only := builders.Target{Name: "bk", Nodes: []plan.RouteNode{{Name: "bk-arm", Native: []string{"linux/arm64"}, BuildKit: true}}}
	if _, err := Route(only, []string{"linux/arm64"}); err == nil {
		t.Error("a variant was placed on a BuildKit daemon")
	}
}
