package runner

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

func recordOf(platform string, req *registry.BuildRequest, created time.Time) registry.BuildRecord {
	return registry.BuildRecord{Platform: platform, Image: digest.Digest("sha256:" + strings.Repeat("a", 64)), Created: &created, Provenance: req}
}

func TestRebuildOptionsFromTheProvenance(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 5e8)
	minReq := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "Dockerfile", Locals: []string{"context", "dockerfile"}}
	maxReq := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "Dockerfile", Args: map[string]string{
		"build-arg:V": "1", "build-arg:SOURCE_DATE_EPOCH": "42", "label:team": "x", "target": "final", "platform": "linux/amd64"}}
	remote := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "docker/Dockerfile", ConfigURI: "https://example.com/o/r.git#main:sub",
		Commit: "0123456789abcdef0123456789abcdef01234567"}

	bo, res, err := rebuildOptions(RebuildOptions{Ref: "reg.example/app:1", ContextPath: dir}, "reg.example/app",
		[]registry.BuildRecord{recordOf("linux/amd64", minReq, created), recordOf("linux/arm64", minReq, created)})
	if err != nil {
		t.Fatal(err)
	}
	if !bo.PushByDigest || bo.Push || !bo.NoCache || bo.Provenance != "false" || bo.SourceDateEpoch != "1700000000" || len(bo.Tags) != 1 || bo.Tags[0] != "reg.example/app" {
		t.Fatalf("options %+v", bo)
	}
	if !slices.Equal(bo.Platforms, []string{"linux/amd64", "linux/arm64"}) || !strings.HasSuffix(bo.File, string(filepath.Separator)+"Dockerfile") || bo.RemoteFile != "" {
		t.Fatalf("platforms %v, file %q %q", bo.Platforms, bo.File, bo.RemoteFile)
	}
	if len(res.Notes) != 2 || !strings.Contains(res.Notes[1], "creation time") || !strings.Contains(res.Notes[0], "mode=min") {
		t.Fatalf("notes %q: want the epoch's origin and mode=min said", res.Notes)
	}

	bo, _, err = rebuildOptions(RebuildOptions{Ref: "r/a:1", ContextPath: dir, BuildArgs: []string{"W=2"}}, "r/a", []registry.BuildRecord{recordOf("linux/amd64", maxReq, created)})
	if err != nil {
		t.Fatal(err)
	}
	if bo.SourceDateEpoch != "42" || !slices.Equal(bo.BuildArgs, []string{"V=1", "W=2"}) || !slices.Equal(bo.Labels, []string{"team=x"}) || bo.Target != "final" {
		t.Fatalf("mode=max: epoch %s args %v labels %v target %q", bo.SourceDateEpoch, bo.BuildArgs, bo.Labels, bo.Target)
	}

	bo, _, err = rebuildOptions(RebuildOptions{Ref: "r/a:1"}, "r/a", []registry.BuildRecord{recordOf("linux/amd64", remote, created)})
	if err != nil || bo.ContextPath != "https://example.com/o/r.git#0123456789abcdef0123456789abcdef01234567:sub" || bo.RemoteFile != "docker/Dockerfile" || bo.File != "" {
		t.Fatalf("a git context: %q %q %q %v, want it pinned to the recorded commit, the Dockerfile inside it", bo.ContextPath, bo.RemoteFile, bo.File, err)
	}
	// The user's own SOURCE_DATE_EPOCH build argument is the epoch.
	bo, _, err = rebuildOptions(RebuildOptions{Ref: "r/a:1", ContextPath: dir, BuildArgs: []string{"SOURCE_DATE_EPOCH=7"}}, "r/a", []registry.BuildRecord{recordOf("linux/amd64", maxReq, created)})
	if err != nil || bo.SourceDateEpoch != "7" {
		t.Fatalf("--build-arg SOURCE_DATE_EPOCH=7: epoch %q, %v", bo.SourceDateEpoch, err)
	}

	for _, tc := range []struct {
		name string
		o    RebuildOptions
		recs []registry.BuildRecord
		want string
	}{
		{"no provenance", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", nil, created)}, "linux/amd64 (image sha256:aaaa"},
		{"another frontend", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", &registry.BuildRequest{Frontend: "gateway.v0"}, created)}, `frontend "gateway.v0"`},
		{"a local context not given", RebuildOptions{}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created)}, "--context DIR"},
		{"the Dockerfile is elsewhere", RebuildOptions{ContextPath: t.TempDir()}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created)}, "give it with --file"},
		{"platforms built differently", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created), recordOf("linux/arm64", maxReq, created)}, "rebuild each with --platform"},
		{"a Dockerfile above the context", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", withPath(minReq, "../secret"), created)}, `Dockerfile "../secret"`},
		{"an absolute Dockerfile", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", withPath(minReq, "/etc/passwd"), created)}, `Dockerfile "/etc/passwd"`},
		{"a Dockerfile through a symlink out", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", withPath(minReq, "out/passwd"), created)}, "is not inside"},
		{"an ssh context", RebuildOptions{}, []registry.BuildRecord{recordOf("linux/amd64", withURI(remote, "git@evil.example:x/y.git"), created)}, "not an https git URL"},
		{"an http tarball", RebuildOptions{}, []registry.BuildRecord{recordOf("linux/amd64", withURI(remote, "https://169.254.169.254/x.tar"), created)}, "not a git URL"},
		{"a query form", RebuildOptions{}, []registry.BuildRecord{recordOf("linux/amd64", withURI(remote, "https://example.com/o/r.git?ref=main"), created)}, "query"},
		{"no commit", RebuildOptions{}, []registry.BuildRecord{recordOf("linux/amd64", withCommit(remote, ""), created)}, "without the commit"},
		{"another frontend by argument", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", withArg(maxReq, "build-arg:BUILDKIT_SYNTAX", "evil/fe"), created)}, `"BUILDKIT_SYNTAX"`},
		{"a proxy", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", withArg(maxReq, "build-arg:https_proxy", "http://evil:3128"), created)}, `"https_proxy"`},
		{"a bad recorded epoch", RebuildOptions{ContextPath: dir}, []registry.BuildRecord{recordOf("linux/amd64", withArg(maxReq, "build-arg:SOURCE_DATE_EPOCH", "x"), created)}, "the provenance records"},
		{"standard input", RebuildOptions{ContextPath: "-"}, []registry.BuildRecord{recordOf("linux/amd64", minReq, created)}, "no standard input"},
	} {
		if _, _, err := rebuildOptions(tc.o, "r/a", tc.recs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Platforms built on different nodes by a bake (or buildx bake) record different local-sessionid
// attributes: they were still built alike, rebuild together, and the attribute is neither
// replayed nor said to be ignored.
func TestRebuildIgnoresTheRecordedSession(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 0)
	req := &registry.BuildRequest{Frontend: "dockerfile.v0", ConfigPath: "Dockerfile", Args: map[string]string{"build-arg:V": "1"}}
	amd := withArg(withArg(req, "local-sessionid:context", "s1"), "local-sessionid:dockerfile", "s1")
	arm := withArg(req, "local-sessionid:context", "s2")
	bo, res, err := rebuildOptions(RebuildOptions{Ref: "r/a:1", ContextPath: dir}, "r/a",
		[]registry.BuildRecord{recordOf("linux/amd64", amd, created), recordOf("linux/arm64", arm, created)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bo.BuildArgs, []string{"V=1"}) || !slices.Equal(bo.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("args %v platforms %v", bo.BuildArgs, bo.Platforms)
	}
	for _, n := range res.Notes {
		if strings.Contains(n, "sessionid") {
			t.Errorf("note %q: the session is the build's own, not something rebuild leaves out", n)
		}
	}
	// A bake target built on another target: each solve names the OCI layout's store anew.
	layout := func(store, dgst string) *registry.BuildRequest {
		return withArg(req, "context:base", "oci-layout://"+store+"@sha256:"+strings.Repeat(dgst, 64))
	}
	if _, _, err := rebuildOptions(RebuildOptions{Ref: "r/a:1", ContextPath: dir}, "r/a",
		[]registry.BuildRecord{recordOf("linux/amd64", layout("s1", "a"), created), recordOf("linux/arm64", layout("s2", "a"), created)}); err != nil {
		t.Errorf("one layout under two store names: %v", err)
	}
	if _, _, err := rebuildOptions(RebuildOptions{Ref: "r/a:1", ContextPath: dir}, "r/a",
		[]registry.BuildRecord{recordOf("linux/amd64", layout("s1", "a"), created), recordOf("linux/arm64", layout("s1", "b"), created)}); err == nil {
		t.Error("two layouts of different digests count as one context")
	}
}

func TestSelectPlatformsNamesOneTheImageLacks(t *testing.T) {
	recs := []registry.BuildRecord{{Platform: "linux/amd64"}, {Platform: "linux/arm/v7"}}
	got, err := selectPlatforms(recs, []string{"linux/arm/v7"})
	if err != nil || len(got) != 1 || got[0].Platform != "linux/arm/v7" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := selectPlatforms(recs, []string{"linux/s390x"}); err == nil || !strings.Contains(err.Error(), "linux/s390x") {
		t.Fatalf("%v", err)
	}
}

func withPath(r *registry.BuildRequest, p string) *registry.BuildRequest {
	c := *r
	c.ConfigPath = p
	return &c
}

func withURI(r *registry.BuildRequest, u string) *registry.BuildRequest {
	c := *r
	c.ConfigURI = u
	return &c
}

func withCommit(r *registry.BuildRequest, commit string) *registry.BuildRequest {
	c := *r
	c.Commit = commit
	return &c
}

func withArg(r *registry.BuildRequest, k, v string) *registry.BuildRequest {
	c := *r
	c.Args = maps.Clone(r.Args)
	c.Args[k] = v
	return &c
}

// A rebuild's Dockerfile inside a git context is the frontend's filename: nothing local is
// mounted for it, whatever the path says.
func TestRemoteFileIsSentAsTheFilenameNeverMounted(t *testing.T) {
	p := mustParse(t, Options{ContextPath: "https://example.com/o/r.git#0123456789abcdef0123456789abcdef01234567", RemoteFile: "docker/Dockerfile",
		Tags: []string{"reg.example/app"}, PushByDigest: true, Platforms: []string{"linux/amd64"}})
	s := &StepResult{Step: plan.Step{Platform: "linux/amd64", Dockerfile: p.RemoteFile}}
	so := &client.SolveOpt{FrontendAttrs: map[string]string{}}
	if err := (&Runner{}).setInputs(so, p, s); err != nil {
		t.Fatal(err)
	}
	if so.FrontendAttrs["filename"] != "docker/Dockerfile" || len(so.LocalMounts) != 0 || so.FrontendAttrs["context"] != p.ContextPath {
		t.Fatalf("attrs %v, mounts %v", so.FrontendAttrs, so.LocalMounts)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a\x1b[2J"} {
		if _, err := parseOptions(Options{ContextPath: p.ContextPath, RemoteFile: bad, Tags: []string{"reg.example/app"}, Timeout: time.Minute}, nil); err == nil {
			t.Errorf("RemoteFile %q accepted", bad)
		}
	}
	if _, err := parseOptions(Options{ContextPath: t.TempDir(), RemoteFile: "Dockerfile", Timeout: time.Minute}, nil); err == nil {
		t.Error("RemoteFile with a local context accepted")
	}
}
