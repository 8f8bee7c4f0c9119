package bake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/runner"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
)

// everyKey is a target with every key buildx v0.38 prints, as it prints them (escapes included).
const everyKey = `{
  "group": {"default": {"targets": ["app"]}},
  "target": {
    "app": {
      "description": "the app",
      "inherits": ["_common"],
      "annotations": ["index:org.opencontainers.image.source=https://example.com/$${REPO}"],
      "attest": [{"mode": "max", "type": "provenance"}, {"disabled": true, "type": "sbom"}],
      "context": "src",
      "contexts": {"base": "target:base", "assets": "cwd://static", "alpine": "docker-image://alpine:3.20"},
      "dockerfile": "build/app.Dockerfile",
      "args": {"VERSION": "1.4", "LITERAL": "$${NOT_EXPANDED}", "UNSET": null},
      "labels": {"org.example.team": "core", "gone": null},
      "tags": ["registry.example.com/app:1.4", "registry.example.com/app:latest"],
      "cache-from": [{"ref": "registry.example.com/app:cache", "type": "registry"}],
      "cache-to": [{"mode": "max", "ref": "registry.example.com/app:cache", "type": "registry"}],
      "target": "release",
      "secret": [{"id": "token", "src": "/run/token"}, {"env": "NPM_TOKEN", "id": "npm"}],
      "ssh": [{"id": "default"}, {"id": "git", "paths": ["/k1", "/k2"]}],
      "platforms": ["linux/amd64", "linux/arm64"],
      "output": [{"type": "local", "dest": "out,dir"}],
      "pull": true,
      "no-cache": true,
      "network": "host",
      "no-cache-filter": ["deps"],
      "shm-size": "128m",
      "ulimits": ["nofile=1024:1024"],
      "resources": {"memory": "1g", "cpu-quota": 1000000},
      "call": "build",
      "entitlements": ["network.host"],
      "extra-hosts": {"db": "10.0.0.5", "none": null},
      "policy": [{"Files": null, "Reset": false, "Disabled": true, "Strict": true, "LogLevel": "warning"}]
    },
    "base": {"context": "base", "dockerfile": "Dockerfile", "output": [{"type": "cacheonly"}]}
  }
}`

// entry is a typed entry of these fields; its text quotes a field as buildx writes a flag.
func entry(fields ...string) spec.Entry {
	text := make([]string, len(fields))
	for i, f := range fields {
		text[i] = f
		if strings.ContainsAny(f, ",\"") {
			text[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
	}
	return spec.Entry{Fields: fields, Text: strings.Join(text, ",")}
}

func TestConvertEveryKey(t *testing.T) {
	def, err := Parse([]byte(everyKey))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Push: true, Load: true, Builder: "farm", Progress: "plain", Timeout: time.Minute, Allow: []string{"network.host"},
		Test: "app --version", TestCriteria: tester.Criteria{ExpectExit: 0}}
	c, err := def.Target["app"].convert("app", o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := runner.Options{
		ContextPath: "src", Builder: "farm", Progress: "plain", Timeout: time.Minute, DeferPublish: true,
		Tags:      []string{"registry.example.com/app:1.4", "registry.example.com/app:latest"},
		Platforms: []string{"linux/amd64", "linux/arm64"},
		File:      filepath.Join("src", "build/app.Dockerfile"),
		Target:    "release", Pull: true, NoCache: true, Network: "host",
		Entries: spec.Entries{
			BuildArgs: map[string]string{"LITERAL": "${NOT_EXPANDED}", "VERSION": "1.4"},
			Labels:    map[string]string{"org.example.team": "core"},
			CacheFrom: []spec.Entry{entry("type=registry", "ref=registry.example.com/app:cache")},
			CacheTo:   []spec.Entry{entry("type=registry", "mode=max", "ref=registry.example.com/app:cache")},
			Secrets:   []spec.Entry{entry("id=token", "src=/run/token"), entry("id=npm", "env=NPM_TOKEN")},
			SSH:       []sshprovider.AgentConfig{{ID: "default"}, {ID: "git", Paths: []string{"/k1", "/k2"}}},
			Attests:   []spec.Entry{entry("type=provenance", "mode=max"), entry("type=sbom", "disabled=true")},
			Outputs:   []spec.Entry{entry("type=local", "dest=out,dir")}, // a comma in a value, never quoted and split again
			Hosts:     []spec.Pair{{Name: "db", Value: "10.0.0.5"}},
			Contexts:  []spec.Pair{{Name: "alpine", Value: "docker-image://alpine:3.20"}, {Name: "assets", Value: "static"}},
			Resources: []spec.Pair{{Name: "cpu-quota", Value: "1000000"}, {Name: "memory", Value: "1g"}},
			Policies:  []spec.Entry{entry("disabled=true", "strict=true", "log-level=warning")},
		},
		BuildxFlags: runner.BuildxFlags{
			Allow:         []string{"network.host"},
			Annotations:   []string{"index:org.opencontainers.image.source=https://example.com/${REPO}"},
			NoCacheFilter: []string{"deps"},
			ShmSize:       "128m",
			Ulimits:       []string{"nofile=1024:1024"},
		},
	}
	if !reflect.DeepEqual(c.opts, want) {
		t.Errorf("options:\n got %+v\nwant %+v", c.opts, want)
	}
	if !reflect.DeepEqual(c.deps, map[string]string{"base": "base"}) || c.cacheOnly || c.pushes {
		t.Errorf("deps %v, cacheOnly %v, pushes %v (a local output: buildx's --push leaves it alone)", c.deps, c.cacheOnly, c.pushes)
	}
	// An output that pushes (as buildx's --push resolves an image output): the test gate applies.
	var pushed Target
	if err := json.Unmarshal([]byte(`{"tags": ["r/app:1"], "output": [{"type": "image", "push": "true"}]}`), &pushed); err != nil {
		t.Fatal(err)
	}
	if p, err := pushed.convert("pushed", o, t.TempDir()); err != nil || !p.pushes || p.opts.Test != "app --version" ||
		!reflect.DeepEqual(p.opts.Entries.Outputs, []spec.Entry{entry("type=image", "push=true")}) {
		t.Errorf("pushed: %+v, %v", p, err)
	}

	// The target only used as a context: nothing leaves BuildKit, whatever --push says.
	b, err := def.Target["base"].convert("base", o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !b.cacheOnly || b.opts.Push || b.opts.Load || b.opts.File != "" || b.opts.ContextPath != "base" {
		t.Errorf("base: %+v", b)
	}
}

func TestConvertDockerfiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		target    string
		file, ctx string
		wantErr   string
	}{
		{target: `{}`, ctx: "."},
		{target: `{"context": "app", "dockerfile": "Dockerfile"}`, ctx: "app"}, // per-platform Dockerfiles stay in use
		{target: `{"context": "app", "dockerfile": "/abs/Dockerfile"}`, ctx: "app", file: "/abs/Dockerfile"},
		{target: `{"context": "cwd://app", "dockerfile": "cwd://docker/Dockerfile"}`, ctx: "app", file: "docker/Dockerfile"},
		{target: `{"context": "https://github.com/o/r.git", "dockerfile": "Dockerfile"}`, ctx: "https://github.com/o/r.git"},
		{target: `{"context": "https://github.com/o/r.git", "dockerfile": "other.Dockerfile"}`, wantErr: "inside the remote context"},
		{target: `{"context": "-"}`, wantErr: "standard input"},
		{target: `{"dockerfile": "-"}`, wantErr: "standard input"},
		{target: `{"call": "check"}`, wantErr: `call "check"`},
		{target: `{"entitlements": ["security.insecure"]}`, wantErr: "give --allow security.insecure"},
	} {
		def, err := Parse([]byte(`{"target": {"t": ` + tc.target + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		c, err := def.Target["t"].convert("t", Options{}, dir)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "target t") {
				t.Errorf("%s: err %v, want %q", tc.target, err, tc.wantErr)
			}
			continue
		}
		if err != nil || c.opts.File != tc.file || c.opts.ContextPath != tc.ctx {
			t.Errorf("%s: file %q context %q (%v), want %q %q", tc.target, c.opts.File, c.opts.ContextPath, err, tc.file, tc.ctx)
		}
	}
}

func TestConvertDockerfileInline(t *testing.T) {
	def, err := Parse([]byte(`{"target": {"t": {"dockerfile-inline": "FROM alpine\nRUN echo $${HOME} %%{x}\n", "dockerfile": "Dockerfile"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := def.Target["t"].convert("t", Options{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := os.ReadFile(c.opts.File)
	if err != nil || string(dt) != "FROM alpine\nRUN echo ${HOME} %{x}\n" || !strings.HasPrefix(c.opts.File, dir) {
		t.Errorf("inline Dockerfile at %s: %q (%v)", c.opts.File, dt, err)
	}
}

func TestConvertDryRunKeepsTargetContexts(t *testing.T) {
	def, err := Parse([]byte(`{"target": {"t": {"contexts": {"base": "target:b"}}, "b": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := def.Target["t"].convert("t", Options{DryRun: true}, t.TempDir())
	if err != nil || !slices.Equal(c.opts.Entries.Contexts, []spec.Pair{{Name: "base", Value: "target:b"}}) || c.deps["base"] != "b" {
		t.Errorf("dry run: contexts %v deps %v (%v)", c.opts.Entries.Contexts, c.deps, err)
	}
}

func TestParseRefusesUnknownKeys(t *testing.T) {
	_, err := Parse([]byte(`{"target": {"app": {"context": ".", "frobnicate": true}}}`))
	if err == nil || !strings.Contains(err.Error(), "target app") || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("err = %v", err)
	}
	if _, err := Parse([]byte(`{"group": {}, "target": {}}`)); err == nil {
		t.Error("a definition without targets was accepted")
	}
	if _, err := Parse([]byte(`not json`)); err == nil {
		t.Error("not JSON was accepted")
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{"$${A}": "${A}", "%%{if}": "%{if}", "$$${A}": "$${A}", "a$b": "a$b", "$$": "$$"} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}
