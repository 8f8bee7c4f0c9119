package registry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

func TestDeleteTag(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 300*time.Millisecond)
	ctx := context.Background()
	loc := func(tag string) *imagetools.Location {
		l, err := imagetools.ParseLocation(f.Ref("app", tag))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	t.Run("removes the tag, not the manifest", func(t *testing.T) {
		idx := f.SeedIndex("app", "gone", "linux/amd64")
		if err := c.deleteTag(ctx, loc("gone")); err != nil {
			t.Fatal(err)
		}
		f.wantTags(t, "app", map[string]digest.Digest{"gone": ""})
		if f.Manifest("app", idx.Digest) == nil {
			t.Error("the manifest went with the tag")
		}
	})

	t.Run("a tag already gone is not an error", func(t *testing.T) {
		if err := c.deleteTag(ctx, loc("never")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unsupported", func(t *testing.T) {
		idx := f.SeedIndex("app", "kept", "linux/amd64")
		f.SetNoTagDelete(true)
		defer f.SetNoTagDelete(false)
		err := c.deleteTag(ctx, loc("kept"))
		if !errors.Is(err, errTagDeleteUnsupported) {
			t.Fatalf("err = %v, want the registry's refusal", err)
		}
		wantLines(t, err, "registry "+f.Host+": DELETE app:kept: ")
		f.wantTags(t, "app", map[string]digest.Digest{"kept": idx.Digest})
	})

	t.Run("other failures are reported", func(t *testing.T) {
		idx := f.SeedIndex("app", "denied", "linux/amd64")
		f.SetHook(func(r *fakeReq) action {
			if r.Method == http.MethodDelete {
				return action{Status: http.StatusForbidden}
			}
			return action{}
		})
		defer f.SetHook(nil)
		err := c.deleteTag(ctx, loc("denied"))
		if err == nil || errors.Is(err, errTagDeleteUnsupported) {
			t.Fatalf("err = %v", err)
		}
		wantLines(t, err, "registry "+f.Host+": DELETE app:denied: 403")
		f.wantTags(t, "app", map[string]digest.Digest{"denied": idx.Digest})
	})

	t.Run("a hung registry", func(t *testing.T) {
		f.SeedIndex("app", "hung", "linux/amd64")
		f.SetHook(func(r *fakeReq) action { return action{Hang: r.Method == http.MethodDelete} })
		defer f.SetHook(nil)
		start := time.Now()
		err := c.deleteTag(ctx, loc("hung"))
		if took := time.Since(start); took > 1300*time.Millisecond {
			t.Errorf("deleteTag returned after %s with a 300ms timeout", took)
		}
		if !errors.Is(err, deadline.ErrNoAnswer) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		wantLines(t, err, "registry "+f.Host+": DELETE app:hung: no answer within 300ms")
	})

	t.Run("a digest is not a tag", func(t *testing.T) {
		idx := f.SeedIndex("app", "", "linux/amd64")
		if err := c.deleteTag(ctx, loc(idx.Digest.String())); err == nil {
			t.Fatal("deleted a manifest by digest")
		}
		if f.Manifest("app", idx.Digest) == nil {
			t.Error("the manifest is gone")
		}
	})
}
