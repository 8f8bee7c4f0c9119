package registry

import (
	"context"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

// basicAuth is a hook that wants user:password on every request, and records the uploads started.
func basicAuth(user, password string, started *int, mu *sync.Mutex) func(*fakeReq) action {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	return func(r *fakeReq) action {
		return action{Serve: func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("Authorization") != want {
				w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/blobs/uploads/") {
				mu.Lock()
				*started++
				mu.Unlock()
				w.Header().Set("Location", req.URL.Path+"u1")
				w.WriteHeader(http.StatusAccepted)
				return
			}
			w.WriteHeader(http.StatusNoContent) // the cancel
		}}
	}
}

// clientWithLogin is a test client whose Docker config holds a login for host (none: empty user).
func clientWithLogin(t *testing.T, host, user, password string) *Client {
	cfg := configfile.New(filepath.Join(t.TempDir(), "config.json"))
	if user != "" {
		cfg.AuthConfigs = map[string]types.AuthConfig{host: {Username: user, Password: password}}
	}
	c := New(cfg).WithTimeout(2 * time.Second)
	c.lockDir = t.TempDir()
	return c
}

// Issue 25: push access is proved before a build, and each refusal is named with its fix; the
// password is never shown.
func TestCheckPushNamesWhatKeepsAPushOut(t *testing.T) {
	var mu sync.Mutex
	started := 0
	f := newFakeRegistry(t)
	f.SetHook(basicAuth("ci", "Zx9Kq7Wm-pw", &started, &mu))
	denied := newFakeRegistry(t)
	denied.SetHook(func(r *fakeReq) action {
		if r.Kind == "upload" {
			return action{Serve: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
			}}
		}
		return action{}
	})
	hang := newFakeRegistry(t)
	hang.SetHook(func(r *fakeReq) action { return action{Hang: r.Kind == "upload"} })
	for _, tc := range []struct {
		name    string
		c       *Client
		repo    string
		problem string
		fix     string
	}{
		{"login", clientWithLogin(t, f.Host, "ci", "Zx9Kq7Wm-pw"), f.Host + "/app", "", ""},
		{"no login", clientWithLogin(t, f.Host, "", ""), f.Host + "/app", PushNoCredentials, "docker login " + f.Host},
		{"wrong password", clientWithLogin(t, f.Host, "ci", "Zx9Kq7Wm-wrong"), f.Host + "/app", PushWrongCredentials, "docker login " + f.Host + " again"},
		{"pull only", clientWithLogin(t, denied.Host, "", ""), denied.Host + "/app", PushDenied, "ask for push access to " + denied.Host + "/app"},
		{"closed port", clientWithLogin(t, "127.0.0.1:1", "", ""), "127.0.0.1:1/app", PushUnreachable, "127.0.0.1:1"},
		{"no answer", clientWithLogin(t, hang.Host, "", ""), hang.Host + "/app", PushUnreachable, hang.Host},
	} {
		start := time.Now()
		got := tc.c.CheckPush(context.Background(), []string{tc.repo})
		if len(got) != 1 || got[0].Problem != tc.problem || !strings.Contains(got[0].Fix, tc.fix) || got[0].Repo != tc.repo {
			t.Errorf("%s: %+v, want problem %q and a fix naming %q", tc.name, got, tc.problem, tc.fix)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: took %s (the client's timeout is 2s)", tc.name, took)
		}
		if s := got[0].String(); strings.Contains(s, "Zx9Kq7Wm") {
			t.Errorf("%s: %q shows the password", tc.name, s)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if started != 1 {
		t.Errorf("%d uploads started with the login, want 1", started)
	}
	if f.Requests("PUT", "/") != nil || denied.Requests("PUT", "/") != nil {
		t.Error("the check wrote something")
	}
}

// Every repository is asked at once: several slow registries take about one answer's time.
func TestCheckPushAsksInParallel(t *testing.T) {
	var repos []string
	for range 4 {
		f := newFakeRegistry(t)
		f.SetHook(func(r *fakeReq) action { return action{Delay: 300 * time.Millisecond} })
		repos = append(repos, f.Host+"/app")
	}
	start := time.Now()
	got := newTestClient(t, 5*time.Second).CheckPush(context.Background(), repos)
	for _, a := range got {
		if !a.OK() || a.Took < 300*time.Millisecond {
			t.Errorf("%+v: want allowed, and the time it took (at least the registry's 300ms)", a)
		}
	}
	if took := time.Since(start); took > 1200*time.Millisecond {
		t.Errorf("4 registries answering in 300ms each took %s: not asked in parallel", took)
	}
}

// merge proves push access to its tags' repositories before the first copy: a pull-only
// repository gets nothing, and the refusal is named.
func TestMergeProvesPushAccessFirst(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	f.SeedImage("src", "amd64", "linux/amd64")
	f.SeedImage("src", "arm64", "linux/arm64")
	f.SetHook(func(r *fakeReq) action {
		if r.Kind == "upload" && r.Repo == "app" {
			return action{Status: http.StatusForbidden}
		}
		return action{}
	})
	_, err := c.Merge(context.Background(), MergeOptions{Tags: []string{f.Ref("app", "v1")}, Sources: []string{f.Ref("src", "amd64"), f.Ref("src", "arm64")}})
	if err == nil || !strings.Contains(err.Error(), f.Host+"/app: no push permission") || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("err = %v", err)
	}
	if puts := f.Requests("PUT", "/v2/app/"); len(puts) != 0 {
		t.Errorf("merge wrote into a repository that refuses pushes: %v", puts)
	}
}

// The upload's cancel goes only to the registry itself: a Location elsewhere (a hostile answer)
// is not followed.
func TestCheckPushCancelsOnlyOnTheRegistrysHost(t *testing.T) {
	other := newFakeRegistry(t)
	f := newFakeRegistry(t)
	f.SetHook(func(r *fakeReq) action {
		if r.Kind != "upload" {
			return action{}
		}
		return action{Serve: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "http://"+other.Host+"/v2/app/blobs/uploads/x")
			w.WriteHeader(http.StatusAccepted)
		}}
	})
	got := newTestClient(t, 2*time.Second).CheckPush(context.Background(), []string{f.Host + "/app"})
	if len(got) != 1 || !got[0].OK() {
		t.Fatalf("%+v", got)
	}
	if reqs := other.Requests("DELETE", "/"); len(reqs) != 0 {
		t.Errorf("another host was sent %v", reqs)
	}
}
