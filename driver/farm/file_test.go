package farm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const exampleFile = `
nodes:
  - name: amd64-box
    host: ssh://ci@amd64-box
    platforms: [linux/amd64]
    description: the x86 runner
  - name: arm64-box
    host: tcp://10.0.0.7:2376
    tls: {ca: certs/ca.pem, cert: certs/cert.pem, key: /abs/key.pem}
  - name: desktop
    context: desktop-linux
builders:
  - name: multiarch
    nodes: [amd64-box, arm64-box]
    emulate: {linux/arm/v7: arm64-box}
    driver-opts: [image=moby/buildkit:v0.34.2, network=host]
    buildkitd-flags: --debug
    use: true
  - name: all
`

func TestParseExample(t *testing.T) {
	f, err := Parse([]byte(exampleFile), "multiarch.yaml", "/ci", "fs.read=/abs")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != 3 || len(f.Builders) != 2 || f.Path() != "multiarch.yaml" {
		t.Fatalf("parsed %+v", f)
	}
	if n := f.Nodes[0]; n.Host != "ssh://ci@amd64-box" || !slices.Equal(n.Platforms, []string{"linux/amd64"}) || n.Description != "the x86 runner" {
		t.Errorf("node 0 = %+v", n)
	}
	o := f.addOptions(f.Nodes[1], 0)
	if o.TLS.CA != "/ci/certs/ca.pem" || o.TLS.Cert != "/ci/certs/cert.pem" || o.TLS.Key != "/abs/key.pem" {
		t.Errorf("TLS paths are not resolved against the file: %+v", o.TLS)
	}
	if n := f.Nodes[2]; n.Context != "desktop-linux" || n.Host != "" {
		t.Errorf("node 2 = %+v", n)
	}
	b := f.Builders[0]
	if b.Emulate["linux/arm/v7"] != "arm64-box" || !slices.Equal(b.DriverOpts, []string{"image=moby/buildkit:v0.34.2", "network=host"}) ||
		b.BuildkitdFlags != "--debug" || !b.Use || !slices.Equal(b.Nodes, []string{"amd64-box", "arm64-box"}) {
		t.Errorf("builder 0 = %+v", b)
	}
}

func TestParseIsStrict(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"top level", "nodes: []\nbuilder: []\n", `line 2: unknown key "builder" in the top level (known keys: nodes, builders)`},
		{"node", "nodes:\n  - name: na\n    hostt: unix:///a\n", `line 3: unknown key "hostt" in a node`},
		{"tls", "nodes:\n  - name: na\n    host: tcp://h:2376\n    tls: {ca: x, certificate: y}\n", `unknown key "certificate" in tls (known keys: ca, cert, key, servername)`},
		{"builder", "nodes: [{name: na, host: unix:///a}]\nbuilders:\n  - name: b\n    driver-opt: [x=y]\n", `line 4: unknown key "driver-opt" in a builder`},
		{"type", "nodes: [{name: na, host: unix:///a, platforms: {linux: amd64}}]\n", "line 1: cannot unmarshal"},
		{"duplicate key", "nodes: [{name: na, name: nb, host: unix:///a}]\n", `"name" already defined`},
		{"two documents", "nodes: [{name: na, host: unix:///a}]\n---\nnodes: []\n", "more than one YAML document"},
		{"empty", "", "empty farm file"},
		{"not a map", "- a\n", "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "ci/multiarch.yaml", "ci")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ci/multiarch.yaml: ") {
				t.Errorf("error %v, want one naming the file and %s", err, tc.want)
			}
		})
	}
}

func TestParseValidatesEveryValue(t *testing.T) {
	node := func(extra string) string { return "nodes:\n  - name: na\n    host: unix:///a\n" + extra }
	const two = "nodes:\n  - {name: na, host: unix:///a}\n  - {name: nb, host: unix:///b}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"no entries", "nodes: []\n", "declares no nodes and no builders"},
		{"bad name", "nodes: [{name: -x, host: unix:///a}]\n", `nodes[0] (-x): name "-x"`},
		{"reserved name", "nodes: [{name: default, host: unix:///a}]\n", `"default"`},
		{"no endpoint", "nodes: [{name: na}]\n", "nodes[0] (na): give host"},
		{"both endpoints", "nodes: [{name: na, host: unix:///a, context: c}]\n", "host unix:///a, context c: give one of host, context and buildkit"},
		{"host and buildkit", "nodes: [{name: na, host: unix:///a, buildkit: \"tcp://bk:1234\"}]\n", "host unix:///a, buildkit tcp://bk:1234: give one of"},
		{"bad buildkit", "nodes: [{name: na, buildkit: \"http://bk:1234\"}]\n", `invalid BuildKit address "http://bk:1234"`},
		{"buildkit credentials", "nodes: [{name: na, buildkit: \"tcp://u:secret@bk:1234\"}]\n", "no credentials"},
		{"servername on an engine", "nodes: [{name: na, host: \"tcp://h:2376\", tls: {ca: ca.pem, servername: x}}]\n", `servername "x" applies to BuildKit daemons only`},
		{"bad host", "nodes: [{name: na, host: ftp://box}]\n", `nodes[0] (na): invalid host "ftp://box"`},
		{"credentials", "nodes: [{name: na, host: \"tcp://u:secret@box:2376\"}]\n", "credentials"},
		{"bad platform", node("    platforms: [linux/amd64, linux/sparc]\n"), `nodes[0] (na): invalid platform "linux/sparc"`},
		{"duplicate node", two + "  - {name: na, host: unix:///c}\n", `nodes[2] (na): node name "na" is declared twice`},
		{"tls on unix", node("    tls: {ca: ca.pem}\n"), `tls applies to tcp:// hosts and BuildKit daemons only, not "host unix:///a"`},
		{"cert without key", "nodes: [{name: na, host: \"tcp://h:2376\", tls: {cert: c.pem}}]\n", `cert "c.pem" and key ""`},
		{"unknown builder node", two + "builders: [{name: m, nodes: [na, nc]}]\n", `builders[0] (m): nodes: unknown node "nc"`},
		{"node listed twice", two + "builders: [{name: m, nodes: [na, na]}]\n", `node "na" is listed twice`},
		{"bad builder name", two + "builders: [{name: \"b/c\"}]\n", `invalid builder name "b/c"`},
		{"default builder", two + "builders: [{name: default}]\n", `"default"`},
		{"duplicate builder", two + "builders: [{name: m}, {name: m}]\n", `builders[1] (m): builder name "m" is declared twice`},
		{"bad emulate platform", two + "builders: [{name: m, emulate: {linux/sparc: na}}]\n", `emulate: invalid platform "linux/sparc"`},
		{"emulate on unknown node", two + "builders: [{name: m, emulate: {linux/arm64: nc}}]\n", `node "nc"`},
		{"emulate outside the builder", two + "builders: [{name: m, nodes: [na], emulate: {linux/arm64: nb}}]\n", `node "nb": the node is not in the builder`},
		{"bad driver opt", two + "builders: [{name: m, driver-opts: [image]}]\n", `"image"`},
		{"bad buildkitd flags", two + "builders: [{name: m, buildkitd-flags: \"--debug 'x\"}]\n", `--debug 'x`},
		{"missing buildkitd config", two + "builders: [{name: m, buildkitd-config: nosuch.toml}]\n", "nosuch.toml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "multiarch.yaml", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "multiarch.yaml: ") {
				t.Errorf("error %v, want one naming the file and %s", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the URL's password: %v", err)
			}
		})
	}
}

func TestLoadResolvesPathsAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "buildkitd.toml"), []byte("debug = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "multiarch.yaml")
	data := "nodes: [{name: na, host: unix:///a}]\nbuilders: [{name: m, buildkitd-config: buildkitd.toml}]\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.builderSpec(f.Builders[0], nil).BuildkitdConfig; got != filepath.Join(dir, "buildkitd.toml") {
		t.Errorf("buildkitd-config resolved to %s", got)
	}
	f, err = Load("-", strings.NewReader(data), nil)
	if err == nil || !strings.Contains(err.Error(), "buildkitd.toml") || !strings.HasPrefix(err.Error(), "stdin: ") {
		t.Errorf("from stdin, relative paths start in the working directory: %v, %v", f, err)
	}
	if _, err := Load(filepath.Join(dir, "nosuch.yaml"), nil, nil); err == nil || !strings.Contains(err.Error(), "nosuch.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
