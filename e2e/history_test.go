//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

type runRecord struct {
	ID, Command, Builder, Outcome, Index, Error string
	Tags, Args                                  []string
	Platforms                                   []struct{ Target, Platform, Node, Ref, Digest string }
	TagMoves                                    []struct{ Tag, Before, After string }
}

// Issue 24: a 3-platform build, a failed build (one platform's RUN fails) and a bake each appear
// in history ls with their outcome; history inspect shows each platform's node, BuildKit
// reference and digest, and where the tag went.
func TestHistoryRecordsEveryRun(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("history")
	ok := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push", "-t", farm.Registry+"/"+repo+":1",
		"--build-arg", "TOKEN=hist-s3cret", ok)
	bad := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN [ \"$(uname -m)\" != aarch64 ]\n"})
	if r := c.run(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push", "-t", farm.Registry+"/"+repo+":2", bad); r.ExitCode == 0 {
		t.Fatalf("the failing build passed: %s", r.Combined())
	}
	r := newBakeRepos()
	dir := bakeContexts(t, map[string]string{"docker-bake.hcl": bakeHCL(r)})
	c.inDir(dir).ok(10*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "first")

	var recs []runRecord
	if err := json.Unmarshal([]byte(c.ok(time.Minute, "multiarch", "history", "ls", "--format", "json").Stdout), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Command != "bake" || recs[0].Outcome != "succeeded" || recs[1].Outcome != "failed" || recs[2].Outcome != "succeeded" {
		t.Fatalf("history ls: %+v", recs)
	}
	if !strings.Contains(recs[1].Error, "linux/arm64") {
		t.Errorf("the failed build's record does not name the failing platform: %q", recs[1].Error)
	}
	// The failed build's steps, the failing one with its error, and its BuildKit reference.
	failed := c.ok(time.Minute, "multiarch", "history", "inspect", recs[1].ID).Stdout
	if !regexpLine(failed, "ERROR", `RUN [ "$(uname -m)" != aarch64 ]`) || !strings.Contains(failed, builder+"/") {
		t.Errorf("history inspect of the failed build:\n%s", failed)
	}
	var rec runRecord
	if err := json.Unmarshal([]byte(c.ok(time.Minute, "multiarch", "history", "inspect", recs[2].ID, "--format", "json").Stdout), &rec); err != nil {
		t.Fatal(err)
	}
	reg := newRegistryClient(t)
	if rec.Index != reg.digest(repo, "1") || len(rec.Platforms) != 3 || len(rec.TagMoves) != 1 || rec.TagMoves[0].After != rec.Index {
		t.Errorf("the build's record: %+v", rec)
	}
	for _, p := range rec.Platforms {
		if p.Node == "" || !strings.HasPrefix(p.Ref, builder+"/") || !strings.HasPrefix(p.Digest, "sha256:") ||
			!strings.HasPrefix(p.Ref[strings.LastIndex(p.Ref, "/")+1:], rec.ID) { // BuildKit's record carries the run's ID
			t.Errorf("platform %+v lacks its node, reference or digest", p)
		}
	}
	if strings.Contains(strings.Join(rec.Args, " "), "hist-s3cret") || !strings.Contains(strings.Join(rec.Args, " "), "TOKEN=xxxxx") {
		t.Errorf("the command line kept: %v", rec.Args)
	}
	table := c.ok(time.Minute, "multiarch", "history", "inspect", recs[2].ID).Stdout
	for _, w := range []string{"linux/arm/v7", "farm-a", "farm-b", rec.Index} {
		if !strings.Contains(table, w) {
			t.Errorf("history inspect lacks %q:\n%s", w, table)
		}
	}
	c.ok(time.Minute, "multiarch", "history", "rm", recs[1].ID)
	if r := c.run(time.Minute, "multiarch", "history", "inspect", recs[1].ID); r.ExitCode == 0 {
		t.Error("a removed record is still there")
	}
}
