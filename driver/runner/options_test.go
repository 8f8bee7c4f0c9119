package runner

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// validOptions are options parseOptions accepts: a local context and a deadline.
func validOptions(t *testing.T) Options {
	t.Helper()
	return Options{ContextPath: t.TempDir(), Timeout: time.Minute}
}

func TestParseOptionsRefusesNamingTheBadValue(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	const digestRef = "@sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		wants []string // all in the error
		never []string // none in the error (secret values)
	}{
		{"no context", func(o *Options) { o.ContextPath = "" }, []string{"build context is required"}, nil},
		{"missing context", func(o *Options) { o.ContextPath = filepath.Join(dir, "nope") }, []string{"build context", filepath.Join(dir, "nope"), "no such file"}, nil},
		{"context is a file", func(o *Options) { o.ContextPath = file }, []string{file, "is not a directory"}, nil},
		{"bad tag", func(o *Options) { o.Tags = []string{"reg.example/app:v1", "Bad Tag!"} }, []string{`invalid tag "Bad Tag!"`}, nil},
		{"tag with a digest", func(o *Options) { o.Tags = []string{"reg.example/app" + digestRef} }, []string{`"reg.example/app` + digestRef + `"`, "cannot carry a digest"}, nil},
		{"tag and digest", func(o *Options) { o.Tags = []string{"reg.example/app:v1" + digestRef} }, []string{"reg.example/app:v1" + digestRef, "digest"}, nil},
		{"push without a tag", func(o *Options) { o.Push = true }, []string{"--push needs at least one tag"}, nil},
		{"bad cache ref", func(o *Options) { o.CacheRef = "Reg/Cache Ref" }, []string{`invalid --cache-ref "Reg/Cache Ref"`}, nil},
		{"bad platform", func(o *Options) { o.Platforms = []string{"linux/amd64,linux/bogus"} }, []string{`"linux/bogus"`, "unknown architecture"}, nil},
		{"--file-for without =", func(o *Options) { o.FileFor = []string{"linux/arm64"} }, []string{`invalid --file-for "linux/arm64"`, "PLATFORM=PATH"}, nil},
		{"--file-for without a path", func(o *Options) { o.FileFor = []string{"linux/arm64="} }, []string{`invalid --file-for "linux/arm64="`}, nil},
		{"--file-for bad platform", func(o *Options) { o.FileFor = []string{"plan9/arm64=Dockerfile.x"} }, []string{`invalid --file-for "plan9/arm64=Dockerfile.x"`, "unknown OS"}, nil},
		{"--build-arg without a key", func(o *Options) { o.BuildArgs = []string{"=s3cretvalue"} }, []string{"invalid --build-arg", "want KEY=VALUE"}, []string{"s3cretvalue"}},
		{"--label without a key", func(o *Options) { o.Labels = []string{"=t0psecret"} }, []string{"invalid --label"}, []string{"t0psecret"}},
		{"--cache-from without a type", func(o *Options) { o.CacheFrom = []string{"ref=reg.example/app:cache,token=s3cret"} }, []string{"--cache-from", "type is required", "ref=reg.example/app:cache"}, []string{"s3cret"}},
		{"--cache-to without a type", func(o *Options) { o.CacheTo = []string{"mode=max"} }, []string{"--cache-to", "mode=max", "type is required"}, nil},
		{"--secret without an id", func(o *Options) { o.Secrets = []string{"src=" + file} }, []string{"--secret", "id is required"}, nil},
		{"--secret missing file", func(o *Options) { o.Secrets = []string{"id=tok,src=" + filepath.Join(dir, "tok.txt")} }, []string{"id=tok", filepath.Join(dir, "tok.txt")}, nil},
		{"--ssh without its socket", func(o *Options) { o.SSH = []string{"=/run/agent.sock"} }, []string{`invalid --ssh "=/run/agent.sock"`, "/run/agent.sock"}, nil},
		{"--provenance bad mode", func(o *Options) { o.Provenance = "mode=maximal" }, []string{"--provenance", "mode=maximal", "min or max"}, nil},
		{"--sbom wrong type", func(o *Options) { o.SBOM = "type=provenance" }, []string{"--sbom", "type must be sbom"}, nil},
		{"bad --progress", func(o *Options) { o.Progress = "fancy" }, []string{`invalid --progress "fancy"`, "plain"}, nil},
		{"--metadata-file in a missing dir", func(o *Options) { o.MetadataFile = filepath.Join(dir, "missing", "md.json") }, []string{filepath.Join(dir, "missing", "md.json"), "does not exist"}, nil},
		{"zero --timeout", func(o *Options) { o.Timeout = 0 }, []string{"invalid --timeout 0s", "positive"}, nil},
		{"negative --timeout", func(o *Options) { o.Timeout = -time.Second }, []string{"invalid --timeout -1s"}, nil},
		{"bad --network", func(o *Options) { o.Network = "bridge" }, []string{`invalid --network "bridge"`, "default, host or none"}, nil},
		{"bad --strategy", func(o *Options) { o.Strategy = "kaniko" }, []string{`invalid --strategy "kaniko"`, "buildkit", "engine"}, nil},
		{"engine strategy with --load", func(o *Options) { o.Strategy = plan.StrategyEngine; o.Load = true }, []string{"--load", "engine strategy"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions(t)
			tc.edit(&o)
			p, err := parseOptions(o, nil)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q shows the secret value %q", err, n)
				}
			}
		})
	}
}

func TestParseOptionsHasNoSideEffects(t *testing.T) {
	// An earlier build's metadata stays when the options are refused: nothing has run yet.
	dir := t.TempDir()
	md := filepath.Join(dir, "md.json")
	if err := os.WriteFile(md, []byte(`{"old":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o := validOptions(t)
	o.MetadataFile = md
	o.Network = "bridge" // checked after --metadata-file
	if _, err := parseOptions(o, nil); err == nil {
		t.Fatal("accepted --network bridge")
	}
	if b, err := os.ReadFile(md); err != nil || string(b) != `{"old":true}` {
		t.Errorf("metadata file after a refused build: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files in the metadata dir: %v", entries)
	}
}

func TestParseOptionsAcceptsRemoteAndStdinContexts(t *testing.T) {
	for _, ctx := range []string{"-", "https://github.com/org/repo.git#main", "https://user:tok@example.com/ctx.tar.gz", "git@github.com:org/repo.git"} {
		o := validOptions(t)
		o.ContextPath = ctx
		if _, err := parseOptions(o, nil); err != nil {
			t.Errorf("context %s: %v", ctx, err)
		}
	}
}

func TestParseOptionsConverts(t *testing.T) {
	t.Setenv("FROM_ENV", "env-value")
	t.Setenv("EMPTY_ENV", "")
	os.Unsetenv("UNSET_ENV_FOR_TEST")
	o := validOptions(t)
	o.Tags = []string{"reg.example:5000/team/app:v1", "reg.example:5000/team/app:v2", "other/app", "reg.example:5000/team/app", "docker.io/other/app:latest", "reg.example:5000/team/app:v1"}
	o.Platforms = []string{"linux/x86_64,linux/aarch64", "linux/arm64", "linux/armv7"}
	o.FileFor = []string{"linux/aarch64=Dockerfile.arm", "LINUX/ARM/V7=sub/Dockerfile=odd"}
	o.BuildArgs = []string{"A=1", "B=x=y", "FROM_ENV", "EMPTY_ENV", "UNSET_ENV_FOR_TEST", "EMPTY="}
	o.Labels = []string{"org.opencontainers.image.title=app", "empty="}
	o.Push = true
	o.CacheRef = "reg.example:5000/team/cache"
	o.SBOM = "true"
	p, err := parseOptions(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"reg.example:5000/team/app", "docker.io/other/app"}; !slices.Equal(p.repos, want) {
		t.Errorf("repos %v, want %v (deduplicated, in tag order)", p.repos, want)
	}
	if want := []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}; !slices.Equal(p.platforms, want) {
		t.Errorf("platforms %v, want %v", p.platforms, want)
	}
	if want := map[string]string{"linux/arm64": "Dockerfile.arm", "linux/arm/v7": "sub/Dockerfile=odd"}; !maps.Equal(p.fileFor, want) {
		t.Errorf("fileFor %v, want %v", p.fileFor, want)
	}
	if want := map[string]string{"A": "1", "B": "x=y", "FROM_ENV": "env-value", "EMPTY_ENV": "", "EMPTY": ""}; !maps.Equal(p.buildArgs, want) {
		t.Errorf("buildArgs %v, want %v (a bare KEY from the environment, skipped when unset)", p.buildArgs, want)
	}
	if want := map[string]string{"org.opencontainers.image.title": "app", "empty": ""}; !maps.Equal(p.labels, want) {
		t.Errorf("labels %v", p.labels)
	}
	if want := map[string]string{"attest:sbom": "type=sbom"}; !maps.Equal(p.attests, want) {
		t.Errorf("attests %v, want %v (no provenance given: solveOpt adds buildx's default)", p.attests, want)
	}
	if p.Strategy != plan.StrategyBuildKit || p.display != progressui.AutoMode {
		t.Errorf("defaults: strategy %q, display %q", p.Strategy, p.display)
	}
	if want := []string{"reg.example:5000/team/app:v1", "reg.example:5000/team/app:v2", "other/app", "reg.example:5000/team/app"}; !slices.Equal(p.Tags, want) {
		t.Errorf("tags %v, want %v: as given, each once (other/app is docker.io/other/app:latest)", p.Tags, want)
	}
}

func TestParseOptionsProgressModes(t *testing.T) {
	for _, m := range displayModes {
		o := validOptions(t)
		o.Progress = m
		p, err := parseOptions(o, nil)
		want := m
		if m == "none" { // buildx's quiet display, without the image ID at the end
			want = "quiet"
		}
		if err != nil || string(p.display) != want || p.quiet != (m == "quiet") {
			t.Errorf("--progress %s: %v, %v", m, p, err)
		}
	}
}

func TestCacheSuffix(t *testing.T) {
	for in, want := range map[string]string{"linux/arm64": "cache-linux-arm64", "linux/arm/v7": "cache-linux-arm-v7", "windows/amd64": "cache-windows-amd64"} {
		if got := cacheSuffix(in); got != want {
			t.Errorf("cacheSuffix(%s) = %s, want %s", in, got, want)
		}
	}
}
