package farm

// Fuzz target of the farm file parser (file.go, validate.go): apply -f reads files from
// repositories and standard input.

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/docker/cli/cli/context/store"
	"go.yaml.in/yaml/v3"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// maxFuzzFile bounds a fuzzed farm file: real ones declare a few nodes and builders.
const maxFuzzFile = 1 << 16

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		exampleFile,
		"nodes:\n  - {name: na, host: unix:///a}\n  - {name: nb, host: unix:///b}\nbuilders: [{name: m, nodes: [na], emulate: {linux/arm64: na}}]\n",
		"nodes: [{name: bk, buildkit: \"tcp://bk:1234\", platforms: [linux/arm64], tls: {ca: ca.pem, cert: c.pem, key: k.pem, servername: bk.example}}]\n",
		"nodes: [{name: na, host: \"tcp://u:secret@box:2376\"}]\n",
		"nodes: []\nbuilder: []\n",
		"nodes: [{name: na, name: nb, host: unix:///a}]\n",
		"nodes: [{name: na, host: unix:///a}]\n---\nnodes: []\n",
		"- a\n", "", "nodes: &n [{name: na, host: unix:///a}]\nbuilders: [{name: m, nodes: [na]}]\n",
		"nodes:\n  - name: na\n    host: unix:///a\n    platforms: [LINUX/AARCH64, linux/x86_64]\nbuilders:\n  - name: all\n    use: true\n",
		"builders: [{name: m, driver-opts: [image]}]\n", "builders: [{name: m, buildkitd-flags: \"--debug 'x\"}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzFile {
			t.Skip()
		}
		dir := t.TempDir()
		file, err := Parse(data, "ci/multiarch.yaml", dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ci/multiarch.yaml: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		checkFarmFile(t, file)
		// Round trip: the file written back as YAML parses to the same file.
		out, err := yaml.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out, "ci/multiarch.yaml", dir)
		if err != nil {
			t.Fatalf("%s\nwritten back as\n%s\nis refused: %v", data, out, err)
		}
		if again, _ := yaml.Marshal(back); !bytes.Equal(again, out) {
			t.Fatalf("written back as\n%s\nparses to\n%s", out, again)
		}
	})
}

// checkFarmFile: what a parsed farm file promises apply.
func checkFarmFile(t *testing.T, file *File) {
	t.Helper()
	if len(file.Nodes) == 0 && len(file.Builders) == 0 {
		t.Fatal("a file with no nodes and no builders accepted")
	}
	nodes := map[string]bool{}
	for _, n := range file.Nodes {
		if store.ValidateContextName(n.Name) != nil || nodes[n.Name] {
			t.Fatalf("node name %q", n.Name)
		}
		nodes[n.Name] = true
		if countGiven(n.Host, n.Context, n.BuildKit) != 1 {
			t.Fatalf("node %s: host %q, context %q, buildkit %q", n.Name, n.Host, n.Context, n.BuildKit)
		}
		if _, err := contexts.ParsePlatforms(n.Platforms); err != nil {
			t.Fatalf("node %s: %v", n.Name, err)
		}
		if n.TLS != nil && (n.TLS.Cert == "") != (n.TLS.Key == "") {
			t.Fatalf("node %s: tls %+v", n.Name, *n.TLS)
		}
	}
	builderNames := map[string]bool{}
	for _, b := range file.Builders {
		if b.Name == "" || b.Name == "default" || builderNames[b.Name] {
			t.Fatalf("builder name %q", b.Name)
		}
		builderNames[b.Name] = true
		for _, n := range b.Nodes {
			if !nodes[n] {
				t.Fatalf("builder %s: node %q not declared", b.Name, n)
			}
		}
		for _, plat := range slices.Sorted(maps.Keys(b.Emulate)) {
			node := b.Emulate[plat]
			if _, err := contexts.ParsePlatform(plat); err != nil || !nodes[node] || len(b.Nodes) > 0 && !slices.Contains(b.Nodes, node) {
				t.Fatalf("builder %s: emulate %s on %q (%v)", b.Name, plat, node, err)
			}
		}
	}
}
