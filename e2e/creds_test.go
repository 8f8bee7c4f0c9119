//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// loginRegistry is a registry of the farm's kind started for one test, answering only with a
// login from its htpasswd file, which the test rewrites (the registry reads it again when it
// changes).
type loginRegistry struct {
	t        *testing.T
	addr     string
	htpasswd string
}

func startLoginRegistry(t *testing.T) *loginRegistry {
	t.Helper()
	addr := freeAddr(t)
	dir := t.TempDir()
	r := &loginRegistry{t: t, addr: addr, htpasswd: filepath.Join(dir, "htpasswd")}
	r.setUser("nobody", "unused")
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\nauth:\n  htpasswd:\n    realm: test\n    path: %s\n",
		filepath.Join(dir, "data"), addr, r.htpasswd)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startRegistryProcess(t, exec.Command(filepath.Join(farm.Bin, "registry"), "serve", filepath.Join(dir, "config.yml")), addr, http.StatusUnauthorized)
	return r
}

// startRegistryProcess starts a registry for the test (killed at its end) and waits, at most 10 s,
// until GET /v2/ on addr answers up (the status a registry answers when it is up).
func startRegistryProcess(t *testing.T, cmd *exec.Cmd, addr string, up int) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == up {
				return
			}
		}
		if i == 100 {
			t.Fatalf("the registry on %s did not come up: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// setUser makes user/password the registry's only login.
func (r *loginRegistry) setUser(user, password string) {
	r.t.Helper()
	if out, err := exec.Command(filepath.Join(farm.Bin, "farmctl"), "htpasswd", r.htpasswd, user, password).CombinedOutput(); err != nil {
		r.t.Fatalf("farmctl htpasswd: %v: %s", err, out)
	}
}

func (r *loginRegistry) client(user, password string) *registryClient {
	return &registryClient{t: r.t, base: "http://" + r.addr, http: &http.Client{Timeout: 30 * time.Second}, user: user, pass: password}
}

// Issue 25: credentials are read again at push and publish time. The password changes while the
// build runs (the registry's htpasswd rewritten, then `docker login` with the new one): the
// build, which proved push access with the old one, pushes and publishes with the new one.
func TestCredentialsReadAgainAtPushTime(t *testing.T) {
	c, builder := buildFarm(t)
	reg := startLoginRegistry(t)
	reg.setUser("rot", "first-password")
	c.ok(time.Minute, "login", reg.addr, "-u", "rot", "-p", "first-password")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN echo rotating && sleep 12\n"})
	repo := uniqueRepo("rotate")
	p := c.startBackground("multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--push",
		"--progress", "plain", "-t", reg.addr+"/"+repo+":1", dir)
	p.waitOutput("rotating", 2*time.Minute) // push access was proved with the first password
	reg.setUser("rot", "second-password")
	c.ok(time.Minute, "login", reg.addr, "-u", "rot", "-p", "second-password")
	if code, _ := p.waitExit(3 * time.Minute); code != 0 || !strings.Contains(p.output(), "verified") {
		t.Fatalf("the build after the password changed: exit %d:\n%s", code, p.output())
	}
	if tags := reg.client("rot", "second-password").tags(repo); !slices.Equal(tags, []string{"1"}) {
		t.Errorf("tags after the push: %v", tags)
	}
	for _, pw := range []string{"first-password", "second-password"} {
		if strings.Contains(p.output(), pw) {
			t.Errorf("the output shows a password:\n%s", p.output())
		}
	}
}

// Issue 25: a stored credential that says it expires (a token with an exp claim as the
// password) within the build's expected time is warned of up front, naming the registry and
// docker login, without showing the token. The expected time is the last build of the same
// repositories (the history), else --timeout: the same build again, which took seconds, is
// not warned of; nor is one whose token lasts longer.
func TestCredentialExpiryWarnedUpFront(t *testing.T) {
	c, builder := buildFarm(t)
	reg := startLoginRegistry(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN echo expiry\n"})
	first := uniqueRepo("expiry")
	for _, tc := range []struct {
		name, repo string
		in         time.Duration
		warns      bool
	}{
		{"expires soon, no history", first, 100 * time.Second, true},
		{"the same build again, which took seconds", first, 100 * time.Second, false},
		{"lasts", uniqueRepo("expiry"), 2 * time.Hour, false},
	} {
		token := jwtShaped(time.Now().Add(tc.in))
		reg.setUser("exp", token)
		c.ok(time.Minute, "login", reg.addr, "-u", "exp", "-p", token)
		r := c.run(3*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--push",
			"--timeout", "5m", "--progress", "plain", "-t", reg.addr+"/"+tc.repo+":1", dir)
		out := r.Combined()
		if r.ExitCode != 0 || strings.Contains(out, token) || strings.Contains(out, strings.Split(token, ".")[1]) {
			t.Fatalf("%s: exit %d (or the token shown):\n%s", tc.name, r.ExitCode, out)
		}
		warned := strings.Contains(out, "the credentials for "+reg.addr+" expire at")
		if warned != tc.warns || (warned && (!strings.Contains(out, "docker login "+reg.addr) || !strings.Contains(out, "no earlier build of these repositories on record: the next 1h0m0s"))) {
			t.Errorf("%s: warned %v, want %v:\n%s", tc.name, warned, tc.warns, out)
		}
		// Up front: before the first solve's output, not with the summary at the end.
		if at, solve := strings.Index(r.Stderr, "expire at"), strings.Index(r.Stderr, "load build definition"); warned && (solve < 0 || at > solve) {
			t.Errorf("%s: the warning comes after the build started:\n%s", tc.name, r.Stderr)
		}
	}
}

// jwtShaped is a token with an expiry claim, short enough for bcrypt (72 bytes).
func jwtShaped(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(fmt.Appendf(nil, `{"exp":%d}`, exp.Unix())) + "." // an unsecured JWT: no signature
}
