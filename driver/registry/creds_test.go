package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

func writeConfig(t *testing.T, path string, edit func(*configfile.ConfigFile)) *configfile.ConfigFile {
	t.Helper()
	cfg := configfile.New(path)
	edit(cfg)
	if err := cfg.Save(); err != nil { // as docker login: a new file renamed over the old one
		t.Fatal(err)
	}
	return cfg
}

func newCreds(base *configfile.ConfigFile) *creds {
	return &creds{base: base, ttl: time.Hour, wait: 5 * time.Second, now: time.Now, hosts: map[string]*hostCreds{}}
}

func password(t *testing.T, c *creds, host string) string {
	t.Helper()
	ac, err := c.load(context.Background(), host, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ac.Password
}

// A `docker login` while a build runs counts from then on: the config file is read again as soon
// as it changes (a new file, even of the same size and time), and only then; a file that is gone,
// half-written or a FIFO leaves the last good read.
func TestCredentialsFollowTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	login := func(pw string) *configfile.ConfigFile {
		return writeConfig(t, path, func(cfg *configfile.ConfigFile) {
			cfg.AuthConfigs["reg.example:5000"] = types.AuthConfig{Username: "u", Password: pw}
		})
	}
	base := login("first-pw")
	c := newCreds(base)
	if got := password(t, c, "reg.example:5000"); got != "first-pw" {
		t.Fatalf("password %q, want first-pw", got)
	}
	// The same length, the same modification time: another file all the same.
	fi, _ := os.Stat(path)
	login("other-pw")
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := password(t, c, "reg.example:5000"); got != "other-pw" {
		t.Fatalf("after a new login of the same size and time: password %q, want other-pw", got)
	}
	for name, damage := range map[string]func(){
		"half written": func() { _ = os.WriteFile(path, []byte(`{"auths": {"reg.exa`), 0o600) },
		"gone":         func() { _ = os.Remove(path) },
		"a FIFO":       func() { _ = os.Remove(path); _ = syscall.Mkfifo(path, 0o600) },
	} {
		damage()
		done := make(chan string, 1)
		go func() { done <- password(t, c, "reg.example:5000") }()
		select {
		case got := <-done:
			if got != "other-pw" {
				t.Errorf("%s: password %q, want the last good read (other-pw)", name, got)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: the read hangs", name)
		}
		_ = os.Remove(path)
		login("other-pw")
	}
}

// A credential helper is asked again once its answer is older than the TTL, or when BuildKit's
// own check says a cached answer expired; within both, it is not run again.
func TestCredentialHelperAskedAgain(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	helper := "#!/bin/sh\necho get >> " + calls + "\necho '{\"ServerURL\":\"reg.example\",\"Username\":\"u\",\"Secret\":\"from-helper\"}'\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-fake"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	base := writeConfig(t, filepath.Join(dir, "config.json"), func(cfg *configfile.ConfigFile) {
		cfg.CredentialHelpers = map[string]string{"reg.example": "fake"}
	})
	now := time.Unix(1000, 0)
	c := newCreds(base)
	c.ttl, c.now = time.Minute, func() time.Time { return now }
	count := func() int {
		data, _ := os.ReadFile(calls)
		return strings.Count(string(data), "get")
	}
	ask := func(expired bool) {
		t.Helper()
		ac, err := c.load(context.Background(), "reg.example", nil, func(time.Time, string) bool { return expired })
		if err != nil || ac.Password != "from-helper" {
			t.Fatalf("helper's answer: %+v, %v", ac, err)
		}
	}
	ask(false)
	now = now.Add(59 * time.Second)
	ask(false)
	if n := count(); n != 1 {
		t.Fatalf("within the TTL the helper ran %d times, want 1", n)
	}
	now = now.Add(2 * time.Second)
	ask(false)
	if n := count(); n != 2 {
		t.Fatalf("past the TTL the helper ran %d times in all, want 2", n)
	}
	ask(true)
	if n := count(); n != 3 {
		t.Errorf("with BuildKit's check saying expired the helper ran %d times in all, want 3", n)
	}
}

// A helper that hangs holds up only its own host, and only until the wait is over.
func TestHungHelperHoldsUpOnlyItsHost(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-hang"), []byte("#!/bin/sh\nsleep 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	base := writeConfig(t, filepath.Join(dir, "config.json"), func(cfg *configfile.ConfigFile) {
		cfg.CredentialHelpers = map[string]string{"slow.example": "hang"}
		cfg.AuthConfigs["fast.example"] = types.AuthConfig{Username: "u", Password: "fast-pw"}
	})
	c := newCreds(base)
	c.wait = 500 * time.Millisecond
	start := time.Now()
	go func() { _, _ = c.load(context.Background(), "slow.example", nil, nil) }()
	time.Sleep(100 * time.Millisecond)
	if got := password(t, c, "fast.example"); got != "fast-pw" || time.Since(start) > 400*time.Millisecond {
		t.Errorf("another host: %q after %s", got, time.Since(start))
	}
	if _, err := c.load(context.Background(), "slow.example", nil, nil); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("the hung helper: %v after %s", err, time.Since(start))
	}
}
