package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

func writeConfig(t *testing.T, path string, edit func(*configfile.ConfigFile)) *configfile.ConfigFile {
	t.Helper()
	cfg := configfile.New(path)
	edit(cfg)
	if err := cfg.Save(); err != nil {
		t.Fatal(err)
	}
	return cfg
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
// as it changes, and only then.
func TestCredentialsFollowTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	login := func(pw string) *configfile.ConfigFile {
		return writeConfig(t, path, func(cfg *configfile.ConfigFile) {
			cfg.AuthConfigs["reg.example:5000"] = types.AuthConfig{Username: "u", Password: pw}
		})
	}
	base := login("first")
	c := &creds{base: base, ttl: time.Hour, now: time.Now, cache: map[string]credsEntry{}}
	if got := password(t, c, "reg.example:5000"); got != "first" {
		t.Fatalf("password %q, want first", got)
	}
	login("the-second-one")
	if got := password(t, c, "reg.example:5000"); got != "the-second-one" {
		t.Fatalf("after a new login: password %q, want the-second-one", got)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if got := password(t, c, "reg.example:5000"); got != "first" {
		t.Errorf("with the file gone: password %q, want the CLI's own (first)", got)
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
	c := &creds{base: base, ttl: time.Minute, now: func() time.Time { return now }, cache: map[string]credsEntry{}}
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
