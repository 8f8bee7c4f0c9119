package registry

import (
	"context"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

// Registry credentials go only to the registry they are for: with the Docker config holding a
// login for registry A, registry B (which asks for one) never sees A's, while A gets its own.
func TestCredentialsGoOnlyToTheirRegistry(t *testing.T) {
	a, b := newFakeRegistry(t), newFakeRegistry(t)
	var mu sync.Mutex
	seen := map[string][]string{}
	challenge := func(name string) func(*fakeReq) action {
		return func(*fakeReq) action {
			return action{Serve: func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[name] = append(seen[name], r.Header.Get("Authorization"))
				mu.Unlock()
				w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
				w.WriteHeader(http.StatusUnauthorized)
			}}
		}
	}
	a.SetHook(challenge("a"))
	b.SetHook(challenge("b"))
	cfg := configfile.New(filepath.Join(t.TempDir(), "config.json"))
	cfg.AuthConfigs = map[string]types.AuthConfig{a.Host: {Username: "alice", Password: "s3cret-for-a"}}
	c := New(cfg).WithTimeout(5 * time.Second)
	c.lockDir = t.TempDir()
	for _, f := range []*fakeRegistry{a, b} {
		if _, _, err := c.get(context.Background(), f.Ref("app", "v1")); err == nil {
			t.Fatalf("%s answered 401, yet get succeeded", f.Host)
		}
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret-for-a"))
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(seen["a"], want) {
		t.Errorf("registry A never got its own credentials: %q", seen["a"])
	}
	for _, h := range seen["b"] {
		if strings.Contains(h, base64.StdEncoding.EncodeToString([]byte("alice:s3cret-for-a"))) || h != "" {
			t.Errorf("registry B was sent %q", h)
		}
	}
}
