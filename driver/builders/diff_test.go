package builders

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestDiffComparesAsCreateDoes(t *testing.T) {
	a, b := &fakeEngine{}, &fakeEngine{}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a), "b": startFakeEngine(t, b)})
	spec := testSpec("t", "a")
	spec.DriverOpts = []string{"image=buildkit:test", "network=host"}

	d, err := m.Diff(spec, true)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Created || !d.Use || !d.Changed() || !slices.Equal(d.Changes, []string{"nodes a (linux/amd64)"}) {
		t.Errorf("diff of a new builder = %+v", d)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Diff created buildx's store: %v", err)
	}

	if _, err := m.Create(t.Context(), spec, CreateOptions{Use: true}, testTimeout); err != nil {
		t.Fatal(err)
	}
	before := storeState(t, dir)
	if d, err := m.Diff(spec, true); err != nil || d.Changed() {
		t.Errorf("diff after create = %+v, %v", d, err)
	}

	// Another platform on a, another node, other options: each named.
	changed := testSpec("t", "a", "b")
	changed.Nodes[0].Emulate = []string{"linux/arm64"}
	changed.DriverOpts = []string{"image=buildkit:other", "network=host"}
	d, err = m.Diff(changed, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"add node b (linux/amd64)",
		"node a platforms linux/amd64 -> linux/amd64,linux/arm64",
		"node a driver-opts image=buildkit:test,network=host -> image=buildkit:other,network=host",
	}
	if d.Created || d.Use || !slices.Equal(d.Changes, want) {
		t.Errorf("diff = %+v\nwant changes %q", d, want)
	}
	if d, err := m.Diff(testSpec("t", "b"), false); err != nil || !slices.Contains(d.Changes, "remove node a") {
		t.Errorf("diff dropping a = %+v, %v", d, err)
	}
	// Not the current builder any more: use is a change.
	if err := m.Use("other"); err != nil {
		t.Fatal(err)
	}
	if d, err := m.Diff(spec, true); err != nil || !d.Use || len(d.Changes) != 0 {
		t.Errorf("diff of a builder that is not current = %+v, %v", d, err)
	}
	sameState(t, "buildx store after Diff", storeState(t, dir), changedCurrent(t, before, storeState(t, dir)))
	noUnexpected(t, a, b)
}

// changedCurrent is the store state before, with the current-builder file as it is now (Use wrote it).
func changedCurrent(t *testing.T, before, now map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range before {
		out[k] = v
	}
	out["current"] = now["current"]
	return out
}

func TestDiffRefusesAsCreateDoes(t *testing.T) {
	m, _ := testCLI(t, map[string]string{"a": "unix:///nonexistent.sock"})
	for _, tc := range []struct {
		spec BuilderSpec
		want string
	}{
		{testSpec("default", "a"), `"default"`},
		{testSpec("t"), "no nodes"},
		{BuilderSpec{Name: "t", Nodes: testSpec("t", "a").Nodes, DriverOpts: []string{"image"}}, `"image"`},
	} {
		if _, err := m.Diff(tc.spec, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Diff(%+v) = %v, want an error naming %s", tc.spec, err, tc.want)
		}
	}
	if err := ValidateOptions(BuilderSpec{BuildkitdConfig: "/nonexistent/buildkitd.toml"}); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/buildkitd.toml") {
		t.Errorf("ValidateOptions of a missing config: %v", err)
	}
}
