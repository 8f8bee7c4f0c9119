package contexts

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustAdd(t *testing.T, n *Nodes, opts AddOptions) {
	t.Helper()
	if _, err := n.Add(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
}

func mustDiff(t *testing.T, n *Nodes, opts AddOptions) AddDiff {
	t.Helper()
	d, err := n.Diff(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDiffNewNodes(t *testing.T) {
	n, s, f := newTestNodes(t)
	writeContext(t, s, "mine", hostB)
	for _, tc := range []struct {
		opts      AddOptions
		action    string
		platforms []string
	}{
		{addOpts("amd", hostA), DiffCreate, []string{"linux/amd64"}},                              // probed
		{addOpts("pi", "tcp://127.0.0.1:1", "linux/armhf"), DiffCreate, []string{"linux/arm/v7"}}, // given: not probed
		{AddOptions{Name: "mine", Context: "mine", Timeout: time.Second}, DiffAdopt, []string{"linux/arm64"}},
		{addOpts("mine", hostB+"/"), DiffAdopt, []string{"linux/arm64"}}, // the same endpoint, written otherwise
		{AddOptions{Name: "copy", Context: "mine", Platforms: []string{"linux/arm64"}, Timeout: time.Second}, DiffCreate, []string{"linux/arm64"}},
	} {
		d := mustDiff(t, n, tc.opts)
		if d.Action != tc.action || !slices.Equal(d.Platforms, tc.platforms) || len(d.Changes) != 0 {
			t.Errorf("Diff(%+v) = %+v, want %s %v", tc.opts, d, tc.action, tc.platforms)
		}
	}
	if slices.Contains(f.probed, "tcp://127.0.0.1:1") {
		t.Error("a node with its platforms given was probed")
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"mine"}) {
		t.Errorf("Diff wrote contexts: %v", names)
	}
}

func TestDiffOfAnAddedNodeIsUnchanged(t *testing.T) {
	n, _, f := newTestNodes(t)
	tls := writeTLSFiles(t, "b")
	adds := []AddOptions{
		addOpts("amd", hostA),
		addOpts("given", hostA, "linux/amd64", "linux/arm64"),
		{Name: "tls", Host: hostB, TLS: tls, Description: "over TLS", Timeout: time.Second},
	}
	for _, o := range adds {
		mustAdd(t, n, o)
	}
	f.probed = nil
	for _, o := range adds {
		if d := mustDiff(t, n, o); d.Action != DiffUnchanged || len(d.Changes) != 0 {
			t.Errorf("Diff(%s) after adding it = %+v", o.Name, d)
		}
	}
	// Platforms given as the engine reported them, or a description left out, are no change either.
	for _, o := range []AddOptions{addOpts("amd", hostA, "linux/x86_64"), {Name: "tls", Host: hostB, TLS: tls, Timeout: time.Second}} {
		if d := mustDiff(t, n, o); d.Action != DiffUnchanged {
			t.Errorf("Diff(%+v) = %+v", o, d)
		}
	}
	if len(f.probed) != 0 {
		t.Errorf("nodes whose platforms are known were probed: %v", f.probed)
	}
}

func TestDiffNamesEachChange(t *testing.T) {
	n, s, f := newTestNodes(t)
	mustAdd(t, n, addOpts("amd", hostA))
	mustAdd(t, n, AddOptions{Name: "tls", Host: hostB, TLS: writeTLSFiles(t, "one"), Timeout: time.Second})
	mustAdd(t, n, addOpts("pinned", hostA, "linux/arm64"))
	f.engines[hostC] = Engine{OS: "linux", Arch: "aarch64", Platform: "linux/arm64"}
	for _, tc := range []struct {
		opts   AddOptions
		want   Change
		plat   []string
		detail string
	}{
		{addOpts("amd", hostA, "linux/amd64", "linux/arm64"), Change{FieldPlatforms, "linux/amd64 (detected)", "linux/amd64,linux/arm64"}, []string{"linux/amd64", "linux/arm64"}, "platforms given"},
		{addOpts("amd", hostC), Change{FieldEndpoint, hostA, hostC}, []string{"linux/arm64"}, "another endpoint"},
		{AddOptions{Name: "amd", Host: hostA, Description: "new", Timeout: time.Second}, Change{FieldDescription, "", "new"}, []string{"linux/amd64"}, "description"},
		{AddOptions{Name: "tls", Host: hostB, TLS: writeTLSFiles(t, "two"), Timeout: time.Second}, Change{FieldTLS, "stored", "the files given"}, []string{"linux/arm64"}, "other TLS files"},
		{addOpts("pinned", hostA), Change{FieldPlatforms, "linux/arm64", "linux/amd64 (detected)"}, []string{"linux/amd64"}, "platforms no longer given"},
	} {
		d := mustDiff(t, n, tc.opts)
		if d.Action != DiffUpdate || len(d.Changes) < 1 || d.Changes[0] != tc.want || !slices.Equal(d.Platforms, tc.plat) {
			t.Errorf("%s: Diff = %+v, want update with %+v and platforms %v", tc.detail, d, tc.want, tc.plat)
		}
	}
	if d := mustDiff(t, n, addOpts("amd", hostC)); !d.Has(FieldPlatforms) || !d.Has(FieldEndpoint) {
		t.Errorf("moving to an arm64 engine changes the detected platform too: %+v", d)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"amd", "pinned", "tls"}) {
		t.Errorf("contexts %v", names)
	}
}

func TestDiffRefuses(t *testing.T) {
	n, s, f := newTestNodes(t)
	writeContext(t, s, "mine", hostB)
	f.errs[hostC] = errors.New("connection refused")
	for _, tc := range []struct {
		opts AddOptions
		want string
	}{
		{addOpts("mine", hostA), `context "mine" exists, is not a node and has endpoint tcp://127.0.0.1:2376, not unix:///run/a.sock`},
		{addOpts("down", hostC), `node "down": engine at ssh://builder@arm-box: connection refused (give its platforms`},
		{addOpts("bad", hostA, "linux/sparc"), `"linux/sparc"`},
		{AddOptions{Name: "cp", Context: "nosuch", Timeout: time.Second}, `"nosuch"`},
	} {
		if _, err := n.Diff(context.Background(), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Diff(%+v) = %v, want an error with %s", tc.opts, err, tc.want)
		}
	}
}

func TestSaveAndRestore(t *testing.T) {
	n, s, _ := newTestNodes(t)
	tls := writeTLSFiles(t, "one")
	mustAdd(t, n, AddOptions{Name: "tls", Host: hostB, TLS: tls, Timeout: time.Second})
	before, err := n.Get("tls")
	if err != nil {
		t.Fatal(err)
	}
	savedTLS, err := n.Save("tls")
	if err != nil {
		t.Fatal(err)
	}
	savedNew, err := n.Save("new")
	if err != nil || savedNew.Name() != "new" {
		t.Fatal(savedNew, err)
	}
	mustAdd(t, n, AddOptions{Name: "tls", Host: hostA, Platforms: []string{"linux/arm64"}, Force: true, Timeout: time.Second})
	mustAdd(t, n, addOpts("new", hostA))
	for _, sv := range []Saved{savedNew, savedTLS} {
		if err := n.Restore(context.Background(), sv, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	after, err := n.Get("tls")
	if err != nil || !nodesEqual(after, before) {
		t.Errorf("restored node = %+v, %v; want %+v", after, err, before)
	}
	if got, want := storedTLS(t, s, "tls"), tlsOf(t, tls); !maps.Equal(got, want) {
		t.Errorf("restored TLS files %v", got)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"tls"}) {
		t.Errorf("contexts after restore: %v", names)
	}
}
