package runner

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/store"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/upload/uploadprovider"
	mobyclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

func mustParse(t *testing.T, o Options) *parsed {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = time.Minute
	}
	p, err := parseOptions(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// contextDir is a build context with a Dockerfile, a per-platform one and a file.
func contextDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{"Dockerfile": "FROM scratch\n", "Dockerfile.linux-arm64": "FROM scratch\n", "app.txt": "app"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mountFiles lists the files of a local mount.
func mountFiles(t *testing.T, m fsutil.FS) []string {
	t.Helper()
	var names []string
	err := m.Walk(context.Background(), "", func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func sessionTypes(s []session.Attachable) []string {
	var out []string
	for _, a := range s {
		out = append(out, fmt.Sprintf("%T", a))
	}
	return out
}

func TestSolveOptPerStep(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	p := mustParse(t, Options{
		ContextPath: dir, Push: true, Target: "release", NoCache: true, Network: "host",
		Tags:      []string{"reg.example:5000/team/app:v1", "other.example/team/app:v1", "reg.example:5000/team/app:latest"},
		BuildArgs: []string{"A=1"}, Labels: []string{"L=v"},
		CacheFrom: []string{"reg.example:5000/team/app:buildcache"}, CacheRef: "reg.example:5000/team/cache",
	})
	node := builder.Node{Node: store.Node{Name: "arm0", Endpoint: "ssh://arm"}, Driver: driverHandle(false),
		ProxyConfig: map[string]string{"HTTP_PROXY": "http://proxyuser:pr0xypass@proxy.example:3128", "NO_PROXY": "localhost,.corp"}}
	steps := []StepResult{
		{Step: plan.Step{Platform: "linux/amd64", Node: "amd0", Dockerfile: filepath.Join(dir, "Dockerfile")}, Loaded: true},
		{Step: plan.Step{Platform: "linux/arm64", Node: "arm0", Dockerfile: filepath.Join(dir, "Dockerfile.linux-arm64")}},
	}
	for _, s := range steps {
		so, err := r.solveOpt(t.Context(), p, &s, node)
		if err != nil {
			t.Fatal(err)
		}
		so.Exports = testRun(t, p, nil, nil).exports(&s) // as runStep adds them
		want := map[string]string{
			"platform": s.Platform, "target": "release", "no-cache": "",
			"build-arg:A": "1", "build-arg:HTTP_PROXY": "http://proxy.example:3128", "build-arg:NO_PROXY": "localhost,.corp",
			"label:L": "v", "attest:provenance": "mode=min,inline-only=true", "force-network-mode": "host",
			"filename": filepath.Base(s.Dockerfile),
		}
		if !maps.Equal(so.FrontendAttrs, want) {
			t.Errorf("%s: frontend attrs\n%v\nwant\n%v", s.Platform, so.FrontendAttrs, want)
		}
		if so.Frontend != "dockerfile.v0" || !slices.Equal(so.AllowedEntitlements, []string{"network.host"}) {
			t.Errorf("%s: frontend %q, entitlements %v", s.Platform, so.Frontend, so.AllowedEntitlements)
		}
		if dt := fmt.Sprintf("%+v %+v", so.FrontendAttrs, so.Exports); strings.Contains(dt, "pr0xypass") || !strings.Contains(fmt.Sprint(so.FrontendAttrs), "proxy.example") {
			t.Errorf("%s: the proxy's credentials reach the solve, or the proxy does not: %s", s.Platform, dt)
		}
		cache := "reg.example:5000/team/cache:cache-" + strings.ReplaceAll(s.Platform, "/", "-")
		if len(so.CacheImports) != 2 || so.CacheImports[0].Attrs["ref"] != "reg.example:5000/team/app:buildcache" ||
			so.CacheImports[1].Type != "registry" || !maps.Equal(so.CacheImports[1].Attrs, map[string]string{"ref": cache}) {
			t.Errorf("%s: cache imports %+v, want the --cache-from one then %s", s.Platform, so.CacheImports, cache)
		}
		if len(so.CacheExports) != 1 || so.CacheExports[0].Type != "registry" || !maps.Equal(so.CacheExports[0].Attrs, map[string]string{"ref": cache, "mode": "max"}) {
			t.Errorf("%s: cache exports %+v, want %s mode=max", s.Platform, so.CacheExports, cache)
		}
		// Pushed by digest to both repositories, never to a tag; the Loaded step alone goes to the
		// engine. The push is the last exporter: BuildKit merges their answers in order, and the
		// push's descriptor (the index with the attestations) is the one published.
		wantTypes := []string{client.ExporterImage}
		if s.Loaded {
			wantTypes = []string{client.ExporterDocker, client.ExporterImage}
		}
		var types []string
		for _, e := range so.Exports {
			types = append(types, e.Type)
		}
		if !slices.Equal(types, wantTypes) {
			t.Fatalf("%s: exporters %v, want %v", s.Platform, types, wantTypes)
		}
		push := so.Exports[len(so.Exports)-1]
		if want := map[string]string{"name": "reg.example:5000/team/app,other.example/team/app", "push": "true", "push-by-digest": "true", "unpack": "false"}; !maps.Equal(push.Attrs, want) {
			t.Errorf("%s: image exporter %v, want %v", s.Platform, push.Attrs, want)
		}
		if strings.Contains(push.Attrs["name"], ":v1") || strings.Contains(push.Attrs["name"], ":latest") {
			t.Errorf("%s: a tag is pushed by the solve: %s", s.Platform, push.Attrs["name"])
		}
		if s.Loaded && so.Exports[0].Attrs["name"] != strings.Join(p.Tags, ",") {
			t.Errorf("%s: loaded as %q", s.Platform, so.Exports[0].Attrs["name"])
		}
		// The local context and the step's Dockerfile's directory are mounted.
		if got := slices.Sorted(maps.Keys(so.LocalMounts)); !slices.Equal(got, []string{"context", "dockerfile"}) {
			t.Fatalf("%s: local mounts %v", s.Platform, got)
		}
		if got := mountFiles(t, so.LocalMounts["context"]); !slices.Equal(got, []string{"Dockerfile", "Dockerfile.linux-arm64", "app.txt"}) {
			t.Errorf("%s: context mount %v", s.Platform, got)
		}
		if got := mountFiles(t, so.LocalMounts["dockerfile"]); !slices.Contains(got, filepath.Base(s.Dockerfile)) {
			t.Errorf("%s: dockerfile mount %v", s.Platform, got)
		}
		if !strings.HasPrefix(so.SharedKey, filepath.Base(dir)+"-") || !strings.Contains(so.SharedKey, ":") {
			t.Errorf("%s: shared key %q", s.Platform, so.SharedKey)
		}
		if got := sessionTypes(so.Session); len(got) != 2 || !strings.Contains(got[0], "authprovider") || !strings.Contains(got[1], "secretsprovider") {
			t.Errorf("%s: sessions %v, want registry auth and secrets", s.Platform, got)
		}
	}
}

func TestSolveOptCacheRefKeepsEachStepsOwn(t *testing.T) {
	// Steps run in parallel from one parsed; each step's cache ref must stay its own, however many
	// --cache-from/--cache-to entries it shares with the others.
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	p := mustParse(t, Options{ContextPath: dir, CacheRef: "reg.example/cache",
		CacheFrom: []string{"reg.example/a:c", "reg.example/b:c", "reg.example/c:c"},
		CacheTo:   []string{"type=inline", "type=local,dest=/tmp/x", "type=registry,ref=reg.example/d:c"}})
	node := builder.Node{Driver: driverHandle(false)}
	var opts []*client.SolveOpt
	for _, plat := range []string{"linux/amd64", "linux/arm64"} {
		so, err := r.solveOpt(t.Context(), p, &StepResult{Step: plan.Step{Platform: plat, Dockerfile: filepath.Join(dir, "Dockerfile")}}, node)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, so)
	}
	for i, plat := range []string{"linux/amd64", "linux/arm64"} {
		want := "reg.example/cache:" + cacheSuffix(plat)
		imp, exp := opts[i].CacheImports, opts[i].CacheExports
		if len(imp) != 4 || imp[3].Attrs["ref"] != want || len(exp) != 4 || exp[3].Attrs["ref"] != want {
			t.Errorf("%s: cache imports %+v, exports %+v; want %s last", plat, imp, exp, want)
		}
	}
	if len(p.cacheFrom) != 3 || len(p.cacheTo) != 3 {
		t.Errorf("the parsed options changed: %+v %+v", p.cacheFrom, p.cacheTo)
	}
}

func TestSolveOptAttrs(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	step := &StepResult{Step: plan.Step{Platform: "linux/arm/v7", Dockerfile: filepath.Join(dir, "Dockerfile")}}
	tags := []string{"reg.example/app:v1"}
	for _, tc := range []struct {
		name    string
		o       Options
		moby    bool
		want    map[string]string // attrs that must be set so
		absent  []string          // attrs that must not be set
		entitle []string
	}{
		{"pull", Options{Pull: true}, true, map[string]string{"image-resolve-mode": "pull"}, nil, nil},
		{"moby driver", Options{}, true, map[string]string{"image-resolve-mode": "local"}, nil, nil},
		{"container driver", Options{}, false, nil, []string{"image-resolve-mode", "target", "no-cache", "force-network-mode"}, nil},
		{"push: buildx's default provenance", Options{Push: true, Tags: tags}, false, map[string]string{"attest:provenance": "mode=min,inline-only=true"}, []string{"attest:sbom"}, nil},
		{"push: provenance off", Options{Push: true, Tags: tags, Provenance: "false"}, false, nil, []string{"attest:provenance"}, nil},
		{"push: provenance disabled", Options{Push: true, Tags: tags, Provenance: "disabled=true"}, false, nil, []string{"attest:provenance"}, nil},
		{"push: provenance max", Options{Push: true, Tags: tags, Provenance: "mode=max"}, false, map[string]string{"attest:provenance": "type=provenance,mode=max"}, nil, nil},
		{"push: sbom", Options{Push: true, Tags: tags, SBOM: "true"}, false, map[string]string{"attest:sbom": "type=sbom", "attest:provenance": "mode=min,inline-only=true"}, nil, nil},
		{"no push: no default provenance", Options{}, false, nil, []string{"attest:provenance"}, nil},
		{"no push: provenance asked", Options{Provenance: "true"}, false, map[string]string{"attest:provenance": "type=provenance"}, nil, nil},
		{"network none", Options{Network: "none"}, false, map[string]string{"force-network-mode": "none"}, nil, nil},
		{"network default", Options{Network: "default"}, false, nil, []string{"force-network-mode"}, nil},
		{"network host", Options{Network: "host"}, false, map[string]string{"force-network-mode": "host"}, nil, []string{"network.host"}},
		{"a build arg overrides a proxy arg", Options{BuildArgs: []string{"HTTP_PROXY=http://mine:1"}}, false, map[string]string{"build-arg:HTTP_PROXY": "http://mine:1"}, nil, nil},
	} {
		o := tc.o
		o.ContextPath = dir
		p := mustParse(t, o)
		node := builder.Node{Driver: driverHandle(tc.moby), ProxyConfig: map[string]string{"HTTP_PROXY": "http://proxy:3128"}}
		so, err := r.solveOpt(t.Context(), p, step, node)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if so.FrontendAttrs["platform"] != "linux/arm/v7" {
			t.Errorf("%s: platform %q", tc.name, so.FrontendAttrs["platform"])
		}
		for k, v := range tc.want {
			if got, ok := so.FrontendAttrs[k]; !ok || got != v {
				t.Errorf("%s: %s = %q (set %v), want %q", tc.name, k, got, ok, v)
			}
		}
		for _, k := range tc.absent {
			if v, ok := so.FrontendAttrs[k]; ok {
				t.Errorf("%s: %s = %q, want it unset", tc.name, k, v)
			}
		}
		if !slices.Equal(so.AllowedEntitlements, tc.entitle) {
			t.Errorf("%s: entitlements %v, want %v", tc.name, so.AllowedEntitlements, tc.entitle)
		}
		if !p.Push && !step.Loaded && len(so.Exports) != 0 {
			t.Errorf("%s: exports without --push or --load: %+v", tc.name, so.Exports)
		}
	}
}

func TestSetInputs(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	dir := contextDir(t)
	other := t.TempDir()
	otherFile := filepath.Join(other, "arm.Dockerfile")
	if err := os.WriteFile(otherFile, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive := tarOf(t, map[string]string{"Dockerfile.linux-arm64": "FROM scratch\n"})
	arm := func(dockerfile string) *StepResult {
		return &StepResult{Step: plan.Step{Platform: "linux/arm64", Dockerfile: dockerfile}}
	}
	for _, tc := range []struct {
		name     string
		p        *parsed
		step     *StepResult
		context  string // the "context" frontend attr; "upload" for a session URL
		filename string
		mounts   []string
		upload   bool
	}{
		{"stdin archive", func() *parsed {
			p := mustParse(t, Options{ContextPath: "-"})
			p.stdin = stdinArchive(t, archive)
			return p
		}(), arm("Dockerfile.linux-arm64"), "upload", "Dockerfile.linux-arm64", nil, true},
		{"stdin archive, --file-for from disk", func() *parsed {
			p := mustParse(t, Options{ContextPath: "-", FileFor: []string{"linux/arm64=" + otherFile}})
			p.stdin = stdinArchive(t, archive)
			return p
		}(), arm(otherFile), "upload", "arm.Dockerfile", []string{"dockerfile"}, true},
		{"local context", mustParse(t, Options{ContextPath: dir}), arm(filepath.Join(dir, "Dockerfile.linux-arm64")),
			"", "Dockerfile.linux-arm64", []string{"context", "dockerfile"}, false},
		{"local context, -f outside it", mustParse(t, Options{ContextPath: dir, File: otherFile}), arm(otherFile),
			"", "arm.Dockerfile", []string{"context", "dockerfile"}, false},
		{"remote context", mustParse(t, Options{ContextPath: "https://github.com/org/repo.git#main:sub"}), arm("Dockerfile.linux-arm64"),
			"https://github.com/org/repo.git#main:sub", "Dockerfile.linux-arm64", nil, false},
		{"remote context, -f from disk", mustParse(t, Options{ContextPath: "git@github.com:org/repo.git", File: otherFile}), arm(otherFile),
			"git@github.com:org/repo.git", "arm.Dockerfile", []string{"dockerfile"}, false},
	} {
		so := &client.SolveOpt{FrontendAttrs: map[string]string{}}
		if err := r.setInputs(so, tc.p, tc.step); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		ctxAttr, hasCtx := so.FrontendAttrs["context"]
		switch {
		case tc.context == "upload":
			if !strings.HasPrefix(ctxAttr, "http://buildkit-session/") {
				t.Errorf("%s: context %q, want the upload session's URL", tc.name, ctxAttr)
			}
		case tc.context == "" && hasCtx:
			t.Errorf("%s: context attr %q for a local context", tc.name, ctxAttr)
		case ctxAttr != tc.context:
			t.Errorf("%s: context %q, want %q", tc.name, ctxAttr, tc.context)
		}
		if so.FrontendAttrs["filename"] != tc.filename {
			t.Errorf("%s: filename %q, want %q", tc.name, so.FrontendAttrs["filename"], tc.filename)
		}
		if got := slices.Sorted(maps.Keys(so.LocalMounts)); !slices.Equal(got, tc.mounts) {
			t.Errorf("%s: mounts %v, want %v", tc.name, got, tc.mounts)
		}
		if got := slices.Sorted(maps.Keys(localDirsOf(tc.p, tc.step))); !slices.Equal(got, tc.mounts) {
			t.Errorf("%s: a shared session would send %v, the solve mounts %v", tc.name, got, tc.mounts)
		}
		if m, ok := so.LocalMounts["dockerfile"]; ok && !slices.Contains(mountFiles(t, m), tc.filename) {
			t.Errorf("%s: the dockerfile mount lacks %s", tc.name, tc.filename)
		}
		var uploads int
		for _, s := range so.Session {
			if _, ok := s.(*uploadprovider.Uploader); ok {
				uploads++
			}
		}
		if (uploads == 1) != tc.upload || uploads > 1 {
			t.Errorf("%s: %d upload sessions", tc.name, uploads)
		}
		// A local context is keyed for BuildKit's file sync.
		if slices.Contains(tc.mounts, "context") == (so.SharedKey == "") {
			t.Errorf("%s: shared key %q", tc.name, so.SharedKey)
		}
	}
}

func TestSetInputsMissingDockerfileDir(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	p := mustParse(t, Options{ContextPath: contextDir(t)})
	missing := filepath.Join(t.TempDir(), "gone", "Dockerfile")
	err := r.setInputs(&client.SolveOpt{FrontendAttrs: map[string]string{}}, p, &StepResult{Step: plan.Step{Platform: "linux/amd64", Dockerfile: missing}})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("err %v, want the Dockerfile named", err)
	}
}

func TestStdinArchiveGoesToTheSolveWithItsSession(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	p := mustParse(t, Options{ContextPath: "-"})
	p.stdin = stdinArchive(t, tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n"}))
	so, err := r.solveOpt(t.Context(), p, &StepResult{Step: plan.Step{Platform: "linux/amd64", Dockerfile: "Dockerfile"}}, builder.Node{Driver: driverHandle(false)})
	if err != nil {
		t.Fatal(err)
	}
	got := sessionTypes(so.Session)
	if len(got) != 3 || !strings.Contains(got[0], "authprovider") || !strings.Contains(got[2], "uploadprovider") {
		t.Errorf("sessions %v: registry auth, secrets, then the context upload", got)
	}
	if so.FrontendAttrs["filename"] != "Dockerfile" || !strings.HasPrefix(so.FrontendAttrs["context"], "http://buildkit-session/") || len(so.LocalMounts) != 0 {
		t.Errorf("attrs %v mounts %v", so.FrontendAttrs, so.LocalMounts)
	}
}

func TestSessions(t *testing.T) {
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	secret := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := mustParse(t, Options{ContextPath: t.TempDir(), Secrets: []string{"id=tok,src=" + secret, "id=env,env=HOME"}})
	s, err := r.sessions(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := sessionTypes(s); len(got) != 2 {
		t.Errorf("sessions %v", got)
	}
	if got := fmt.Sprintf("%T", s[0]); !strings.Contains(got, "authprovider") {
		t.Errorf("the first session is %T, want registry auth", s[0])
	}

	// A secret file gone since the options were checked.
	if err := os.Remove(secret); err != nil {
		t.Fatal(err)
	}
	if _, err := r.sessions(p); err == nil || !strings.Contains(err.Error(), "--secret") || !strings.Contains(err.Error(), secret) {
		t.Errorf("a secret file removed: %v", err)
	}

	// An ssh key that does not exist: refused before anything runs, as buildx does.
	key := filepath.Join(t.TempDir(), "id_missing")
	if _, err := parseOptions(Options{ContextPath: t.TempDir(), Timeout: time.Minute, SSH: []string{"deploy=" + key}}, nil); err == nil || !strings.Contains(err.Error(), "--ssh") || !strings.Contains(err.Error(), key) {
		t.Errorf("a missing ssh key: %v", err)
	}
}

func TestExportsWithoutPush(t *testing.T) {
	p := mustParse(t, Options{ContextPath: t.TempDir(), Load: true})
	loaded := &StepResult{Step: plan.Step{Platform: "linux/amd64"}, Loaded: true}
	st := testRun(t, p, nil, nil)
	ex := st.exports(loaded)
	if len(ex) != 1 || ex[0].Type != client.ExporterDocker || len(ex[0].Attrs) != 0 {
		t.Errorf("--load without tags: %+v (an untagged image)", ex)
	}
	if ex := st.exports(&StepResult{Step: plan.Step{Platform: "linux/arm64"}}); len(ex) != 0 {
		t.Errorf("a step not loaded, no push: %+v", ex)
	}
}

// loadStream is an engine's answer to an image load.
type loadStream struct{ io.Reader }

func (loadStream) Close() error { return nil }

// --load into a classic store: the docker exporter writes into the load's folder, and nothing
// reaches the engine until the load runs (after the gate and the publish); a failed load says so.
func TestLocalLoadWaitsThenStreamsIntoTheEngine(t *testing.T) {
	var got bytes.Buffer
	fail, calls := false, 0
	api := &fakeAPI{imageLoad: func(_ context.Context, r io.Reader) (mobyclient.ImageLoadResult, error) {
		calls++
		got.Reset()
		if _, err := io.Copy(&got, r); err != nil {
			return nil, err
		}
		if fail {
			return loadStream{strings.NewReader(`{"errorDetail":{"message":"no space left"},"error":"no space left"}` + "\n")}, nil
		}
		return loadStream{strings.NewReader(`{"stream":"Loaded image: reg.example/app:v1\n"}` + "\n")}, nil
	}}
	testCLI(t, api)
	p := mustParse(t, Options{ContextPath: t.TempDir(), Load: true, Tags: []string{"reg.example/app:v1"}})
	st := testRun(t, p, nil, nil)
	load := st.files.load
	ex := st.exports(&StepResult{Step: plan.Step{Platform: "linux/amd64"}, Loaded: true})
	if len(ex) != 1 || ex[0].Attrs["name"] != "reg.example/app:v1" {
		t.Fatalf("exports %+v", ex)
	}
	w, err := ex[0].Output(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "image tarball"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatal("the engine was loaded during the export")
	}
	if err := load.run(t.Context(), api, p.Tags, []string{"linux/amd64"}); err != nil || got.String() != "image tarball" {
		t.Errorf("load: %v; the engine got %q", err, got.String())
	}
	fail = true
	if err := load.run(t.Context(), api, p.Tags, []string{"linux/amd64"}); err == nil || !strings.Contains(err.Error(), "loading into the current Docker engine") || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("a failed load: %v", err)
	}
	dir := load.dir
	load.close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the load's folder is left: %v", err)
	}
}

func TestRunStepOnANodeThatDidNotLoad(t *testing.T) {
	// buildx leaves Driver nil (and Err set) on a node whose driver could not be made.
	r := &Runner{dockerCli: testCLI(t, nil), registry: registryClient(t)}
	p := mustParse(t, Options{ContextPath: contextDir(t)})
	s := &StepResult{Step: plan.Step{Platform: "linux/arm64", Dockerfile: filepath.Join(p.ContextPath, "Dockerfile")}}
	node := builder.Node{Node: store.Node{Name: "arm0", Endpoint: "ssh://arm-box"}, Err: errors.New("no such context")}
	_, err := r.runStep(t.Context(), testRun(t, p, nil, nil), s, node, solveRef("", ""), discard{}, &liveness{})
	if s.Ref != "" {
		t.Errorf("runStep wrote the step's ref %q (its caller owns the step)", s.Ref)
	}
	if err == nil || !strings.Contains(err.Error(), "ssh://arm-box") || !strings.Contains(err.Error(), "no such context") {
		t.Errorf("err %v, want the node's endpoint and its load error", err)
	}
}

func TestPushRegistry(t *testing.T) {
	for _, tc := range []struct {
		exports []client.ExportEntry
		want    string
	}{
		{[]client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{"name": "127.0.0.1:5000/app,reg.example/app"}}}, "127.0.0.1:5000"},
		{[]client.ExportEntry{{Type: client.ExporterDocker}, {Type: client.ExporterImage, Attrs: map[string]string{"name": "team/app"}}}, "docker.io"},
		{nil, "(unknown)"},
	} {
		if got := pushRegistry(&client.SolveOpt{Exports: tc.exports}); got != tc.want {
			t.Errorf("pushRegistry(%+v) = %s, want %s", tc.exports, got, tc.want)
		}
	}
}

func TestResultDescriptor(t *testing.T) {
	want := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromString("index"), Size: 321}
	dt, _ := json.Marshal(want)
	got, err := resultDescriptor(&client.SolveResponse{ExporterResponse: map[string]string{
		exptypes.ExporterImageDescriptorKey: base64.StdEncoding.EncodeToString(dt),
		exptypes.ExporterImageDigestKey:     digest.FromString("other").String(),
	}})
	if err != nil || got.Digest != want.Digest || got.MediaType != want.MediaType || got.Size != 321 {
		t.Errorf("descriptor: %+v, %v", got, err)
	}
	got, err = resultDescriptor(&client.SolveResponse{ExporterResponse: map[string]string{exptypes.ExporterImageDigestKey: want.Digest.String()}})
	if err != nil || got.Digest != want.Digest {
		t.Errorf("digest only: %+v, %v", got, err)
	}
	if got, err := resultDescriptor(nil); err != nil || got.Digest != "" {
		t.Errorf("no response: %+v, %v", got, err)
	}
	if _, err := resultDescriptor(&client.SolveResponse{ExporterResponse: map[string]string{exptypes.ExporterImageDescriptorKey: "!!"}}); err == nil {
		t.Error("a descriptor that is not base64 was accepted")
	}
}

func TestProxyArgsLeaveCredentialsOut(t *testing.T) {
	args, warnings := proxyArgs(map[string]string{
		"HTTPS_PROXY": "http://user:pa55@proxy.example:3128",
		"HTTP_PROXY":  "http://proxy.example:3128",
		"NO_PROXY":    "localhost,127.0.0.1,.corp",
		"ALL_PROXY":   "socks5://tok3n@socks.example:1080",
		"all_proxy":   "http://us3r:pa,55@second.example:3128", // a raw comma in the password
		"FTP_PROXY":   "us3r:pa55@ftp-proxy.example:3128",      // issue 19: no scheme, as curl takes it
		"http_proxy":  "http://us3r:pa#5/5%zz@proxy.example:3128",
		"no_proxy":    "localhost,us3r:pa55@odd.example",
	})
	want := map[string]string{
		"HTTPS_PROXY": "http://proxy.example:3128",
		"HTTP_PROXY":  "http://proxy.example:3128",
		"NO_PROXY":    "localhost,127.0.0.1,.corp",
		"ALL_PROXY":   "socks5://socks.example:1080",
		"all_proxy":   "http://second.example:3128",
		"FTP_PROXY":   "ftp-proxy.example:3128",
		"http_proxy":  "http://proxy.example:3128",
		"no_proxy":    "localhost,odd.example",
	}
	if !maps.Equal(args, want) {
		t.Errorf("args %v, want %v", args, want)
	}
	if len(warnings) != 6 || !strings.Contains(warnings[0], "ALL_PROXY") || !strings.Contains(warnings[2], "HTTPS_PROXY proxy (http://proxy.example:3128)") {
		t.Errorf("warnings %q: one per proxy with credentials, sorted", warnings)
	}
	for _, w := range warnings {
		for _, secret := range []string{"pa55", "tok3n", "a:b@", "us3r", "pa#", "pa%", "pa/", "pa,"} {
			if strings.Contains(w, secret) {
				t.Errorf("warning %q shows %q", w, secret)
			}
		}
	}
	if args, warnings := proxyArgs(nil); len(args) != 0 || warnings != nil {
		t.Errorf("no proxies: %v %v", args, warnings)
	}
}

func TestSharedKeyIsStablePerDirectory(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if again := sharedKey(a); sharedKey(a) != again || sharedKey(a) == sharedKey(b) || !strings.HasPrefix(sharedKey(a), filepath.Base(a)+"-") {
		t.Errorf("sharedKey %s %s", sharedKey(a), sharedKey(b))
	}
	abs := sharedKey(a)
	t.Chdir(filepath.Dir(a))
	if rel := filepath.Base(a); sharedKey(rel) != abs {
		t.Errorf("relative %s and absolute paths differ: %s %s", rel, sharedKey(rel), abs)
	}
}
