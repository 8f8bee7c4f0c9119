//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Issue 23: the same build on two machines (each engine's own BuildKit) gives the same linux/amd64
// image with --reproducible (SOURCE_DATE_EPOCH set, timestamps rewritten), and another one
// without it (the files' and the config's times differ).
func TestReproducibleAcrossNodes(t *testing.T) {
	c := newCLI(t).withBuildx()
	c.farmNodes()
	var builders []string
	for _, node := range []string{"farm-a", "farm-b"} {
		name := fmt.Sprintf("repro%s%d", node[len(node)-1:], time.Now().UnixNano())
		c.removeBuilderAtCleanup(name)
		c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", name, "--node", node}, farmDriverOpts())...)
		builders = append(builders, name)
	}
	dir := writeFiles(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo %d > /made && mkdir /d && touch /d/f\n", farm.Busybox, time.Now().UnixNano())})
	repo := uniqueRepo("repro")
	reg := newRegistryClient(t)
	imageOf := func(tag string) string {
		for _, m := range reg.index(repo, tag).Manifests {
			if m.Platform != nil && m.Platform.Architecture == "amd64" {
				return m.Digest.String()
			}
		}
		t.Fatalf("%s has no amd64 image", tag)
		return ""
	}
	build := func(builder, tag string, extra ...string) string {
		c.ok(5*time.Minute, slices.Concat([]string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--push",
			"-t", farm.Registry + "/" + repo + ":" + tag}, extra, []string{dir})...)
		return imageOf(tag)
	}
	a := build(builders[0], "a", "--reproducible", "--source-date-epoch", "1700000000")
	time.Sleep(1100 * time.Millisecond) // another second on the clock
	b := build(builders[1], "b", "--reproducible", "--source-date-epoch", "1700000000", "--no-cache")
	if a != b {
		t.Errorf("--reproducible on farm-a and farm-b: %s and %s, want the same image", a, b)
	}
	if created := reg.config(repo, reg.manifest(repo, a)).Created; created == nil || created.Unix() != 1700000000 {
		t.Errorf("the image's creation time is %v, want SOURCE_DATE_EPOCH", created)
	}
	x := build(builders[0], "x", "--no-cache")
	time.Sleep(1100 * time.Millisecond)
	if y := build(builders[1], "y", "--no-cache"); x == y {
		t.Errorf("without --reproducible the two builds gave the same image %s: the check above proves nothing", x)
	}
}
