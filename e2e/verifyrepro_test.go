//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

type reproducedMeta struct {
	Platform   string
	Node       string
	Digest     string
	Reproduced *struct {
		Node       string
		SameNode   bool
		Why        string
		Image      string
		Digest     string
		Reproduced bool
	}
}

func readReproduced(t *testing.T, md string) []reproducedMeta {
	t.Helper()
	dt, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Platforms []reproducedMeta `json:"multiarch.platforms"`
	}
	if err := json.Unmarshal(dt, &meta); err != nil {
		t.Fatalf("metadata: %v\n%s", err, dt)
	}
	return meta.Platforms
}

// Issue 23: a deterministic Dockerfile, 3 platforms, --verify-reproducible: every platform built
// a second time (amd64 on the other native node; the emulated ones, which one node each builds, on
// the same node without cache), each reproduced, the tag pushed, the metadata naming both builds.
func TestVerifyReproducibleThreePlatforms(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo %d > /made && mkdir /d && touch /d/f\n", farm.Busybox, time.Now().UnixNano())})
	repo := uniqueRepo("verifyrepro")
	md := filepath.Join(t.TempDir(), "md.json")
	r := c.ok(8*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push", "--verify-reproducible",
		"--source-date-epoch", "1700000000", "--metadata-file", md, "-t", farm.Registry+"/"+repo+":1", dir)
	out := r.Combined()
	reg := newRegistryClient(t)
	images := map[string]string{}
	for _, m := range reg.index(repo, "1").Manifests {
		if m.Platform != nil && m.Annotations["vnd.docker.reference.type"] == "" {
			images[m.Platform.Architecture+m.Platform.Variant] = m.Digest.String()
		}
	}
	if len(images) != 3 {
		t.Fatalf("the tag holds %v", images)
	}
	for _, p := range readReproduced(t, md) {
		rep := p.Reproduced
		if rep == nil || !rep.Reproduced || rep.Image != rep.Digest {
			t.Fatalf("%s: reproduced %+v\n%s", p.Platform, rep, out)
		}
		arch := strings.ReplaceAll(strings.TrimPrefix(p.Platform, "linux/"), "/", "")
		if images[arch] != rep.Image {
			t.Errorf("%s: the metadata's image %s is not the tag's %s", p.Platform, rep.Image, images[arch])
		}
		// The second build's image is in the registry, by digest, and is the same manifest.
		if got := reg.digest(repo, rep.Digest); got != rep.Digest {
			t.Errorf("%s: the second build's image %s reads back as %s", p.Platform, rep.Digest, got)
		}
		switch p.Platform {
		case "linux/amd64":
			if rep.SameNode || rep.Node == p.Node {
				t.Errorf("linux/amd64 built again on %s, the node that built it first (%s): farm-a and farm-b are both native", rep.Node, p.Node)
			}
		default:
			if !rep.SameNode || rep.Node != p.Node || !strings.Contains(rep.Why, "without its cache") {
				t.Errorf("%s (emulated on one node only): again on %s, %q", p.Platform, rep.Node, rep.Why)
			}
		}
		if !regexp.MustCompile(regexp.QuoteMeta(p.Platform) + `\s.*reproduced on ` + rep.Node).MatchString(out) {
			t.Errorf("the summary does not say %s was reproduced on %s:\n%s", p.Platform, rep.Node, out)
		}
	}
	if tags := reg.tags(repo); len(tags) != 1 || tags[0] != "1" {
		t.Errorf("tags %v, want only the one published", tags)
	}
	// rebuild REF: every platform rebuilt from its provenance (mode=min: the epoch from the image's
	// creation time) without cache, and each the same image; no tag moves.
	rb := c.ok(8*time.Minute, "multiarch", "rebuild", farm.Registry+"/"+repo+":1", "--context", dir, "--builder", builder, "--format", "json")
	var rebuilt []struct {
		Platform, Image, Digest string
		Reproduced              bool
	}
	if err := json.Unmarshal([]byte(rb.Stdout), &rebuilt); err != nil {
		t.Fatalf("rebuild --format json: %v\n%s", err, rb.Combined())
	}
	if len(rebuilt) != 3 || !strings.Contains(rb.Stderr, "SOURCE_DATE_EPOCH 1700000000 is the image's creation time") {
		t.Fatalf("rebuild: %+v\n%s", rebuilt, rb.Combined())
	}
	for _, p := range rebuilt {
		arch := strings.ReplaceAll(strings.TrimPrefix(p.Platform, "linux/"), "/", "")
		if !p.Reproduced || p.Digest != images[arch] || p.Image != images[arch] {
			t.Errorf("rebuild of %s: %+v, want the tag's image %s again", p.Platform, p, images[arch])
		}
	}
	if tags := reg.tags(repo); len(tags) != 1 {
		t.Errorf("rebuild moved tags: %v", tags)
	}
}

// Issue 23: rebuild of a tag built without --reproducible names the timestamps that differ, and
// fails; no tag moves.
func TestRebuildNamesTimestampDifferences(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo %d > /made\n", farm.Busybox, time.Now().UnixNano())})
	repo := uniqueRepo("rebuild")
	ref := farm.Registry + "/" + repo + ":plain"
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--push", "-t", ref, dir)
	before := newRegistryClient(t).digest(repo, "plain")
	time.Sleep(1100 * time.Millisecond) // another second: the rebuild cannot share a timestamp by chance
	r := c.run(8*time.Minute, "multiarch", "rebuild", ref, "--context", dir, "--builder", builder)
	out := r.Combined()
	if r.ExitCode == 0 || !strings.Contains(out, "does not reproduce: linux/amd64") || !strings.Contains(out, "DIFFERS") {
		t.Fatalf("rebuild of a build without --reproducible:\n%s", out)
	}
	// BuildKit gives the same layer (the file's time within the second it was made), and the
	// config's times to the nanosecond: the rebuild's are the second itself.
	if !regexp.MustCompile(`/made \(layer \d+\): [^\n]*mtime \S+, then \S+`).MatchString(out) && !strings.Contains(out, "config created:") ||
		!strings.Contains(out, "config history[1] created:") {
		t.Errorf("no timestamp difference is named:\n%s", out)
	}
	if after := newRegistryClient(t).digest(repo, "plain"); after != before {
		t.Errorf("rebuild moved the tag: %s, then %s", before, after)
	}
}

// Issue 23: a Dockerfile that writes the time and random bytes: the build fails naming the
// platform and the files with both content digests; no tag moved, none left. With =warn the same
// build publishes and says what differs.
func TestVerifyReproducibleNamesTheFilesThatDiffer(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN date > /built && head -c 16 /dev/urandom > /random && echo same > /same\n"})
	repo := uniqueRepo("notrepro")
	args := []string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--push", "--source-date-epoch", "1700000000", dir}
	r := c.run(8*time.Minute, append(args, "--verify-reproducible", "-t", farm.Registry+"/"+repo+":1")...)
	out := r.Combined()
	if r.ExitCode == 0 {
		t.Fatalf("a build that writes the time passed --verify-reproducible:\n%s", out)
	}
	// /built holds the time (busybox's date has no nanoseconds: the two builds may agree on it).
	digests := regexp.MustCompile(`\n  /random \(layer \d+\): content (sha256:[0-9a-f]{64}), then (sha256:[0-9a-f]{64})\n`).FindAllStringSubmatch(out, -1)
	if len(digests) != 1 || digests[0][1] == digests[0][2] || !strings.Contains(out, "linux/amd64: built on node") || !strings.Contains(out, "no tag moved") {
		t.Fatalf("the failure does not name /random, once, with both contents:\n%s", out)
	}
	if strings.Contains(out, "/same (layer") {
		t.Errorf("a file that is the same is listed:\n%s", out)
	}
	reg := newRegistryClient(t)
	if tags := reg.tagsIfAny(repo); len(tags) != 0 {
		t.Errorf("a build that did not reproduce left tags %v", tags)
	}
	// linux/arm64 only farm-b builds (emulated): the second build runs there too, after the first
	// (two builds at once on one BuildKit would share the RUN step, no-cache or not), and differs.
	same := slices.Clone(args)
	same[slices.Index(same, "linux/amd64")] = "linux/arm64"
	r = c.run(8*time.Minute, append(same, "--verify-reproducible", "-t", farm.Registry+"/"+repo+":same")...)
	if out := r.Combined(); r.ExitCode == 0 || !strings.Contains(out, "again on node farm-b (no other node builds linux/arm64") || !strings.Contains(out, "\n  /random (layer") {
		t.Errorf("the same node's second build does not find /random differing:\n%s", out)
	}
	r = c.ok(8*time.Minute, append(args, "--verify-reproducible=warn", "-t", farm.Registry+"/"+repo+":warn")...)
	if out := r.Combined(); !strings.Contains(out, "not reproducible") || !strings.Contains(out, "/built (layer") || !strings.Contains(out, "DIFFERS on") {
		t.Errorf("--verify-reproducible=warn does not report the difference:\n%s", out)
	}
	if reg.digest(repo, "warn") == "" {
		t.Error("--verify-reproducible=warn did not publish")
	}
}
