package plugin

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

func sampleNodes() []nodeView {
	return []nodeView{
		{Name: "amd64-box", Kind: "engine", Endpoint: "tcp://10.0.0.5:2376", Platforms: []string{"linux/amd64"}, Status: "ok"},
		{Name: "pi", Kind: "buildkit", Endpoint: "ssh://pi@pi.local", Platforms: []string{"linux/arm64", "linux/arm/v7"}, Status: "error", Error: "no answer within 3s"},
	}
}

func TestNodeListFormats(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"table {{.Name}}\t{{.Platforms}}", "NAME        PLATFORMS\namd64-box   linux/amd64\npi          linux/arm64,linux/arm/v7\n"},
		{"{{.Name}} {{.Status}}", "amd64-box ok\npi error: no answer within 3s\n"},
		{"table {{.Name}}", "NAME\namd64-box\npi\n"},
	} {
		var b bytes.Buffer
		if err := writeNodeList(&b, tc.format, sampleNodes()); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if b.String() != tc.want {
			t.Errorf("--format %q:\n got %q\nwant %q", tc.format, b.String(), tc.want)
		}
	}
}

func TestNodeListDefaultTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeNodeList(&b, "table", sampleNodes()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME KIND ENDPOINT PLATFORMS STATUS VERSION RUNNING" ||
		!strings.Contains(lines[2], "error: no answer within 3s") {
		t.Errorf("node ls table:\n%s", b.String())
	}
}

// JSON is one object per line, with the keys the JSON had before (part of the CLI surface).
func TestNodeListJSONLines(t *testing.T) {
	var b bytes.Buffer
	if err := writeNodeList(&b, "json", sampleNodes()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines:\n%s", b.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name", "kind", "endpoint", "platforms", "platformSource", "adopted", "status", "error", "engine", "running"} {
		if _, ok := got[key]; !ok {
			t.Errorf("node JSON lacks %q: %s", key, lines[1])
		}
	}
}

func TestListFormatRejectsBadFormats(t *testing.T) {
	for _, format := range []string{"yaml", "{{.Name", "table {{.Name"} {
		if _, err := listFormat(listFlags{format: format}, nodeTable, io.Discard); err == nil || !strings.Contains(err.Error(), format) {
			t.Errorf("format %q: error %v does not name it", format, err)
		}
	}
	var b bytes.Buffer
	if err := writeNodeList(&b, "{{.Missing}}", sampleNodes()); err == nil || !strings.Contains(err.Error(), "{{.Missing}}") || b.Len() != 0 {
		t.Errorf("unknown field: error %v, wrote %q", err, b.String())
	}
}

func TestListQuiet(t *testing.T) {
	var warn bytes.Buffer
	f, err := listFormat(listFlags{quiet: true}, nodeTable, &warn)
	if err != nil || f != quietFormat || warn.Len() != 0 {
		t.Fatalf("-q: %q %v %q", f, err, warn.String())
	}
	if f, _ = listFormat(listFlags{quiet: true, format: "json"}, nodeTable, &warn); f != quietFormat || !strings.Contains(warn.String(), "Ignoring custom format") {
		t.Errorf("-q --format json: %q, warning %q", f, warn.String())
	}
	var b bytes.Buffer
	if err := writeNodes(&b, f, sampleNodes()); err != nil || b.String() != "amd64-box\npi\n" {
		t.Errorf("-q printed %q (%v)", b.String(), err)
	}
}

func sampleBuilders() []builderView {
	return []builderView{
		{Name: "ci", Nodes: []builderNodeView{{Name: "pi", Platforms: []string{"linux/arm64"}, Status: "error", Error: "EOF"}}},
		{Name: "multiarch", Current: true, Nodes: []builderNodeView{
			{Name: "amd64-box", Endpoint: "tcp://10.0.0.5:2376", Platforms: []string{"linux/amd64", "linux/arm/v7"}, Status: "running", BuildKit: "v0.34.2"},
			{Name: "pi", Endpoint: "ssh://pi@pi.local", Platforms: []string{"linux/arm64", "linux/arm/v7"}, Status: "running", BuildKit: "v0.34.2"},
		}},
	}
}

func writeBuildersAs(t *testing.T, format string) string {
	t.Helper()
	f, err := listFormat(listFlags{format: format}, lsTable, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeBuilders(&b, f, sampleBuilders()); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLsFormats(t *testing.T) {
	if got, want := writeBuildersAs(t, "table {{.Name}}"), "NAME\nci\nmultiarch*\n"; got != want {
		t.Errorf("table {{.Name}}: got %q, want %q (one builder per row)", got, want)
	}
	if got, want := writeBuildersAs(t, "{{.Name}} {{.Nodes}} {{.Status}} {{.Platforms}}"),
		"ci pi error linux/arm64\nmultiarch amd64-box,pi running linux/amd64,linux/arm/v7,linux/arm64\n"; got != want {
		t.Errorf("template: got %q, want %q", got, want)
	}
	// A template written for docker buildx ls: its field names work.
	if got, want := writeBuildersAs(t, "table {{.Name}}\t{{.DriverEndpoint}}\t{{.Buildkit}}"),
		"NAME         DRIVER/ENDPOINT                         BUILDKIT\nci                                                   \nmultiarch*   tcp://10.0.0.5:2376,ssh://pi@pi.local   v0.34.2\n"; got != want {
		t.Errorf("buildx's template: got %q, want %q", got, want)
	}
	tree := strings.Split(strings.TrimSpace(writeBuildersAs(t, "table")), "\n")
	if len(tree) != 6 || !strings.HasPrefix(tree[0], "NAME/NODE") || !strings.HasPrefix(tree[3], "multiarch*") ||
		!strings.HasPrefix(tree[4], ` \_ amd64-box`) || !strings.Contains(tree[2], "error: EOF") {
		t.Errorf("default table:\n%s", strings.Join(tree, "\n"))
	}
	lines := strings.Split(strings.TrimSpace(writeBuildersAs(t, "json")), "\n")
	var b builderView
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &b) != nil || b.Name != "multiarch" || !b.Current || len(b.Nodes) != 2 {
		t.Errorf("json lines: %q", lines)
	}
}

func TestTestResultFormats(t *testing.T) {
	results := []driver.TestResult{{ExitCode: 0, Passed: true, Duration: 1200 * time.Millisecond, Output: []string{"x86_64"}}}
	results[0].Platform, results[0].Node = "linux/amd64", "amd64-box"
	var b bytes.Buffer
	if err := writeRows(&b, testTable, testHeader, results, testRow); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(strings.Split(b.String(), "\n")[1]); strings.Join(got, " ") != "linux/amd64 amd64-box native 0 1.2s pass x86_64" {
		t.Errorf("test table row: %q", got)
	}
	b.Reset()
	if err := writeRows(&b, "json", testHeader, results, testRow); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `{"platform":"linux/amd64",`) || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("test json: %q", b.String())
	}
}
