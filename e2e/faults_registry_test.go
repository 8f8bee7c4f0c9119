//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultTwoPlatforms: amd64 native on farm-a, arm64 emulated on farm-b (COPY only, so no QEMU time).
const faultTwoPlatforms = "linux/amd64,linux/arm64"

// copyContext is a build context whose image holds /data with the given content.
func copyContext(t *testing.T, content string) string {
	return writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nCOPY data /data\n", "data": content + "\n"})
}

// tagDigest is the digest a tag points at in the farm registry (read directly, not through a
// proxy), or "" when the tag does not exist.
func tagDigest(t *testing.T, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, fmt.Sprintf("http://%s/v2/%s/manifests/%s", farm.Registry, repo, tag), nil)
	req.Header.Set("Accept", manifestTypes)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Header.Get("Docker-Content-Digest")
	case http.StatusNotFound:
		return ""
	}
	t.Fatalf("HEAD %s:%s: %s", repo, tag, resp.Status)
	return ""
}

// tagsAt reads several tags' digests.
func tagsAt(t *testing.T, repo string, tags ...string) map[string]string {
	out := map[string]string{}
	for _, tag := range tags {
		out[tag] = tagDigest(t, repo, tag)
	}
	return out
}

var indexDigestLine = regexp.MustCompile(`(?m)^(sha256:[0-9a-f]{64}) pushed to `)

// publishedIndex is the index digest a build's summary says it pushed ("" when none).
func publishedIndex(out string) string {
	if m := indexDigestLine.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// The registry fails in the middle of a publish: no tag is ever left split or pointing at a
// partial index, the error says where every tag is, and the registry agrees.
func TestFaultsRegistryDuringPublish(t *testing.T) {
	c, builder := buildFarm(t)
	px := newFaultProxy(t, "http://"+farm.Registry)
	repo := uniqueRepo("faults")
	ref := func(tag string) string { return px.addr() + "/" + repo + ":" + tag }
	build := func(content string, timeout string, tags ...string) result {
		args := []string{"multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "--push", "--progress", "plain", "--timeout", timeout}
		for _, tag := range tags {
			args = append(args, "-t", ref(tag))
		}
		return c.run(5*time.Minute, append(args, copyContext(t, content))...)
	}
	manifestPath := func(tag string) string { return "^/v2/" + regexp.QuoteMeta(repo) + "/manifests/" + tag + "$" }

	// The tags as they are before every fault.
	if res := build("v0", "10s", "t1", "t2", "t3", "solo"); res.ExitCode != 0 {
		t.Fatalf("seeding the tags: %s", res.Combined())
	}
	before := tagsAt(t, repo, "t1", "t2", "t3", "solo")
	unchanged := func(what string) {
		t.Helper()
		if now := tagsAt(t, repo, "t1", "t2", "t3", "solo"); !maps.Equal(now, before) {
			t.Errorf("%s moved tags: before %v, now %v", what, before, now)
		}
	}

	t.Run("index PUT refused on the only tag", func(t *testing.T) {
		rule := px.fail(http.MethodPut, manifestPath("solo"), http.StatusForbidden, "DENIED", "injected: no tag for you")
		defer rule.remove()
		res := build("v1", "10s", "solo")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, ref("solo")) || !strings.Contains(res.Stderr, "DENIED") && !strings.Contains(res.Stderr, "denied") {
			t.Errorf("exit %d, stderr %s", res.ExitCode, tail(res.Stderr, 800))
		}
		unchanged("a refused index PUT")
	})

	t.Run("tag 2 of 3 refused", func(t *testing.T) {
		rule := px.fail(http.MethodPut, manifestPath("t2"), http.StatusInternalServerError, "UNKNOWN", "injected failure")
		defer rule.remove()
		putsT1 := px.count(http.MethodPut, manifestPath("t1"))
		res := build("v2", "10s", "t1", "t2", "t3")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "pushing the index to tag "+ref("t2")) {
			t.Errorf("exit %d; the error must name tag 2: %s", res.ExitCode, tail(res.Stderr, 800))
		}
		// t1 really moved, and was put back (a second PUT); t3 was never touched.
		if n := px.count(http.MethodPut, manifestPath("t1")) - putsT1; n != 2 {
			t.Errorf("t1 saw %d PUTs, want the move and the put-back:\n%s", n, px.dump())
		}
		if !strings.Contains(res.Stderr, ref("t1")+" put back to "+before["t1"]) || !strings.Contains(res.Stderr, ref("t3")+" unchanged at "+before["t3"]) {
			t.Errorf("the error does not say where every tag is: %s", tail(res.Stderr, 800))
		}
		unchanged("a refused tag 2")
	})

	t.Run("blob upload dropped mid-way", func(t *testing.T) {
		// Random data: a layer that stays large once compressed, so its upload has a middle.
		noise := make([]byte, 768*1024)
		if _, err := rand.Read(noise); err != nil {
			t.Fatal(err)
		}
		tagPuts := px.count(http.MethodPut, "^/v2/"+regexp.QuoteMeta(repo)+"/manifests/t[123]$")
		rule := px.drop("*", "^/v2/"+regexp.QuoteMeta(repo)+"/blobs/uploads/.+", 64*1024)
		defer rule.remove()
		res := build(hex.EncodeToString(noise), "10s", "t1", "t2", "t3")
		if res.ExitCode == 0 || !regexp.MustCompile(`linux/(amd64|arm64) on node farm-[ab]`).MatchString(res.Stderr) {
			t.Errorf("exit %d; the error must name the platform and node: %s", res.ExitCode, tail(res.Stderr, 800))
		}
		if px.count("*", "^/v2/"+regexp.QuoteMeta(repo)+"/blobs/uploads/.+") == 0 {
			t.Errorf("no upload went through the proxy:\n%s", px.dump())
		}
		if n := px.count(http.MethodPut, "^/v2/"+regexp.QuoteMeta(repo)+"/manifests/t[123]$"); n != tagPuts {
			t.Errorf("a tag was written after a failed upload:\n%s", px.dump())
		}
		unchanged("a dropped upload")
	})

	t.Run("registry hangs on the index PUT", func(t *testing.T) {
		rule := px.hang(http.MethodPut, manifestPath("t1"))
		defer rule.remove()
		var res result
		done := make(chan struct{})
		puts := px.count(http.MethodPut, manifestPath("t1"))
		go func() { defer close(done); res = build("v3", "3s", "t1", "t2") }()
		waitCount(t, px, http.MethodPut, manifestPath("t1"), puts+1, 3*time.Minute)
		hungAt := time.Now()
		<-done
		// The move is cut at 3s, then the put-back of t1 (also hung) at 3s more.
		if took := time.Since(hungAt); took > 9*time.Second {
			t.Errorf("the build returned %s after the registry hung, with --timeout 3s", took)
		}
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "registry "+px.addr()) || !strings.Contains(res.Stderr, "PUT "+repo+":t1") ||
			!strings.Contains(res.Stderr, "no answer within 3s") {
			t.Errorf("exit %d; the error must name the registry and the operation: %s", res.ExitCode, tail(res.Stderr, 800))
		}
		unchanged("a hung index PUT")
	})

	t.Run("verifying GET fails", func(t *testing.T) {
		// Hold the tag's PUT a moment, and meanwhile make every read of the tag fail: the move
		// lands, the read-back does not.
		delay := px.delay(http.MethodPut, manifestPath("solo"), 1500*time.Millisecond)
		defer delay.remove()
		var res result
		done := make(chan struct{})
		puts := px.count(http.MethodPut, manifestPath("solo"))
		go func() { defer close(done); res = build("v4", "10s", "solo") }()
		waitCount(t, px, http.MethodPut, manifestPath("solo"), puts+1, 3*time.Minute)
		head := px.fail(http.MethodHead, manifestPath("solo"), http.StatusInternalServerError, "UNKNOWN", "injected read failure")
		get := px.fail(http.MethodGet, manifestPath("solo"), http.StatusInternalServerError, "UNKNOWN", "injected read failure")
		<-done
		head.remove()
		get.remove()
		// The move landed but cannot be verified: the build fails and tries to put the tag back,
		// which the registry, refusing every read of the tag, does not allow either; the error says
		// so, and where the tag was.
		now := tagDigest(t, repo, "solo")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "verifying "+ref("solo")) ||
			!strings.Contains(res.Stderr, "not verified, so this publish's tags are put back") ||
			!strings.Contains(res.Stderr, "1 of this publish's tags could not be put back") ||
			!strings.Contains(res.Stderr, "before this publish it was "+before["solo"]) {
			t.Errorf("exit %d; the error must say the tag was not verified, could not go back, and where it was: %s\n%s", res.ExitCode, tail(res.Stderr, 1500), px.dump())
		}
		if now == before["solo"] {
			t.Error("the tag did not move: nothing was pushed to verify")
		}
		before["solo"] = now
	})
}

// Two builds of different content publish to the same two tags at once: afterwards both tags
// point at the same complete index, and a build that says it published is telling the truth.
func TestFaultsConcurrentBuildsToTheSameTags(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("race")
	ref := func(tag string) string { return farm.Registry + "/" + repo + ":" + tag }
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = c.run(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms,
				"-t", ref("t1"), "-t", ref("t2"), "--push", "--progress", "quiet", copyContext(t, fmt.Sprintf("build %d", i)))
		})
	}
	wg.Wait()
	t1, t2 := tagDigest(t, repo, "t1"), tagDigest(t, repo, "t2")
	if t1 == "" || t1 != t2 {
		t.Fatalf("the tags are split: t1 %s, t2 %s\n%v", t1, t2, results)
	}
	if got := imagePlatforms(c.reg().index(repo, "t1")); !samePlatformSet(got, strings.Split(faultTwoPlatforms, ",")) {
		t.Errorf("t1 holds %v", got)
	}
	var claimed []string
	for i, res := range results {
		idx := strings.TrimSpace(res.Stdout) // --progress quiet prints the index digest
		if res.ExitCode != 0 {
			continue
		}
		if !strings.HasPrefix(idx, "sha256:") {
			t.Errorf("build %d exited 0 without saying what it published: %q", i, res.Combined())
			continue
		}
		claimed = append(claimed, idx)
		// What it says it published is in the registry, complete.
		if got := imagePlatforms(c.reg().index(repo, idx)); !samePlatformSet(got, strings.Split(faultTwoPlatforms, ",")) {
			t.Errorf("build %d's index %s holds %v", i, idx, got)
		}
	}
	if !slices.Contains(claimed, t1) {
		t.Errorf("the tags point at %s, which no successful build published (%v)", t1, claimed)
	}
}

// waitCount waits until the proxy has seen at least n requests matching method and path.
func waitCount(t *testing.T, px *faultProxy, method, path string, n int, timeout time.Duration) {
	t.Helper()
	for end := time.Now().Add(timeout); px.count(method, path) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("no %s %s within %s:\n%s", method, path, timeout, px.dump())
		}
	}
}
