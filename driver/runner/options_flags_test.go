package runner

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
	"github.com/docker/buildx/build"
	"github.com/docker/buildx/util/buildflags"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"
)

// parseWith parses options on a fresh context with the given buildx flags.
func parseWith(t *testing.T, o Options) (*parsed, error) {
	t.Helper()
	if o.ContextPath == "" {
		o.ContextPath = t.TempDir()
	}
	o.Timeout = time.Minute
	return parseOptions(o, nil)
}

func TestParseLegacyFlagsWarnAsBuildx(t *testing.T) {
	p, err := parseWith(t, Options{CacheFrom: []string{"type=gha"}, BuildxFlags: BuildxFlags{
		Deprecated: []string{"squash", "compress", "isolation", "rm", "security-opt", "force-rm", "memory"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{deprecatedWarnings["isolation"], deprecatedWarnings["security-opt"], deprecatedWarnings["squash"]}
	if len(p.warnings) != 4 || !slices.Equal(p.warnings[:3], want) || !strings.Contains(p.warnings[3], "type=gha") {
		t.Errorf("warnings %q: want buildx's three, in its order, then the ignored gha cache", p.warnings)
	}
	if len(p.cacheFrom) != 0 {
		t.Errorf("a gha cache outside GitHub Actions is kept: %v", p.cacheFrom)
	}
}

func TestParseBuildxFlagsRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		o     Options
		wants []string
	}{
		{"no-cache with a filter", Options{NoCache: true, BuildxFlags: BuildxFlags{NoCacheFilter: []string{"deps"}}}, []string{"--no-cache-filter"}},
		{"-q with plain", Options{Progress: "plain", BuildxFlags: BuildxFlags{Quiet: true}}, []string{"--progress plain", "-q"}},
		{"iidfile dir", Options{BuildxFlags: BuildxFlags{IIDFile: "/nonexistent/dir/iid"}}, []string{"--iidfile", "/nonexistent/dir"}},
		{"iidfile and local", Options{BuildxFlags: BuildxFlags{IIDFile: filepath.Join(dir, "iid"), Outputs: []string{"type=local,dest=out"}}}, []string{"type=local,dest=out", "--iidfile"}},
		{"delete outside", Options{BuildxFlags: BuildxFlags{Outputs: []string{"type=local,dest=/,mode=delete"}}}, []string{"mode=delete", "buildx.local.delete"}},
		{"policy file", Options{BuildxFlags: BuildxFlags{Policy: []string{"filename=p.rego"}}}, []string{"filename=p.rego", "policy engine"}},
		{"policy strict", Options{BuildxFlags: BuildxFlags{Policy: []string{"strict=true"}}}, []string{"strict=true", "policy engine"}},
		{"oci tag", Options{BuildxFlags: BuildxFlags{BuildContexts: []string{"x=oci-layout://" + dir + ":nosuch"}}}, []string{"oci-layout://", "nosuch"}},
		{"cache token masked", Options{CacheTo: []string{"type=gha,token=s3cret,x"}}, []string{"--cache-to", "token=xxxxx"}},
		{"output secret masked", Options{BuildxFlags: BuildxFlags{Outputs: []string{"type=image,registry.token=s3cret,x"}}}, []string{"--output"}},
	} {
		_, err := parseWith(t, tc.o)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the secret", tc.name, err)
		}
	}
}

func TestParseBuildxFlagsForTheLead(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	p, err := parseWith(t, Options{Labels: []string{"bare"}, Tags: []string{"reg.example/app:v1"}, BuildxFlags: BuildxFlags{
		Quiet: true, Call: "check,format=json", Allow: []string{"buildx.local.delete"},
		Outputs:     []string{"type=registry", "type=local,dest=/tmp/out-delete,mode=delete", "type=oci,dest=img.tar", "type=docker"},
		Annotations: []string{"index:org.opencontainers.image.source=https://github.com/o/r", "manifest:k=all", "manifest[linux/arm64]:k=arm", "plain=yes", "manifest-descriptor:d=1", "index-descriptor:i=2"},
		Policy:      []string{"disabled=true"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.quiet || p.display != progressui.QuietMode || p.call == nil || p.call.Name != "lint" || p.call.Format != "json" || !p.allowLocalDelete {
		t.Errorf("quiet %v display %v call %+v delete %v", p.quiet, p.display, p.call, p.allowLocalDelete)
	}
	if p.labels["bare"] != "" || p.buildArgs["SOURCE_DATE_EPOCH"] != "1700000000" {
		t.Errorf("labels %v build args %v (a bare label is empty, SOURCE_DATE_EPOCH from the environment, as buildx)", p.labels, p.buildArgs)
	}
	types := []string{}
	for _, o := range p.outputs {
		types = append(types, o.Type+":"+o.Dest)
	}
	// type=registry is a push to the tags, type=docker without dest a load; the rest stay outputs.
	if !slices.Equal(types, []string{"local:/tmp/out-delete", "oci:img.tar"}) || !p.outputs[0].DestIsDir || !p.Push || !p.Load {
		t.Errorf("outputs %+v, push %v, load %v", p.outputs, p.Push, p.Load)
	}
	for _, tc := range []struct {
		level, platform string
		want            map[string]string
	}{
		{"index", "", map[string]string{"org.opencontainers.image.source": "https://github.com/o/r"}},
		{"manifest", "linux/amd64", map[string]string{"k": "all", "plain": "yes"}},
		{"manifest", "linux/arm64", map[string]string{"k": "arm", "plain": "yes"}},
		{"manifest-descriptor", "linux/arm64", map[string]string{"d": "1"}},
		{"index-descriptor", "", map[string]string{"i": "2"}},
	} {
		if got := spec.AnnotationsAt(p.annotations, tc.level, tc.platform); !maps.Equal(got, tc.want) {
			t.Errorf("annotations at %s %s: %v, want %v", tc.level, tc.platform, got, tc.want)
		}
	}
}

func TestParseProgressNone(t *testing.T) {
	p, err := parseWith(t, Options{Progress: "none"})
	if err != nil || p.display != progressui.QuietMode || p.quiet {
		t.Errorf("--progress none: %v, %v: want the quiet display without the image ID", p, err)
	}
	if _, err := parseWith(t, Options{Progress: "none", BuildxFlags: BuildxFlags{Quiet: true}}); err == nil {
		t.Error("--progress none -q accepted (buildx refuses it)")
	}
}

func TestParseCacheCredentialsFromTheEnvironment(t *testing.T) {
	flagtest.IsolateEnv(t)
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "gh-tok")
	t.Setenv("ACTIONS_CACHE_URL", "https://cache.example/")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	p, err := parseWith(t, Options{CacheFrom: []string{"type=gha,scope=app"}, CacheTo: []string{"type=s3,region=eu-west-1,bucket=b"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"scope": "app", "token": "gh-tok", "url": "https://cache.example/"}; !maps.Equal(p.cacheFrom[0].Attrs, want) {
		t.Errorf("gha: %v, want %v", p.cacheFrom[0].Attrs, want)
	}
	if want := map[string]string{"region": "eu-west-1", "bucket": "b", "access_key_id": "AKID", "secret_access_key": "SECRET"}; !maps.Equal(p.cacheTo[0].Attrs, want) {
		t.Errorf("s3: %v, want %v", p.cacheTo[0].Attrs, want)
	}
}

func TestParseIIDFile(t *testing.T) {
	iid := filepath.Join(t.TempDir(), "iid")
	p, err := parseWith(t, Options{BuildxFlags: BuildxFlags{IIDFile: iid, Outputs: []string{"type=registry,name=reg.example/app:v1"}}})
	if err != nil || p.iidFile != iid || !p.Push || !slices.Equal(p.Tags, []string{"reg.example/app:v1"}) {
		t.Errorf("--iidfile %s: %v, %v", iid, p, err)
	}
}

func TestDiffSSH(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("SSH_AUTH_SOCK", sock)
	for _, in := range [][]string{
		{"default"}, {"default=" + sock}, {"deploy=" + sock}, {"=" + sock}, {"deploy=" + sock + "," + sock},
		{"deploy=" + filepath.Join(dir, "missing")}, {"deploy="}, {"default", "deploy=" + sock}, {"default", "default"},
		{"a", "a=" + sock}, {""}, {"", "default"},
	} {
		p := &parsed{Options: Options{SSH: in}}
		err := p.parseSessions()
		specs, berr := buildflags.ParseSSHSpecs(in)
		if berr == nil {
			_, berr = build.CreateSSH(specs)
		}
		if (err != nil) != (berr != nil) {
			t.Errorf("--ssh %q: ours %v, buildx's %v", in, err, berr)
			continue
		}
		if err != nil {
			continue
		}
		want := []sshprovider.AgentConfig{}
		for _, s := range specs {
			want = append(want, sshprovider.AgentConfig{ID: s.ID, Paths: s.Paths})
		}
		if !slices.EqualFunc(p.ssh, want, func(a, b sshprovider.AgentConfig) bool { return a.ID == b.ID && slices.Equal(a.Paths, b.Paths) }) {
			t.Errorf("--ssh %q: ours %+v, buildx's %+v", in, p.ssh, want)
		}
	}
}

// A build given its values typed (as bake gives them) parses to the build the same values as
// flags make, and the flag text and the typed values are one list (a later --build-arg wins).
func TestTypedEntriesMakeTheSameBuild(t *testing.T) {
	flagtest.IsolateEnv(t)
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	if err := os.WriteFile(tok, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	agent := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", agent)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	flags := Options{ContextPath: dir, BuildArgs: []string{"A=1"}, Labels: []string{"l=v"}, CacheFrom: []string{"type=registry,ref=r/c"},
		Secrets: []string{"id=t,src=" + tok}, SSH: []string{"default=" + agent},
		BuildxFlags: BuildxFlags{Attests: []string{"type=provenance,mode=max"}, Outputs: []string{"type=local,dest=" + filepath.Join(dir, "out")},
			AddHosts: []string{"db=10.0.0.5"}, BuildContexts: []string{"src=" + dir}, Resources: []string{"memory=1g"}, Policy: []string{"disabled=true"}}}
	typed := Options{ContextPath: dir, Entries: spec.Entries{
		BuildArgs: map[string]string{"A": "1"}, Labels: map[string]string{"l": "v"},
		CacheFrom: []spec.Entry{spec.EntryOf(map[string]string{"type": "registry", "ref": "r/c"}, "type")},
		Secrets:   []spec.Entry{spec.EntryOf(map[string]string{"id": "t", "src": tok}, "id")},
		SSH:       []sshprovider.AgentConfig{{ID: "default", Paths: []string{agent}}},
		Attests:   []spec.Entry{spec.EntryOf(map[string]string{"type": "provenance", "mode": "max"}, "type")},
		Outputs:   []spec.Entry{spec.EntryOf(map[string]string{"type": "local", "dest": filepath.Join(dir, "out")}, "type", "dest")},
		Hosts:     []spec.Pair{{Name: "db", Value: "10.0.0.5"}}, Contexts: []spec.Pair{{Name: "src", Value: dir}},
		Resources: []spec.Pair{{Name: "memory", Value: "1g"}}, Policies: []spec.Entry{{Fields: []string{"disabled=true"}}},
	}}
	a, err := parseWith(t, flags)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseWith(t, typed)
	if err != nil {
		t.Fatal(err)
	}
	for what, same := range map[string]bool{
		"build args": reflect.DeepEqual(a.buildArgs, b.buildArgs), "labels": reflect.DeepEqual(a.labels, b.labels),
		"cache": reflect.DeepEqual(a.cacheFrom, b.cacheFrom), "secrets": reflect.DeepEqual(a.secrets, b.secrets),
		"ssh": reflect.DeepEqual(a.ssh, b.ssh), "attests": reflect.DeepEqual(a.attests, b.attests), "outputs": reflect.DeepEqual(a.outputs, b.outputs),
		"hosts": reflect.DeepEqual(a.hosts, b.hosts), "contexts": reflect.DeepEqual(a.contexts, b.contexts), "solve attrs": reflect.DeepEqual(a.solveAttrs, b.solveAttrs),
	} {
		if !same {
			t.Errorf("%s differ: flags %+v, typed %+v", what, a, b)
		}
	}
	both := typed
	both.BuildArgs = []string{"A=0", "B=2"}
	if p, err := parseWith(t, both); err != nil || p.buildArgs["A"] != "1" || p.buildArgs["B"] != "2" {
		t.Errorf("flags then typed: %v, %v", p.buildArgs, err)
	}
	bad := typed
	bad.Entries.Secrets = []spec.Entry{spec.EntryOf(map[string]string{"id": "t", "src": filepath.Join(dir, "missing")}, "id")}
	if _, err := parseWith(t, bad); err == nil || !strings.Contains(err.Error(), "id=t") {
		t.Errorf("a typed secret whose file is missing: %v", err)
	}
	bad = typed
	bad.Entries.Policies = []spec.Entry{{Fields: []string{"filename=p.rego"}, Text: "filename=p.rego"}}
	if _, err := parseWith(t, bad); err == nil || !strings.Contains(err.Error(), "filename=p.rego") {
		t.Errorf("a typed policy file (no policy engine here): %v", err)
	}
	bad = typed
	bad.Entries.Hosts = []spec.Pair{{Name: "db", Value: "not-an-ip"}}
	if _, err := parseWith(t, bad); err == nil || !strings.Contains(err.Error(), "not-an-ip") {
		t.Errorf("a typed host without an IP: %v", err)
	}
}
