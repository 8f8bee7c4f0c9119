package plan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var farmRoute = []RouteNode{
	{Name: "a", Native: []string{"linux/amd64"}, Emulated: []string{"linux/arm/v7"}},
	{Name: "b", Native: []string{"linux/amd64"}},
	{Name: "pi", Native: []string{"linux/arm64"}},
}

func TestRouteNativeFirstThenEmulatedAndSpread(t *testing.T) {
	steps, err := Route(farmRoute, []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	// The platforms one node builds are placed first: arm/v7 on a (it alone emulates it), so the
	// first amd64 goes to b, and the second to a (one each, a first in the builder's order).
	want := []Step{
		{Platform: "linux/amd64", Node: "b", Strategy: StrategyBuildKit},
		{Platform: "linux/arm64", Node: "pi", Strategy: StrategyBuildKit},
		{Platform: "linux/arm/v7", Node: "a", Emulated: true, Strategy: StrategyBuildKit},
		{Platform: "linux/amd64", Node: "a", Strategy: StrategyBuildKit},
	}
	if !slices.Equal(steps, want) {
		t.Errorf("Route =\n%+v\nwant\n%+v", steps, want)
	}
}

func TestRouteRefusesUnservedPlatform(t *testing.T) {
	_, err := Route(farmRoute, []string{"linux/amd64", "linux/ppc64le"})
	if err == nil || !strings.Contains(err.Error(), "linux/ppc64le") || !strings.Contains(err.Error(), "pi (linux/arm64)") {
		t.Fatalf("error = %v", err)
	}
	if _, err := Route(nil, []string{"linux/amd64"}); err == nil || !strings.Contains(err.Error(), "no nodes") {
		t.Errorf("empty builder: %v", err)
	}
}

func TestDefaultPlatforms(t *testing.T) {
	nodes := append(slices.Clone(farmRoute), RouteNode{Name: "win", Native: []string{"windows/amd64"}, EngineOnly: true})
	if got := DefaultPlatforms(nodes); !slices.Equal(got, []string{"linux/amd64", "linux/arm/v7", "linux/arm64"}) {
		t.Errorf("DefaultPlatforms = %v", got)
	}
}

func TestRouteWindowsToItsEngine(t *testing.T) {
	nodes := append(slices.Clone(farmRoute), RouteNode{Name: "win", Native: []string{"windows/amd64"}, EngineOnly: true})
	steps, err := Route(nodes, []string{"linux/amd64", "windows/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if steps[1] != (Step{Platform: "windows/amd64", Node: "win", Strategy: StrategyEngine}) || steps[0].Strategy != StrategyBuildKit {
		t.Errorf("steps = %+v", steps)
	}
}

func TestAssignDockerfiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "Dockerfile.linux-arm64", "Dockerfile.linux-arm", "Dockerfile.linux-arm-v6", "other.Dockerfile"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	steps := []Step{{Platform: "linux/amd64"}, {Platform: "linux/arm64"}, {Platform: "linux/arm/v7"}, {Platform: "linux/arm/v6"}}
	if err := AssignDockerfiles(steps, DockerfileOptions{ContextPath: dir}); err != nil {
		t.Fatal(err)
	}
	want := []string{"Dockerfile", "Dockerfile.linux-arm64", "Dockerfile.linux-arm", "Dockerfile.linux-arm-v6"}
	for i, s := range steps {
		if s.Dockerfile != filepath.Join(dir, want[i]) {
			t.Errorf("%s: %s, want %s", s.Platform, s.Dockerfile, want[i])
		}
	}

	other := filepath.Join(dir, "other.Dockerfile")
	err := AssignDockerfiles(steps, DockerfileOptions{ContextPath: dir, File: filepath.Join(dir, "Dockerfile"),
		FileFor: map[string]string{"linux/arm64": other}})
	if err != nil {
		t.Fatal(err)
	}
	if steps[1].Dockerfile != other || steps[0].Dockerfile != filepath.Join(dir, "Dockerfile") || steps[2].Dockerfile != filepath.Join(dir, "Dockerfile") {
		t.Errorf("-f with --file-for: %+v", steps)
	}

	for _, tc := range []struct {
		opts DockerfileOptions
		want string
	}{
		{DockerfileOptions{ContextPath: dir, FileFor: map[string]string{"linux/s390x": other}}, "linux/s390x"},
		{DockerfileOptions{ContextPath: dir, FileFor: map[string]string{"linux/arm64": "/nonexistent/Dockerfile"}}, "/nonexistent/Dockerfile"},
		{DockerfileOptions{ContextPath: dir, File: dir}, "is a directory"},
		{DockerfileOptions{ContextPath: t.TempDir()}, "Dockerfile"},
	} {
		if err := AssignDockerfiles(steps, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AssignDockerfiles(%+v) = %v, want an error naming %s", tc.opts, err, tc.want)
		}
	}

	// A remote context: no lookup, the default name inside it.
	remote := []Step{{Platform: "linux/amd64"}}
	if err := AssignDockerfiles(remote, DockerfileOptions{ContextPath: "https://github.com/org/repo.git"}); err != nil || remote[0].Dockerfile != "Dockerfile" {
		t.Errorf("remote context: %+v, %v", remote, err)
	}
}
