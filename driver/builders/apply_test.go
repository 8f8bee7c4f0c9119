package builders

import (
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

func node(name string, plats ...string) contexts.Node {
	return contexts.Node{Name: name, Endpoint: "unix:///" + name, Data: contexts.Data{Platforms: plats}}
}

var testNodes = []contexts.Node{node("amd", "linux/amd64"), node("arm", "linux/arm64"), node("pi", "linux/arm/v7")}

func TestSelectNodes(t *testing.T) {
	specs, err := SelectNodes(testNodes, nil, []string{"linux/armhf=arm", "linux/aarch64=amd"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, s := range specs {
		got[s.Node.Name] = s.Platforms()
	}
	want := map[string][]string{"amd": {"linux/amd64", "linux/arm64"}, "arm": {"linux/arm64", "linux/arm/v7"}, "pi": {"linux/arm/v7"}}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	specs, err = SelectNodes(testNodes, []string{"pi", "amd", "pi"}, nil)
	if err != nil || len(specs) != 2 || specs[0].Node.Name != "pi" || specs[1].Node.Name != "amd" {
		t.Errorf("--node pi --node amd --node pi = %+v, %v", specs, err)
	}
}

func TestSelectNodesLeavesWindowsEnginesOut(t *testing.T) {
	nodes := append(slices.Clone(testNodes), node("win", "windows/amd64"))
	specs, err := SelectNodes(nodes, nil, nil)
	if err != nil || len(specs) != 3 || slices.ContainsFunc(specs, func(s NodeSpec) bool { return s.Node.Name == "win" }) {
		t.Errorf("all nodes: %+v, %v", specs, err)
	}
	if _, err := SelectNodes(nodes, []string{"win"}, nil); err == nil || !strings.Contains(err.Error(), "Windows") {
		t.Errorf("--node win: %v", err)
	}
}

func TestSelectNodesRejects(t *testing.T) {
	for _, tc := range []struct {
		names, emulate []string
		want           string
	}{
		{[]string{"nosuch"}, nil, `"nosuch"`},
		{nil, []string{"linux/arm64"}, `"linux/arm64"`},
		{nil, []string{"linux/sparc=amd"}, `"linux/sparc=amd"`},
		{nil, []string{"linux/arm64=nosuch"}, `"nosuch"`},
		{[]string{"amd"}, []string{"linux/arm64=arm"}, `"arm"`}, // arm is not in the builder
	} {
		if _, err := SelectNodes(testNodes, tc.names, tc.emulate); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SelectNodes(%v, %v) = %v, want an error naming %s", tc.names, tc.emulate, err, tc.want)
		}
	}
	if _, err := SelectNodes(nil, nil, nil); err == nil || !strings.Contains(err.Error(), "node add") {
		t.Errorf("no nodes: %v", err)
	}
}

func plat(s string) ocispec.Platform { return platforms.MustParse(s) }

func storeNode(endpoint string, plats ...string) store.Node {
	n := store.Node{Name: "b-" + endpoint, Endpoint: endpoint}
	for _, p := range plats {
		n.Platforms = append(n.Platforms, plat(p))
	}
	return n
}

func TestMerge(t *testing.T) {
	current := &store.NodeGroup{Name: "b", Driver: containerDriver, Nodes: []store.Node{
		storeNode("x", "linux/amd64"), storeNode("amd", "linux/amd64"), storeNode("arm", "linux/arm64"),
	}}
	desired := &store.NodeGroup{Name: "b", Driver: containerDriver, Nodes: []store.Node{
		storeNode("pi", "linux/arm/v7"), storeNode("arm", "linux/arm64"), storeNode("amd", "linux/amd64"),
	}}
	out, res := merge(current, desired)
	var order []string
	for _, n := range out.Nodes {
		order = append(order, n.Endpoint)
	}
	if !slices.Equal(order, []string{"amd", "arm", "pi"}) {
		t.Errorf("merged order %v: kept nodes keep their place, new ones are appended", order)
	}
	if !res.Changed || res.Created || !slices.Equal(res.Added, []string{"pi"}) || !slices.Equal(res.Removed, []string{"x"}) {
		t.Errorf("result = %+v", res)
	}

	// The same nodes again: nothing changes, even after a round trip turned nil into empty.
	again := &store.NodeGroup{Name: "b", Driver: containerDriver}
	for _, n := range out.Nodes {
		n.DriverOpts = map[string]string{}
		again.Nodes = append(again.Nodes, n)
	}
	if _, res := merge(out, again); res.Changed || len(res.Added)+len(res.Removed) != 0 {
		t.Errorf("re-applying the same nodes: %+v", res)
	}

	// A new pinned platform on a kept node is a change.
	changed := &store.NodeGroup{Name: "b", Driver: containerDriver, Nodes: []store.Node{
		storeNode("amd", "linux/amd64", "linux/arm64"), storeNode("arm", "linux/arm64"), storeNode("pi", "linux/arm/v7"),
	}}
	if _, res := merge(out, changed); !res.Changed {
		t.Error("an emulated platform added to a node is not seen as a change")
	}

	if _, res := merge(nil, desired); !res.Created || !res.Changed || len(res.Added) != 3 {
		t.Errorf("new builder: %+v", res)
	}
}

func TestBuildkitdFlags(t *testing.T) {
	for _, tc := range []struct {
		flags string
		opts  map[string]string
		want  []string
	}{
		{"", nil, []string{"--allow-insecure-entitlement=network.host"}},
		{"--debug", map[string]string{"network": "host"}, []string{"--debug", "--allow-insecure-entitlement=network.host"}},
		{"--allow-insecure-entitlement=security.insecure", nil, []string{"--allow-insecure-entitlement=security.insecure"}},
		{"--allow-insecure-entitlement=security.insecure", map[string]string{"network": "host"},
			[]string{"--allow-insecure-entitlement=security.insecure", "--allow-insecure-entitlement=network.host"}},
		{"--allow-insecure-entitlement=network.host", nil, []string{"--allow-insecure-entitlement=network.host"}},
	} {
		got, err := buildkitdFlags(tc.flags, tc.opts)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("buildkitdFlags(%q, %v) = %v, %v; want %v", tc.flags, tc.opts, got, err, tc.want)
		}
	}
	if _, err := buildkitdFlags(`--debug "unterminated`, nil); err == nil || !strings.Contains(err.Error(), "unterminated") {
		t.Errorf("bad quoting: %v", err)
	}
}

func TestValidateBuilderNameAndDriverOpts(t *testing.T) {
	for _, bad := range []string{"default", "1abc", "a b", "a/b", ""} {
		if _, err := ValidateBuilderName(bad); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("ValidateBuilderName(%q) = %v", bad, err)
		}
	}
	if n, err := ValidateBuilderName("My.Builder-1"); err != nil || n != "my.builder-1" {
		t.Errorf("ValidateBuilderName = %q, %v", n, err)
	}
	got, err := parseDriverOpts([]string{"image=x:1,network=host", "memory=1g"})
	if err != nil || len(got) != 3 || got["image"] != "x:1" || got["network"] != "host" {
		t.Errorf("parseDriverOpts = %v, %v", got, err)
	}
	if _, err := parseDriverOpts([]string{"image"}); err == nil || !strings.Contains(err.Error(), `"image"`) {
		t.Errorf("parseDriverOpts without '=': %v", err)
	}
}
