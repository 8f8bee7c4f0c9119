package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// buildSet seeds a build's per-platform results in repo (pushed by digest, as BuildKit does) and
// returns the set that publishes them to tags.
func (f *fakeRegistry) buildSet(name, repo string, tags []string, plats ...string) PublishSet {
	f.t.Helper()
	s := PublishSet{Name: "target " + name, Repo: f.Host + "/" + repo, Platforms: plats}
	for _, p := range plats {
		d := f.seedAttested(repo, p)
		s.Results = append(s.Results, ocispec.Descriptor{Digest: d.Digest}) // a step reports a digest
	}
	for _, t := range tags {
		s.Tags = append(s.Tags, f.Ref(repo, t))
	}
	return s
}

func TestPublishManyPublishesEverySet(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	old := f.SeedIndex("web", "v1", "linux/amd64")
	web := f.buildSet("web", "web", []string{"v1", "latest"}, "linux/amd64", "linux/arm64")
	api := f.buildSet("api", "api", []string{"v1"}, "linux/arm/v7")
	web.Annotations = map[string]string{"org.opencontainers.image.source": "https://example.com/web"}

	pubs, err := c.PublishMany(context.Background(), []PublishSet{web, api})
	if err != nil {
		t.Fatal(err)
	}
	if len(pubs) != 2 {
		t.Fatalf("%d publications, want 2", len(pubs))
	}
	f.wantTags(t, "web", map[string]digest.Digest{"v1": pubs[0].Index.Digest, "latest": pubs[0].Index.Digest})
	f.wantTags(t, "api", map[string]digest.Digest{"v1": pubs[1].Index.Digest})
	for i, want := range [][]string{web.Platforms, api.Platforms} {
		repo := []string{"web", "api"}[i]
		got, err := IndexPlatforms(f.Manifest(repo, pubs[i].Index.Digest))
		if err != nil || !samePlatforms(got, want) {
			t.Errorf("%s's index holds %v (%v), want %v", repo, got, err, want)
		}
	}
	if !strings.Contains(string(f.Manifest("web", pubs[0].Index.Digest)), "https://example.com/web") {
		t.Error("the web index lacks its annotation")
	}
	if tags := pubs[0].Tags; len(tags) != 2 || tags[0].Before != old.Digest || tags[1].Before != "" || tags[0].Now != pubs[0].Index.Digest {
		t.Errorf("web's tag states %+v", tags)
	}
}

// The sets' tags move together: web:v1's move is held until api:v1's arrives, which happens only
// when the sets move in parallel (one after another, web would wait out the hold).
func TestPublishManyMovesTheSetsTogether(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	web := f.buildSet("web", "web", []string{"v1"}, "linux/amd64")
	api := f.buildSet("api", "api", []string{"v1"}, "linux/amd64")
	apiMoving := make(chan struct{})
	var once sync.Once
	var held atomic.Bool
	f.SetHook(func(r *fakeReq) action {
		if r.Method != http.MethodPut || r.Ref != "v1" {
			return action{}
		}
		if r.Repo == "api" {
			once.Do(func() { close(apiMoving) })
			return action{}
		}
		select {
		case <-apiMoving:
		case <-time.After(2 * time.Second):
			held.Store(true)
		}
		return action{}
	})
	pubs, err := c.PublishMany(context.Background(), []PublishSet{web, api})
	if err != nil {
		t.Fatal(err)
	}
	if held.Load() {
		t.Error("api:v1 moved only after web:v1: the sets moved one after another")
	}
	f.wantTags(t, "web", map[string]digest.Digest{"v1": pubs[0].Index.Digest})
	f.wantTags(t, "api", map[string]digest.Digest{"v1": pubs[1].Index.Digest})
}

// A set's new tag is refused while another set is creating its new tags, on a registry that
// cannot delete a tag: the other set creates no new tag after the refusal (the one in flight
// lands, and is reported), and the error is the refused set's own.
func TestPublishManyStopsCreatingTagsWhenAnotherSetFails(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	web := f.buildSet("web", "web", []string{"a"}, "linux/amd64")
	api := f.buildSet("api", "api", []string{"n1", "n2", "n3", "n4"}, "linux/amd64")
	refused := make(chan struct{})
	f.SetHook(func(r *fakeReq) action {
		switch {
		case r.Method == http.MethodDelete:
			return action{Status: http.StatusMethodNotAllowed}
		case r.Method == http.MethodPut && r.Repo == "web" && r.Ref == "a":
			return action{Status: http.StatusForbidden, After: func() { close(refused) }}
		case r.Method == http.MethodPut && r.Repo == "api" && r.Ref == "n1":
			<-refused
			time.Sleep(300 * time.Millisecond) // web's mover has taken the refusal by now
		}
		return action{}
	})
	_, err := c.PublishMany(context.Background(), []PublishSet{api, web})
	if err == nil || !strings.HasPrefix(err.Error(), "target web: ") {
		t.Fatalf("error %v: want the refused set's own", err)
	}
	for _, tag := range []string{"n2", "n3", "n4"} {
		if puts := f.Requests("PUT", "/api/manifests/"+tag); len(puts) != 0 {
			t.Errorf("api:%s was created after web's tag was refused: %v", tag, puts)
		}
	}
}

// A tag of the second set is refused: the first set's tags, already moved, go back as they were,
// no set's new tag is created while an existing tag of any set is still to move, and the error
// names the target and the tag.
func TestPublishManyRefusedTagPutsEverySetBack(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	oldWeb := f.SeedIndex("web", "v1", "linux/amd64")
	oldAPI1 := f.SeedIndex("api", "v1", "linux/amd64")
	oldAPI2 := f.SeedIndex("api", "v2", "linux/amd64")
	oldAPI3 := f.SeedIndex("api", "v3", "linux/amd64")
	web := f.buildSet("web", "web", []string{"v1", "new"}, "linux/amd64", "linux/arm64")
	api := f.buildSet("api", "api", []string{"v1", "v2", "v3"}, "linux/amd64")
	webMoved := make(chan struct{})
	var once sync.Once
	f.SetHook(func(r *fakeReq) action {
		switch {
		case r.Method == http.MethodPut && r.Repo == "web" && r.Ref == "v1" && r.Digest != oldWeb.Digest:
			return action{After: func() { once.Do(func() { close(webMoved) }) }}
		case r.Method == http.MethodPut && r.Repo == "api" && r.Ref == "v2":
			<-webMoved // the sets move in parallel: api:v2 is refused once web:v1 has moved
			return action{Status: http.StatusInternalServerError}
		}
		return action{}
	})

	_, err := c.PublishMany(context.Background(), []PublishSet{web, api})
	pe := asPublishError(t, err)
	f.wantTags(t, "web", map[string]digest.Digest{"v1": oldWeb.Digest, "new": ""})
	f.wantTags(t, "api", map[string]digest.Digest{"v1": oldAPI1.Digest, "v2": oldAPI2.Digest, "v3": oldAPI3.Digest})
	if puts := f.Requests("PUT", "/web/manifests/v1"); len(puts) != 2 {
		t.Errorf("web:v1 saw %d PUTs, want the move and the undo: %v", len(puts), puts)
	}
	if puts := f.Requests("PUT", "/web/manifests/new"); len(puts) != 0 {
		t.Errorf("web:new was created before api's existing tags had moved: %v", puts)
	}
	if puts := f.Requests("PUT", "/api/manifests/v3"); len(puts) != 0 {
		t.Errorf("api:v3 was written after api:v2 failed: %v", puts)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	if !strings.HasPrefix(first, "target api: ") || !strings.Contains(first, "tag "+f.Ref("api", "v2")) {
		t.Errorf("the error does not name the target and the tag: %q", first)
	}
	wantLines(t, err,
		"\n  tag "+f.Ref("web", "v1")+" put back to "+oldWeb.Digest.String()+" (as before)",
		"\n  tag "+f.Ref("web", "new")+" does not exist (as before)",
		"\n  tag "+f.Ref("api", "v1")+" put back to "+oldAPI1.Digest.String()+" (as before)",
		"\n  tag "+f.Ref("api", "v2")+" unchanged at "+oldAPI2.Digest.String(),
		"\n  tag "+f.Ref("api", "v3")+" unchanged at "+oldAPI3.Digest.String())
	if len(pe.Tags) != 5 {
		t.Errorf("%d tag states, want every tag of both targets: %+v", len(pe.Tags), pe.Tags)
	}
}

func TestPublishManyRefusesBeforeWriting(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	web := f.buildSet("web", "web", []string{"v1"}, "linux/amd64")
	api := f.buildSet("api", "api", []string{"v1"}, "linux/amd64")
	for name, tc := range map[string]struct {
		sets []PublishSet
		want string
	}{
		"a tag of two targets": {[]PublishSet{web, {Name: "target other", Repo: web.Repo, Results: web.Results, Platforms: web.Platforms, Tags: web.Tags}},
			"tag " + f.Ref("web", "v1") + " is published by both target web and target other: nothing written"},
		"platforms not built": {[]PublishSet{web, {Name: "target api", Repo: api.Repo, Results: api.Results, Platforms: []string{"linux/amd64", "linux/arm64"}, Tags: api.Tags}},
			"target api: the platforms built are linux/amd64, not the linux/amd64, linux/arm64 requested: no tag written"},
		"a set without tags": {[]PublishSet{web, {Name: "target api", Repo: api.Repo, Results: api.Results, Platforms: api.Platforms}},
			"target api: no tag to publish to"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.PublishMany(context.Background(), tc.sets)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if puts := f.Requests("PUT", "/manifests/"); len(puts) != 0 {
				t.Errorf("manifests written: %v", puts)
			}
		})
	}
}

// Interrupted while the second set's tag moves, the first set's having moved: the first set's
// tags go back too.
func TestPublishManyInterruptedPutsEverySetBack(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 10*time.Second)
	oldWeb := f.SeedIndex("web", "v1", "linux/amd64")
	oldAPI := f.SeedIndex("api", "v1", "linux/amd64")
	web := f.buildSet("web", "web", []string{"v1"}, "linux/amd64")
	api := f.buildSet("api", "api", []string{"v1"}, "linux/arm64")
	hanging, webMoved := make(chan struct{}), make(chan struct{})
	var once, webOnce sync.Once
	f.SetHook(func(r *fakeReq) action {
		switch {
		case r.Method == http.MethodPut && r.Repo == "web" && r.Ref == "v1" && r.Digest != oldWeb.Digest:
			return action{After: func() { webOnce.Do(func() { close(webMoved) }) }}
		case r.Method == http.MethodPut && r.Repo == "api" && r.Ref == "v1" && r.Digest != oldAPI.Digest:
			<-webMoved // the sets move in parallel: api's hangs once web's has landed
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
	_, err := c.PublishMany(ctx, []PublishSet{web, api})
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("PublishMany returned %s after the interrupt, its timeout is 10s", took)
	}
	if !errors.Is(err, interrupted) {
		t.Fatalf("error does not wrap the interrupt: %v", err)
	}
	asPublishError(t, err)
	f.wantTags(t, "web", map[string]digest.Digest{"v1": oldWeb.Digest})
	f.wantTags(t, "api", map[string]digest.Digest{"v1": oldAPI.Digest})
	wantLines(t, err, "\n  tag "+f.Ref("web", "v1")+" put back to "+oldWeb.Digest.String()+" (as before)")
}

// Another publisher rewrites a tag of the first set after the moves: reported, never verified;
// the bake failed, so the second set's tags go back, and the other publisher's tag is theirs.
func TestPublishManyReportsAnotherPublisher(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	web := f.buildSet("web", "web", []string{"v1"}, "linux/amd64")
	api := f.buildSet("api", "api", []string{"v1"}, "linux/amd64")
	other := f.SeedIndex("web", "", "linux/arm64")
	f.SetHook(func(r *fakeReq) action {
		if r.Method == http.MethodPut && r.Repo == "web" && r.Ref == "v1" { // right after web:v1 moved
			return action{After: func() { f.SetTag("web", "v1", other.Digest) }}
		}
		return action{}
	})

	_, err := c.PublishMany(context.Background(), []PublishSet{web, api})
	pe := asPublishError(t, err)
	if !strings.Contains(err.Error(), "target web: verifying "+f.Ref("web", "v1")) || !strings.Contains(err.Error(), "another publisher") {
		t.Errorf("error: %v", err)
	}
	if f.TagDigest("web", "v1") != other.Digest {
		t.Error("the other publisher's web:v1 was undone")
	}
	if len(pe.Tags) != 2 || pe.Tags[1].Now != "" || f.TagDigest("api", "v1") != "" {
		t.Errorf("tag states %+v (api:v1 must be removed again: it did not exist)", pe.Tags)
	}
}

// One set's index is refused while another set's registry hangs: the publish ends with the
// refusal, naming its target, without waiting out the hanging one's timeout; no tag moves.
func TestPublishManyStopsTheOtherSetsWhenOneFails(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 30*time.Second)
	web := f.buildSet("web", "web", []string{"v1"}, "linux/amd64")
	api := f.buildSet("api", "api", []string{"v1"}, "linux/amd64")
	f.SetHook(func(r *fakeReq) action {
		switch {
		case r.Method == http.MethodPut && r.Repo == "api" && strings.HasPrefix(r.Ref, "sha256:"):
			return action{Status: http.StatusForbidden}
		case r.Method == http.MethodPut && r.Repo == "web" && strings.HasPrefix(r.Ref, "sha256:"):
			return action{Hang: true}
		}
		return action{}
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.PublishMany(context.Background(), []PublishSet{web, api})
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the publish waited on the hanging set after the other failed")
	}
	if err == nil || !strings.HasPrefix(err.Error(), "target api: ") || !strings.Contains(err.Error(), "no tag written") {
		t.Fatalf("err = %v, want target api's refusal, no tag written", err)
	}
	if puts := f.Requests("PUT", "/manifests/v1"); len(puts) != 0 {
		t.Errorf("tags written: %v", puts)
	}
}
