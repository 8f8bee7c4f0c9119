//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// withEnv returns a copy of the CLI whose commands also see the variables kv (KEY=VALUE).
func (c *cli) withEnv(kv ...string) *cli {
	cp := *c
	cp.env = append(slices.Clone(c.env), kv...)
	return &cp
}

// dropInAccepted are flag lines of `docker buildx build` v0.38, each accepted by `docker multiarch
// build --dry-run` (DIR is a directory of the test's own).
var dropInAccepted = [][]string{
	{"--add-host", "db:10.0.0.5", "--add-host", "a=1.2.3.4,b=::1", "--add-host", "gw:host-gateway"},
	{"--allow", "network.host", "--allow", "security.insecure", "--allow", "device", "--allow", "buildx.local.delete"},
	{"--annotation", "index:org.opencontainers.image.source=https://github.com/o/r", "--annotation", "manifest[linux/amd64]:k=v", "--annotation", "k=v"},
	{"--attest", "type=sbom,generator=reg.example/scanner", "--attest", "type=provenance,mode=max"},
	{"--build-context", "base=docker-image://busybox", "--build-context", "src=DIR", "--build-context", "stage=target:build"},
	{"--call", "check"}, {"--call", "outline,format=json"}, {"--check"}, {"--call", "build"}, {"--print", "targets"},
	{"--cgroup-parent", "ci.slice"}, {"-D"}, {"--debug"}, {"--iidfile", "DIR/iid"}, {"--no-cache-filter", "deps"},
	{"-o", "type=local,dest=DIR/out"}, {"--output", "type=registry"}, {"-o", "type=oci,dest=DIR/img.tar"}, {"-o", "DIR/out2"},
	{"-o", "type=docker"}, {"--policy", "disabled=true"}, {"--progress", "none"}, {"-q"}, {"--quiet", "--progress", "quiet"},
	{"--resource", "memory=1g", "--resource", "cpu-quota=50000"}, {"-m", "1g", "--memory-swap", "-1", "-c", "512"},
	{"--cpu-period", "100000", "--cpu-quota", "50000", "--cpuset-cpus", "0", "--cpuset-mems", "0"},
	{"--shm-size", "64m"}, {"--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512"},
	{"--compress", "--rm=false", "--force-rm"}, {"--cache-from", "a,b", "--cache-to", "type=inline"},
}

// dropInRefused are bad values of those flags: each refused, naming the value, before anything runs.
var dropInRefused = []struct {
	args []string
	want string
}{
	{[]string{"--add-host", "nohost"}, "nohost"}, {[]string{"--add-host", "h:notanip"}, "notanip"},
	{[]string{"--allow", "bogus.ent"}, "bogus.ent"}, {[]string{"--allow", "buildx.local.delete=yes"}, "buildx.local.delete=yes"},
	{[]string{"--annotation", "bad:k=v"}, `"bad"`}, {[]string{"--annotation", "novalue"}, "novalue"},
	{[]string{"--annotation", "manifest[not a platform]:k=v"}, "manifest[not a platform]"},
	{[]string{"--attest", "mode=max"}, "mode=max"}, {[]string{"--attest", "type=sbom,disabled=maybe"}, "disabled=maybe"},
	{[]string{"--build-context", "novalue"}, "novalue"}, {[]string{"--build-context", "x=/nonexistent/ctxdir"}, "/nonexistent/ctxdir"},
	{[]string{"--build-context", "Bad Name=docker-image://x"}, "Bad Name"},
	{[]string{"--call", "check,outline"}, "check,outline"}, {[]string{"--check=maybe"}, "maybe"},
	{[]string{"--iidfile", "/nonexistent/iiddir/iid"}, "/nonexistent/iiddir"},
	{[]string{"--no-cache-filter", "deps", "--no-cache"}, "--no-cache-filter"},
	{[]string{"-o", "type=local"}, "type=local"}, {[]string{"-o", "type="}, "type="}, {[]string{"-o", "-", "--output", "type=tar"}, "type=tar"},
	{[]string{"-o", "type=local,dest=x", "--iidfile", "DIR/iid"}, "type=local,dest=x"},
	{[]string{"--policy", "filename=policy.rego"}, "filename=policy.rego"}, {[]string{"--policy", "bogus=1"}, "bogus=1"},
	{[]string{"--progress", "none", "-q"}, "none"}, {[]string{"--progress", "fancy"}, "fancy"},
	{[]string{"--resource", "bogus=1"}, "bogus"}, {[]string{"-m", "lots"}, "lots"}, {[]string{"--resource", "cpu-shares=many"}, "many"},
	{[]string{"--shm-size", "abc"}, "abc"}, {[]string{"--ulimit", "nofile=abc"}, "nofile=abc"}, {[]string{"--ulimit", "bogus=1"}, "bogus"},
	{[]string{"--cache-from", "bucket=b,secret_access_key=s3cret"}, "secret_access_key=xxxxx"},
	{[]string{"--ssh", "deploy=/nonexistent/key"}, "/nonexistent/key"}, {[]string{"--attest", "type=sbom,token=s3cret,x"}, "--attest"},
}

// legacyWarnings are the warnings buildx prints for its hidden legacy flags.
var legacyWarnings = []string{
	"WARNING: isolation flag is deprecated with BuildKit.",
	`WARNING: security-opt flag is deprecated. "RUN --security=insecure" should be used with BuildKit.`,
	"WARNING: experimental flag squash is removed with BuildKit. You should squash inside build using a multi-stage Dockerfile for efficiency.",
}

func TestDropInFlagsAccepted(t *testing.T) {
	c, builder := buildFarmWith(t, "--emulate", "linux/arm/v7=farm-a", "--emulate", "linux/arm64=farm-b", "--bootstrap")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + " AS deps\nRUN true\nFROM deps\nRUN echo built > /built\n"})
	tmp := t.TempDir()
	ref := farm.Registry + "/" + uniqueRepo("dropin") + ":v1"
	sub := func(args []string) []string {
		out := slices.Clone(args)
		for i, a := range out {
			out[i] = strings.ReplaceAll(a, "DIR", tmp)
		}
		return out
	}
	for _, args := range dropInAccepted {
		full := slices.Concat([]string{"multiarch", "build", "--builder", builder, "-t", ref, "--dry-run"}, sub(args), []string{dir})
		if res := c.run(2*time.Minute, full...); res.ExitCode != 0 {
			t.Errorf("build %s: exit %d\n%s", strings.Join(args, " "), res.ExitCode, tail(res.Combined(), 600))
		}
	}
	for _, tc := range dropInRefused {
		full := slices.Concat([]string{"multiarch", "build", "--builder", builder, "-t", ref, "--push"}, sub(tc.args), []string{dir})
		res := c.run(2*time.Minute, full...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("build %s: exit %d, stderr %q; want an error naming %s", strings.Join(tc.args, " "), res.ExitCode, tail(res.Stderr, 400), tc.want)
		}
		if strings.Contains(res.Combined(), "s3cret") {
			t.Errorf("build %s echoed a secret: %s", strings.Join(tc.args, " "), res.Combined())
		}
	}
	for n, engine := range map[string]string{"farm-a": farm.EngineA, "farm-b": farm.EngineB} {
		if got := c.nodeHistory(engine, builder, n); len(got) != 0 {
			t.Errorf("a refused flag reached BuildKit on %s: %v", n, got)
		}
	}
	dropInLegacyAndDefaults(t, c, builder, dir)
}

// dropInLegacyAndDefaults: buildx's warnings for its legacy flags (compared with buildx's own
// output), DOCKER_DEFAULT_PLATFORM as --platform's default, and --progress none printing nothing.
func dropInLegacyAndDefaults(t *testing.T, c *cli, builder, dir string) {
	legacy := []string{"--isolation", "hyperv", "--security-opt", "seccomp=unconfined", "--squash", "--compress", "--rm", "--force-rm"}
	res := c.ok(2*time.Minute, slices.Concat([]string{"multiarch", "build", "--builder", builder, "--dry-run"}, legacy, []string{dir})...)
	bx := c.run(time.Minute, slices.Concat([]string{"buildx", "build", "--builder", "no-such-builder"}, legacy, []string{dir})...)
	for _, w := range legacyWarnings {
		if !strings.Contains(res.Stderr, w+"\n") {
			t.Errorf("legacy flags: stderr lacks %q:\n%s", w, res.Stderr)
		}
		if !strings.Contains(bx.Stderr, w+"\n") {
			t.Errorf("docker buildx build does not print %q (the test's copy of its text is stale):\n%s", w, bx.Stderr)
		}
	}
	if n := strings.Count(res.Stderr, "WARNING:"); n != len(legacyWarnings) {
		t.Errorf("legacy flags: %d warnings, want %d (--compress, --rm, --force-rm are silent):\n%s", n, len(legacyWarnings), res.Stderr)
	}
	plan := c.withEnv("DOCKER_DEFAULT_PLATFORM=linux/arm64").ok(time.Minute, "multiarch", "build", "--builder", builder, "--dry-run", dir).Stdout
	if !regexpLine(plan, "linux/arm64", "farm-b") || strings.Contains(plan, "linux/amd64") || strings.Contains(plan, "linux/arm/v7") {
		t.Errorf("DOCKER_DEFAULT_PLATFORM=linux/arm64: plan\n%s", plan)
	}
	built := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--progress", "none",
		"--no-cache-filter", "deps", "--shm-size", "16m", "--ulimit", "nofile=1024:2048", "--add-host", "db:10.0.0.5", dir)
	if built.Stdout != "" {
		t.Errorf("--progress none printed %q", built.Stdout)
	}
	if got := c.nodeHistory(farm.EngineA, builder, "farm-a"); !slices.Equal(got, []string{"linux/amd64"}) {
		t.Errorf("farm-a built %v, want linux/amd64", got)
	}
}
