package runner

import (
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// The repositories a build writes: its tags' when it pushes (each once), and its registry cache
// exports even when it does not.
func TestPushReposAreEveryRepositoryABuildWrites(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want []string
	}{
		{Options{Tags: []string{"r.example/app:1", "r.example/app:2", "r.example/mirror:1"}, Push: true}, []string{"r.example/app", "r.example/mirror"}},
		{Options{Tags: []string{"r.example/app:1"}}, nil}, // no push, no cache export: nothing written
		{Options{Tags: []string{"app:1"}, PushByDigest: true, CacheTo: []string{"type=registry,ref=r.example/cache:x", "type=local,dest=c"}, CacheRef: "r.example/cache2"},
			[]string{"docker.io/library/app", "r.example/cache", "r.example/cache2"}},
		{Options{Tags: []string{"r.example/app:1"}, BuildxFlags: BuildxFlags{Outputs: []string{"type=image,push=true"}}}, []string{"r.example/app"}},
	} {
		p, err := parseWith(t, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := pushRepos(p); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.o, got, tc.want)
		}
	}
}

func TestPushAccessErrorNamesEveryRefusal(t *testing.T) {
	err := pushAccessError([]registry.PushAccess{
		{Repo: "r/a"}, {Repo: "r/b", Problem: registry.PushNoCredentials, Detail: "401 Unauthorized", Fix: "docker login r"},
		{Repo: "q/c", Problem: registry.PushUnreachable, Detail: "connection refused", Fix: "check q"},
	})
	if err == nil || strings.Contains(err.Error(), "r/a") || !strings.Contains(err.Error(), "r/b: no credentials") ||
		!strings.Contains(err.Error(), "docker login r") || !strings.Contains(err.Error(), "q/c: unreachable") {
		t.Errorf("err = %v", err)
	}
	if pushAccessError([]registry.PushAccess{{Repo: "r/a"}}) != nil {
		t.Error("an allowed push is an error")
	}
}
