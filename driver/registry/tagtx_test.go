package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/buildx/util/imagetools"
	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// newIndex seeds one image per platform in repo (by digest only) and builds the index a publish
// writes of them, as a merge or a build would.
func (f *fakeRegistry) newIndex(repo string, plats ...string) MergeResult {
	f.t.Helper()
	var cs []candidate
	for _, p := range plats {
		d := f.SeedImage(repo, "", p)
		cs = append(cs, candidate{source: f.Ref(repo, d.Digest.String()), desc: d})
	}
	res, err := indexOf(cs, false, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// locs are the locations of repo's tags on the fake.
func (f *fakeRegistry) locs(repo string, tags ...string) []*imagetools.Location {
	f.t.Helper()
	var refs []string
	for _, t := range tags {
		refs = append(refs, f.Ref(repo, t))
	}
	locs, err := tagLocations(refs)
	if err != nil {
		f.t.Fatal(err)
	}
	return locs
}

// wantTags checks the registry's real state: every tag of repo where want says ("" = absent).
func (f *fakeRegistry) wantTags(t *testing.T, repo string, want map[string]digest.Digest) {
	t.Helper()
	for tag, d := range want {
		if got := f.TagDigest(repo, tag); got != d {
			t.Errorf("registry state: %s:%s is at %q, want %q", repo, tag, got, d)
		}
	}
}

// asPublishError is err as a *PublishError, or the test fails.
func asPublishError(t *testing.T, err error) *PublishError {
	t.Helper()
	var pe *PublishError
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *PublishError: %v", err)
	}
	return pe
}

// wantLines checks that the error message holds every line.
func wantLines(t *testing.T, err error, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(err.Error(), l) {
			t.Errorf("error message lacks %q:\n%v", l, err)
		}
	}
}

// isTagPut matches the PUT of manifest dgst to repo:tag.
func isTagPut(r *fakeReq, repo, tag string, dgst digest.Digest) bool {
	return r.Method == http.MethodPut && r.Kind == "manifest" && r.Repo == repo && r.Ref == tag && r.Digest == dgst
}

func TestPublishRefusedTagPutsTheMovedTagsBack(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	old2 := f.SeedIndex("app", "v2", "linux/amd64")
	old3 := f.SeedIndex("app", "v3", "linux/amd64")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	f.SetHook(func(r *fakeReq) action {
		if isTagPut(r, "app", "v2", res.Index.Digest) {
			return action{Status: http.StatusInternalServerError}
		}
		return action{}
	})

	pub, err := c.publish(context.Background(), f.locs("app", "v1", "v2", "v3"), res, res.platforms())
	if err == nil {
		t.Fatalf("publish succeeded: %+v", pub)
	}
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": old2.Digest, "v3": old3.Digest})
	if puts := f.Requests("PUT", "/app/manifests/v1"); len(puts) != 2 {
		t.Errorf("tag v1 saw %d PUTs, want the move and the undo: %v", len(puts), puts)
	}
	if puts := f.Requests("PUT", "/app/manifests/v3"); len(puts) != 0 {
		t.Errorf("tag v3 was written after tag v2 failed: %v", puts)
	}
	pe := asPublishError(t, err)
	first, _, _ := strings.Cut(err.Error(), "\n")
	if !strings.Contains(first, "tag "+f.Ref("app", "v2")) || !strings.Contains(first, "PUT app:v2") {
		t.Errorf("the error does not name tag v2 and its PUT: %q", first)
	}
	wantLines(t, err,
		"\n  tag "+f.Ref("app", "v1")+" put back to "+old1.Digest.String()+" (as before)",
		"\n  tag "+f.Ref("app", "v2")+" unchanged at "+old2.Digest.String(), // its PUT failed: it never moved
		"\n  tag "+f.Ref("app", "v3")+" unchanged at "+old3.Digest.String())
	if len(pe.Tags) != 3 || pe.Tags[2].Touched || !pe.Tags[0].Touched || pe.Tags[0].Now != old1.Digest || pe.Tags[0].Index != res.Index.Digest {
		t.Errorf("tag states %+v", pe.Tags)
	}
}

func TestPublishRemovesACreatedTagAgain(t *testing.T) {
	for _, unsupported := range []bool{false, true} {
		name := "tag deletion supported"
		if unsupported {
			name = "tag deletion unsupported"
		}
		t.Run(name, func(t *testing.T) {
			f := newFakeRegistry(t)
			f.SetNoTagDelete(unsupported)
			c := newTestClient(t, 5*time.Second)
			res := f.newIndex("app", "linux/amd64", "linux/arm64")
			f.SetHook(func(r *fakeReq) action {
				if isTagPut(r, "app", "v2", res.Index.Digest) {
					return action{Status: http.StatusInternalServerError}
				}
				return action{}
			})

			// Two new tags: the first is created, the second fails (tags that existed move first).
			_, err := c.publish(context.Background(), f.locs("app", "new", "v2"), res, res.platforms())
			pe := asPublishError(t, err)
			if len(f.Requests("DELETE", "/app/manifests/new")) != 1 {
				t.Errorf("the created tag was not deleted: %v", f.Requests("", ""))
			}
			if !unsupported {
				f.wantTags(t, "app", map[string]digest.Digest{"new": "", "v2": ""})
				wantLines(t, err, "\n  tag "+f.Ref("app", "new")+" does not exist (as before)")
				return
			}
			f.wantTags(t, "app", map[string]digest.Digest{"new": res.Index.Digest, "v2": ""})
			wantLines(t, err,
				"(1 of this publish's tags could not be put back: see below)",
				"\n  tag "+f.Ref("app", "new")+" created at "+res.Index.Digest.String()+" (this publish's index): removing it again failed:",
				"does not remove tags",
				"\n  tag "+f.Ref("app", "v2")+" does not exist (as before)")
			if pe.Tags[0].Before != "" || pe.Tags[0].Now != res.Index.Digest {
				t.Errorf("tag state %+v", pe.Tags[0])
			}
		})
	}
}

func TestPublishReturnsWhenTheRegistryHangsOnATagPut(t *testing.T) {
	f := newFakeRegistry(t)
	const timeout = 300 * time.Millisecond
	c := newTestClient(t, timeout)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	old2 := f.SeedIndex("app", "v2", "linux/amd64")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	f.SetHook(func(r *fakeReq) action {
		return action{Hang: isTagPut(r, "app", "v1", res.Index.Digest)}
	})

	start := time.Now()
	_, err := c.publish(context.Background(), f.locs("app", "v1", "v2"), res, res.platforms())
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("publish returned after %s with a %s timeout", took, timeout)
	}
	if err == nil {
		t.Fatal("publish succeeded while the registry hung")
	}
	asPublishError(t, err)
	wantLines(t, err, "registry "+f.Host+": PUT app:v1: ", "no answer within 300ms")
	if !errors.Is(err, deadline.ErrNoAnswer) {
		t.Errorf("error does not wrap the deadline: %v", err)
	}
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": old2.Digest})
	wantLines(t, err, "\n  tag "+f.Ref("app", "v2")+" unchanged at "+old2.Digest.String())
}

func TestPublishReturnsWhenTheRegistryStopsAnswering(t *testing.T) {
	f := newFakeRegistry(t)
	const timeout = 300 * time.Millisecond
	c := newTestClient(t, timeout)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	var dead atomic.Bool
	f.SetHook(func(r *fakeReq) action {
		if isTagPut(r, "app", "v1", res.Index.Digest) {
			dead.Store(true) // from the first tag PUT on, nothing answers: not the undo, not the reads
		}
		return action{Hang: dead.Load()}
	})

	start := time.Now()
	_, err := c.publish(context.Background(), f.locs("app", "v1", "v2"), res, res.platforms())
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("publish returned after %s with a %s timeout", took, timeout)
	}
	pe := asPublishError(t, err)
	if !pe.Tags[0].Unknown || !pe.Tags[1].Unknown {
		t.Errorf("tag states of a dead registry: %+v", pe.Tags)
	}
	wantLines(t, err, "registry "+f.Host+": PUT app:v1: ",
		"\n  tag "+f.Ref("app", "v1")+" unknown (it could not be read back); before this publish it was "+old1.Digest.String())
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": ""})
}

func TestPublishUnreadableTagIsPutBack(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	old2 := f.SeedIndex("app", "v2", "linux/amd64")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	var moved, failed atomic.Bool
	f.SetHook(func(r *fakeReq) action {
		switch {
		case isTagPut(r, "app", "v2", res.Index.Digest):
			return action{After: func() { moved.Store(true) }}
		case moved.Load() && r.IsTag() && r.Ref == "v1" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
			failed.CompareAndSwap(false, true):
			return action{Status: http.StatusBadGateway} // the first read-back only
		}
		return action{}
	})

	_, err := c.publish(context.Background(), f.locs("app", "v1", "v2"), res, res.platforms())
	pe := asPublishError(t, err)
	if !failed.Load() {
		t.Fatal("the read-back was never failed")
	}
	var unread *unreadableError
	if !errors.As(err, &unread) {
		t.Errorf("error is not an unreadable tag: %v", err)
	}
	// Not verified is not published: the failed publish puts its tags back.
	wantLines(t, err, "verifying "+f.Ref("app", "v1")+": reading it back failed",
		"not verified, so this publish's tags are put back",
		"\n  tag "+f.Ref("app", "v1")+" put back to "+old1.Digest.String()+" (as before)",
		"\n  tag "+f.Ref("app", "v2")+" put back to "+old2.Digest.String()+" (as before)")
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": old2.Digest})
	for _, tag := range []string{"v1", "v2"} {
		if puts := f.Requests("PUT", "/app/manifests/"+tag); len(puts) != 2 {
			t.Errorf("tag %s saw %d PUTs, want the move and its undo", tag, len(puts))
		}
	}
	if len(pe.Tags) != 2 {
		t.Errorf("tag states %+v", pe.Tags)
	}
}

func TestPublishReportsAnotherPublisher(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	old2 := f.SeedIndex("app", "v2", "linux/amd64")
	other := f.SeedIndex("app", "", "linux/s390x")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	f.SetHook(func(r *fakeReq) action {
		if isTagPut(r, "app", "v1", res.Index.Digest) {
			// someone elsewhere publishes to v1 right after this publish moved it
			return action{After: func() { f.SetTag("app", "v1", other.Digest) }}
		}
		return action{}
	})

	pub, err := c.publish(context.Background(), f.locs("app", "v1", "v2"), res, res.platforms())
	if err == nil {
		t.Fatalf("publish claimed success over another publisher's tag: %+v", pub)
	}
	pe := asPublishError(t, err)
	var oe *otherIndexError
	if !errors.As(err, &oe) || oe.got != other.Digest || oe.want != res.Index.Digest {
		t.Errorf("error is not another index on the tag: %v", err)
	}
	if len(pub.Tags) != 0 {
		t.Errorf("tags claimed as published: %+v", pub.Tags)
	}
	wantLines(t, err, "another publisher wrote it after this one", "this publish's tags are put back",
		"\n  tag "+f.Ref("app", "v1")+" at "+other.Digest.String()+", written by another publisher (was "+old1.Digest.String()+")",
		"\n  tag "+f.Ref("app", "v2")+" put back to "+old2.Digest.String()+" (as before)")
	if strings.Contains(err.Error(), " verified") {
		t.Errorf("a tag is claimed verified: %v", err)
	}
	// the other publisher's tag is left alone, and v2 goes back: this publish failed
	f.wantTags(t, "app", map[string]digest.Digest{"v1": other.Digest, "v2": old2.Digest})
	if puts := f.Requests("PUT", "/app/manifests/v1"); len(puts) != 1 {
		t.Errorf("tag v1 saw %d PUTs: the other publisher's index was overwritten", len(puts))
	}
	if pe.Tags[0].Now != other.Digest || pe.Tags[1].Now != old2.Digest {
		t.Errorf("tag states %+v", pe.Tags)
	}
}

// A tag another publisher (elsewhere: the lock is this machine's) wrote after this publish moved
// it is theirs: the undo of a failed publish leaves it, whether it existed before or not.
func TestPublishUndoLeavesAnotherPublishersTag(t *testing.T) {
	for _, existed := range []bool{true, false} {
		t.Run(fmt.Sprintf("existed before %v", existed), func(t *testing.T) {
			f := newFakeRegistry(t)
			c := newTestClient(t, 5*time.Second)
			var old1 digest.Digest
			if existed {
				old1 = f.SeedIndex("app", "v1", "linux/amd64").Digest
			}
			var old2 digest.Digest // v2 exists when v1 does: tags that existed move first
			if existed {
				old2 = f.SeedIndex("app", "v2", "linux/amd64").Digest
			}
			other := f.SeedIndex("app", "", "linux/s390x")
			res := f.newIndex("app", "linux/amd64", "linux/arm64")
			f.SetHook(func(r *fakeReq) action {
				switch {
				case isTagPut(r, "app", "v1", res.Index.Digest):
					return action{After: func() { f.SetTag("app", "v1", other.Digest) }}
				case isTagPut(r, "app", "v2", res.Index.Digest):
					return action{Status: http.StatusInternalServerError}
				}
				return action{}
			})

			_, err := c.publish(context.Background(), f.locs("app", "v1", "v2"), res, res.platforms())
			pe := asPublishError(t, err)
			f.wantTags(t, "app", map[string]digest.Digest{"v1": other.Digest, "v2": old2})
			if n := len(f.Requests("PUT", "/app/manifests/v1")) + len(f.Requests("DELETE", "/app/manifests/v1")); n != 1 {
				t.Errorf("tag v1 saw %d writes: the other publisher's index was undone", n)
			}
			wantLines(t, err, "\n  tag "+f.Ref("app", "v1")+" at "+other.Digest.String()+", written by another publisher (was "+orNone(old1)+")")
			if pe.Tags[0].Now != other.Digest || pe.Tags[0].Note != "" {
				t.Errorf("tag state %+v", pe.Tags[0])
			}
		})
	}
}

func TestPublishInterruptedPutsTheMovedTagsBack(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 10*time.Second)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	old2 := f.SeedIndex("app", "v2", "linux/amd64")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	hanging := make(chan struct{})
	var once sync.Once
	f.SetHook(func(r *fakeReq) action {
		if isTagPut(r, "app", "v2", res.Index.Digest) {
			once.Do(func() { close(hanging) })
			return action{Hang: true}
		}
		return action{}
	})
	interrupted := errors.New("interrupted by the user")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		<-hanging
		cancel(interrupted)
	}()

	start := time.Now()
	_, err := c.publish(ctx, f.locs("app", "v1", "v2"), res, res.platforms())
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("publish returned %s after the interrupt, its timeout is 10s", took)
	}
	if !errors.Is(err, interrupted) {
		t.Fatalf("error does not wrap the interrupt: %v", err)
	}
	asPublishError(t, err)
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": old2.Digest})
	if puts := f.Requests("PUT", "/app/manifests/v1"); len(puts) != 2 {
		t.Errorf("tag v1 saw %d PUTs, want the move and the undo", len(puts))
	}
	wantLines(t, err, "\n  tag "+f.Ref("app", "v1")+" put back to "+old1.Digest.String()+" (as before)")
}

func TestConcurrentPublishesLeaveTheTagsTogether(t *testing.T) {
	f := newFakeRegistry(t)
	lockDir := t.TempDir()
	client := func() *Client { // two processes of this machine: two clients, one lock directory
		c := newTestClient(t, 5*time.Second)
		c.lockDir = lockDir
		return c
	}
	c1, c2 := client(), client()
	f.SeedIndex("app", "v1", "linux/amd64")
	f.SeedIndex("app", "v2", "linux/amd64")
	var mu sync.Mutex
	var moves []digest.Digest
	f.SetHook(func(r *fakeReq) action {
		if r.Method == http.MethodPut && r.IsTag() {
			mu.Lock()
			moves = append(moves, r.Digest)
			mu.Unlock()
			return action{Delay: 30 * time.Millisecond} // widen the window between the two moves
		}
		return action{}
	})
	for round := range 3 {
		a := f.newIndex("app", "linux/amd64", "linux/arm64")
		b := f.newIndex("app", "linux/amd64", "linux/arm/v7")
		mu.Lock()
		moves = nil
		mu.Unlock()
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { _, errA = c1.publish(context.Background(), f.locs("app", "v1", "v2"), a, a.platforms()) })
		wg.Go(func() { _, errB = c2.publish(context.Background(), f.locs("app", "v1", "v2"), b, b.platforms()) })
		wg.Wait()
		if errA != nil || errB != nil {
			t.Errorf("round %d: publishes failed: %v; %v", round, errA, errB)
		}
		v1, v2 := f.TagDigest("app", "v1"), f.TagDigest("app", "v2")
		if v1 != v2 || (v1 != a.Index.Digest && v1 != b.Index.Digest) {
			t.Errorf("round %d: v1 at %s, v2 at %s: not one of the indexes on both (a %s, b %s)", round, v1, v2, a.Index.Digest, b.Index.Digest)
		}
		mu.Lock()
		if len(moves) != 4 || moves[0] != moves[1] || moves[2] != moves[3] {
			t.Errorf("round %d: the publishes' moves interleaved: %v", round, moves)
		}
		mu.Unlock()
	}
}

// seedAttested stores a build result as BuildKit pushes it: an index of one image and its
// attestation manifest.
func (f *fakeRegistry) seedAttested(repo, platform string) ocispec.Descriptor {
	f.t.Helper()
	img := f.SeedImage(repo, "", platform)
	att := f.SeedImage(repo, "", "linux/amd64") // content does not matter, only the annotations
	att.Platform = &ocispec.Platform{OS: "unknown", Architecture: "unknown"}
	att.Annotations = map[string]string{
		attestation.DockerAnnotationReferenceType:   attestation.DockerAnnotationReferenceTypeDefault,
		attestation.DockerAnnotationReferenceDigest: img.Digest.String(),
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{img, att}}
	idx.SchemaVersion = 2
	dt, err := json.Marshal(idx)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.PutManifest(repo, "", ocispec.MediaTypeImageIndex, dt)
}

func TestPublishBuild(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old := f.SeedIndex("app", "v1", "linux/amd64")
	amd64 := f.seedAttested("app", "linux/amd64")
	arm64 := f.SeedImage("app", "", "linux/arm64")
	arm64.Platform = nil // as a build step reports it: a digest, not a platform
	repo := f.Host + "/app"
	tags := []string{f.Ref("app", "v1"), f.Ref("app", "latest")}

	t.Run("refuses other platforms than wanted", func(t *testing.T) {
		_, err := c.PublishBuild(context.Background(), repo, []ocispec.Descriptor{amd64}, []string{"linux/amd64", "linux/arm64"}, tags, nil)
		if err == nil || !strings.Contains(err.Error(), "no tag written") || !strings.Contains(err.Error(), "the platforms built are linux/amd64, not the linux/amd64, linux/arm64 requested") {
			t.Fatalf("err = %v", err)
		}
		f.wantTags(t, "app", map[string]digest.Digest{"v1": old.Digest, "latest": ""})
		if puts := f.Requests("PUT", "/manifests/"); len(puts) != 0 {
			t.Errorf("manifests written: %v", puts)
		}
	})

	t.Run("publishes the wanted platforms", func(t *testing.T) {
		want := []string{"linux/arm64", "linux/amd64"}
		pub, err := c.PublishBuild(context.Background(), repo, []ocispec.Descriptor{amd64, arm64}, want, tags, map[string]string{"org.opencontainers.image.source": "https://example.com/app"})
		if err != nil {
			t.Fatal(err)
		}
		f.wantTags(t, "app", map[string]digest.Digest{"v1": pub.Index.Digest, "latest": pub.Index.Digest})
		got, err := IndexPlatforms(f.Manifest("app", pub.Index.Digest))
		if err != nil || !samePlatforms(got, want) {
			t.Errorf("the published index holds %v (%v), want %v", got, err, want)
		}
		if !strings.Contains(string(f.Manifest("app", pub.Index.Digest)), attestation.DockerAnnotationReferenceTypeDefault) {
			t.Error("the attestation manifest was left out of the index")
		}
		var idx ocispec.Index
		if err := json.Unmarshal(f.Manifest("app", pub.Index.Digest), &idx); err != nil || idx.Annotations["org.opencontainers.image.source"] != "https://example.com/app" {
			t.Errorf("the index annotations are %v (%v)", idx.Annotations, err)
		}
		if len(pub.Tags) != 2 || pub.Tags[0].Before != old.Digest || pub.Tags[1].Before != "" || pub.Tags[0].Now != pub.Index.Digest {
			t.Errorf("publication tags %+v", pub.Tags)
		}
	})
}

func TestMergeOnTheRegistry(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	amd64 := f.SeedImage("src", "amd64", "linux/amd64")
	arm64 := f.SeedImage("src", "arm64", "linux/arm64")
	f.SeedImage("src", "arm7", "linux/arm/v7")
	ctx := context.Background()

	res, err := c.Merge(ctx, MergeOptions{Tags: []string{f.Ref("app", "v1")}, Sources: []string{f.Ref("src", "amd64"), f.Ref("src", "arm64")}})
	if err != nil {
		t.Fatal(err)
	}
	first := f.TagDigest("app", "v1")
	if first != res.Index.Digest {
		t.Fatalf("app:v1 is at %q, want the merged index %s", first, res.Index.Digest)
	}
	got, err := IndexPlatforms(f.Manifest("app", first))
	if err != nil || strings.Join(got, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("the tag's index holds %v (%v)", got, err)
	}
	for _, d := range []ocispec.Descriptor{amd64, arm64} {
		if f.Manifest("app", d.Digest) == nil {
			t.Errorf("image %s was not copied into app", d.Digest)
		}
	}
	if len(res.Tags) != 1 || res.Tags[0].Now != first || res.Tags[0].Before != "" {
		t.Errorf("merge result tags %+v", res.Tags)
	}

	t.Run("a failing tag PUT leaves the tag as before", func(t *testing.T) {
		f.SetHook(func(r *fakeReq) action {
			if r.Method == http.MethodPut && r.IsTag() && r.Digest != first {
				return action{Status: http.StatusInternalServerError}
			}
			return action{}
		})
		defer f.SetHook(nil)
		_, err := c.Merge(ctx, MergeOptions{Tags: []string{f.Ref("app", "v1")},
			Sources: []string{f.Ref("src", "amd64"), f.Ref("src", "arm64"), f.Ref("src", "arm7")}})
		if err == nil {
			t.Fatal("merge succeeded")
		}
		pe := asPublishError(t, err)
		f.wantTags(t, "app", map[string]digest.Digest{"v1": first})
		wantLines(t, err, "\n  tag "+f.Ref("app", "v1")+" unchanged at "+first.String())
		if len(pe.Tags) != 1 || pe.Tags[0].Now != first || pe.Tags[0].Before != first {
			t.Errorf("tag states %+v", pe.Tags)
		}
	})

	t.Run("a platform from two sources needs --prefer, and nothing is written", func(t *testing.T) {
		f.SeedImage("src", "amd64-other", "linux/amd64")
		_, err := c.Merge(ctx, MergeOptions{Tags: []string{f.Ref("app", "v2")}, Sources: []string{f.Ref("src", "amd64"), f.Ref("src", "amd64-other")}})
		if err == nil || !strings.Contains(err.Error(), "--prefer") {
			t.Fatalf("err = %v", err)
		}
		f.wantTags(t, "app", map[string]digest.Digest{"v1": first, "v2": ""})
	})
}

// Another publisher moves a tag between the read of every tag and this publish's move of it: the
// publish stops there, puts back what it moved, and leaves their tag alone.
func TestPublishStopsWhenATagMovedSinceItWasRead(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	old2 := f.SeedIndex("app", "v2", "linux/amd64")
	other := f.SeedIndex("app", "", "linux/s390x")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	f.SetHook(func(r *fakeReq) action {
		if isTagPut(r, "app", "v1", res.Index.Digest) { // v1 moves; meanwhile someone takes v2
			return action{After: func() { f.SetTag("app", "v2", other.Digest) }}
		}
		return action{}
	})
	_, err := c.publish(context.Background(), f.locs("app", "v1", "v2"), res, res.platforms())
	asPublishError(t, err)
	wantLines(t, err, "tag "+f.Ref("app", "v2")+" was moved by another publisher while this one ran (it was "+old2.Digest.String()+", it is "+other.Digest.String()+")",
		"\n  tag "+f.Ref("app", "v1")+" put back to "+old1.Digest.String()+" (as before)")
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": other.Digest})
	if puts := f.Requests("PUT", "/app/manifests/v2"); len(puts) != 0 {
		t.Errorf("tag v2 saw %d PUTs from this publish: another publisher's tag was overwritten", len(puts))
	}
}

// A tag PUT that gets no answer in time but that the registry applies a moment later is put back:
// the undo watches a timed-out tag for one more timeout instead of trusting one read.
func TestPublishPutsBackATagPutThatLandsLate(t *testing.T) {
	f := newFakeRegistry(t)
	const timeout = 300 * time.Millisecond
	c := newTestClient(t, timeout)
	old1 := f.SeedIndex("app", "v1", "linux/amd64")
	res := f.newIndex("app", "linux/amd64", "linux/arm64")
	var once sync.Once
	f.SetHook(func(r *fakeReq) action {
		if !isTagPut(r, "app", "v1", res.Index.Digest) {
			return action{}
		}
		a := action{Hang: true}
		once.Do(func() { // the first move: the registry commits it 100ms after the client gave up
			a.After = func() { time.AfterFunc(100*time.Millisecond, func() { f.SetTag("app", "v1", res.Index.Digest) }) }
		})
		return a
	})
	_, err := c.publish(context.Background(), f.locs("app", "v1"), res, res.platforms())
	asPublishError(t, err)
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest})
	wantLines(t, err, "\n  tag "+f.Ref("app", "v1")+" put back to "+old1.Digest.String()+" (as before)")
}

// Issue 19, case 3: Ctrl-C while a tag PUT is in flight, and the registry applies that PUT after
// the interrupt (it got the request; its answer is lost). The move counts as applied: the tag is
// put back once it lands, the other tag stays as it was, and the error says so, within seconds.
func TestPublishInterruptedPutThatLandsAfterTheInterruptIsPutBack(t *testing.T) {
	for name, delay := range map[string]time.Duration{"lands at once": 50 * time.Millisecond, "lands after the grace": 1200 * time.Millisecond} {
		t.Run(name, func(t *testing.T) {
			f := newFakeRegistry(t)
			c := newTestClient(t, 10*time.Second)
			old1 := f.SeedIndex("app", "v1", "linux/amd64")
			old2 := f.SeedIndex("app", "v2", "linux/amd64")
			res := f.newIndex("app", "linux/amd64", "linux/arm64")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			interrupted := errors.New("interrupted by the user")
			var once sync.Once
			f.SetHook(func(r *fakeReq) action {
				if !isTagPut(r, "app", "v1", res.Index.Digest) {
					return action{}
				}
				once.Do(func() {
					cancel(interrupted) // Ctrl-C while the registry holds the request
					time.AfterFunc(delay, func() { f.SetTag("app", "v1", res.Index.Digest) })
				})
				return action{Hang: true} // its answer never comes
			})
			start := time.Now()
			_, err := c.publish(ctx, f.locs("app", "v1", "v2"), res, res.platforms())
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("publish returned %s after the interrupt", took)
			}
			if !errors.Is(err, interrupted) {
				t.Fatalf("error does not wrap the interrupt: %v", err)
			}
			f.wantTags(t, "app", map[string]digest.Digest{"v1": old1.Digest, "v2": old2.Digest})
			wantLines(t, err, "\n  tag "+f.Ref("app", "v1")+" put back to "+old1.Digest.String()+" (as before)",
				"\n  tag "+f.Ref("app", "v2")+" unchanged at "+old2.Digest.String())
		})
	}
}

// Issue 19, case 4: the same tag twice (-t R:1 -t R:1, -t R -t R:latest) is one tag, moved once:
// not "moved by another publisher" and put back after the whole build.
func TestPublishTheSameTagTwiceMovesItOnce(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	amd64 := f.SeedImage("app", "", "linux/amd64")
	repo := f.Host + "/app"
	for name, tags := range map[string][]string{
		"twice":           {f.Ref("app", "v1"), f.Ref("app", "v1")},
		"implicit latest": {repo, f.Ref("app", "latest"), repo},
	} {
		t.Run(name, func(t *testing.T) {
			pub, err := c.PublishBuild(context.Background(), repo, []ocispec.Descriptor{amd64}, []string{"linux/amd64"}, tags, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(pub.Tags) != 1 || pub.Tags[0].Now != pub.Index.Digest {
				t.Errorf("publication tags %+v, want one tag at the index", pub.Tags)
			}
		})
	}
	if got, err := UniqueTags([]string{"app", "docker.io/library/app:latest", "App"}); err == nil {
		t.Errorf("an invalid tag passed: %v", got)
	}
	if got, err := UniqueTags([]string{"app", "docker.io/library/app:latest", "index.docker.io/library/app", "app:1", "app"}); err != nil || len(got) != 2 || got[0] != "app" || got[1] != "app:1" {
		t.Errorf("UniqueTags = %q, %v; want the first spelling of each", got, err)
	}
}

// Revert puts back the tags of a finished publish when a later step fails (the local --load): a
// tag that existed goes back to its old index, one that did not is removed, one another publisher
// moved since is left to them; the error says where each is.
func TestRevertPutsAFinishedPublishBack(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old := f.SeedIndex("app", "v1", "linux/amd64")
	other := f.SeedIndex("app", "other", "linux/amd64")
	amd64 := f.SeedImage("app", "", "linux/amd64")
	repo := f.Host + "/app"
	pub, err := c.PublishBuild(context.Background(), repo, []ocispec.Descriptor{amd64}, []string{"linux/amd64"},
		[]string{f.Ref("app", "v1"), f.Ref("app", "v2"), f.Ref("app", "v3")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.SetTag("app", "v3", other.Digest) // another publisher, since
	loadFailed := errors.New("loading into the current Docker engine: no space left")
	err = c.Revert(context.Background(), []Publication{pub}, loadFailed)
	if !errors.Is(err, loadFailed) {
		t.Fatalf("err = %v", err)
	}
	f.wantTags(t, "app", map[string]digest.Digest{"v1": old.Digest, "v2": "", "v3": other.Digest})
	wantLines(t, err, "the tags this command moved are put back",
		"\n  tag "+f.Ref("app", "v1")+" put back to "+old.Digest.String()+" (as before)",
		"\n  tag "+f.Ref("app", "v3")+" at "+other.Digest.String()+", written by another publisher")
}
