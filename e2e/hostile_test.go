//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// The hostile-input suite (issue 19, docs/security.md): the plugin driven with crafted inputs on
// the farm, and the promise each one must keep asserted on what the engines, the registry and the
// files hold afterwards: nothing read or written outside, nothing secret printed, no tag moved,
// nothing of the user's removed.

// victimImage imports a one-file image of its own into an engine, tagged, and returns its ID: an
// image of the user's that no build made.
func (c *cli) victimImage(engine, name string) string {
	c.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte(name + " " + time.Now().String())
	if err := tw.WriteHeader(&tar.Header{Name: "victim", Mode: 0o644, Size: int64(len(body))}); err != nil {
		c.t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		c.t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		c.t.Fatal(err)
	}
	e := c.withHost(engine)
	id := strings.TrimSpace(e.withStdin(buf.Bytes()).ok(time.Minute, "import", "-", name).Stdout)
	c.t.Cleanup(func() { e.run(time.Minute, "rmi", "-f", name) })
	return strings.TrimPrefix(id, "sha256:")
}

// exists tells whether an engine still has an image or container (docker inspect of its ID).
func (c *cli) exists(engine, kind, id string) bool {
	c.t.Helper()
	return c.withHost(engine).run(time.Minute, kind, "inspect", "--format", "{{.Id}}", id).ExitCode == 0
}

// volumes lists the volumes on an engine.
func (c *cli) volumes(engine string) []string {
	c.t.Helper()
	return strings.Fields(c.withHost(engine).ok(time.Minute, "volume", "ls", "-q").Stdout)
}

// images lists the untagged images on an engine, intermediate ones included: what a build leaves
// when its clean-up misses (a base it pulled is tagged, and stays); with tagged, every image.
func (c *cli) images(engine string, tagged bool) []string {
	c.t.Helper()
	var out []string
	for _, l := range strings.Split(c.withHost(engine).ok(time.Minute, "images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}").Stdout, "\n") {
		if id, repo, ok := strings.Cut(strings.TrimSpace(l), " "); ok && (repo == "<none>" || tagged) {
			out = append(out, id)
		}
	}
	return out
}

// newItems are the entries of now that were not in before.
func newItems(now, before []string) []string {
	var out []string
	for _, v := range now {
		if !slices.Contains(before, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// newVolumes are the volumes on an engine that were not there before.
func (c *cli) newVolumes(engine string, before []string) []string {
	c.t.Helper()
	var out []string
	for _, v := range c.volumes(engine) {
		if !slices.Contains(before, v) {
			out = append(out, v)
		}
	}
	return out
}

// Case 2: the engine strategy's clean-up decides from the engines' structured answers. A RUN that
// prints " ---> ID" and " ---> Running in ID" of the user's own image and container (on an engine
// with the classic store and one with the containerd store) removes neither; the build's own
// intermediate images and containers are gone, and so are the anonymous volumes of its steps.
func TestHostileBuildOutputRemovesNothingOfTheUsers(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-b", "--node", "farm-a", "--emulate", "linux/arm64=farm-a", "--bootstrap")
	type victim struct{ engine, image, container string }
	victims := map[string]victim{}
	var lines []string
	for name, engine := range map[string]string{"a": farm.EngineA, "b": farm.EngineB} {
		tag := fmt.Sprintf("e2e-victim-%s:%d", name, time.Now().UnixNano())
		img := c.victimImage(engine, tag)
		e := c.withHost(engine)
		ctr := strings.TrimSpace(e.ok(time.Minute, "create", tag, "/victim").Stdout)
		t.Cleanup(func() { e.run(time.Minute, "rm", "-f", ctr) })
		victims[name] = victim{engine, img, ctr}
		lines = append(lines, "echo ' ---> "+img[:12]+"'", "echo ' ---> Running in "+ctr[:12]+"'", "echo ' ---> "+img+"'")
	}
	volumesBefore := map[string][]string{"a": c.volumes(farm.EngineA), "b": c.volumes(farm.EngineB)}
	// Every image there before, tagged or not, the base of both platforms among them: a classic
	// store keeps one platform per tag, so of the base pulled for both platforms on one engine, the
	// variant pulled first loses its tag to the other (as docker build --platform does); it is not
	// the build's.
	for _, engine := range []string{farm.EngineA, farm.EngineB} {
		for _, p := range []string{"linux/arm64", "linux/amd64"} {
			c.withHost(engine).ok(time.Minute, "pull", "-q", "--platform", p, farm.Busybox)
		}
	}
	imagesBefore := map[string][]string{"a": c.images(farm.EngineA, true), "b": c.images(farm.EngineB, true)}
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nVOLUME /data\nRUN " + strings.Join(lines, " && ") + "\nRUN echo done > /done\n"})
	repo := uniqueRepo("hostile-output")
	res := c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--strategy", "engine",
		"--platform", "linux/amd64,linux/arm64", "-t", farm.Registry+"/"+repo+":v1", "--push", "--progress", "plain", dir)
	if !strings.Contains(res.Combined(), " ---> Running in "+victims["a"].container[:12]) {
		t.Fatalf("the RUN's output did not reach the build output:\n%s", tail(res.Combined(), 2000))
	}
	for name, v := range victims {
		if !c.exists(v.engine, "image", v.image) {
			t.Errorf("engine %s: the user's image %s was removed by the build's clean-up", name, v.image[:12])
		}
		if !c.exists(v.engine, "container", v.container) {
			t.Errorf("engine %s: the user's container %s was removed by the build's clean-up", name, v.container[:12])
		}
		if left := c.newVolumes(v.engine, volumesBefore[name]); len(left) != 0 {
			t.Errorf("engine %s: the build's steps left volumes %v", name, left)
		}
		if left := newItems(c.images(v.engine, false), imagesBefore[name]); len(left) != 0 {
			t.Errorf("engine %s: the build left images of its own %v", name, left)
		}
	}
	if got := imagePlatforms(c.reg().index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", got)
	}
}

// Case 6: `docker multiarch test` of an image with a VOLUME leaves no volume on the nodes.
func TestHostileTestLeavesNoVolumes(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nVOLUME /data\nCMD [\"ls\", \"/data\"]\n"})
	ref := farm.Registry + "/" + uniqueRepo("hostile-volume") + ":v1"
	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-t", ref, "--push", "--progress", "quiet", dir)
	before := map[string][]string{farm.EngineA: c.volumes(farm.EngineA), farm.EngineB: c.volumes(farm.EngineB)}
	c.ok(5*time.Minute, "multiarch", "test", ref, "--builder", builder)
	c.ok(5*time.Minute, "multiarch", "test", ref, "--builder", builder, "--running", "1s", "--", "sleep", "30")
	for engine, vols := range before {
		if left := c.newVolumes(engine, vols); len(left) != 0 {
			t.Errorf("%s: test left volumes %v", engine, left)
		}
	}
	c.noTestContainers("after test")
}

// Case 1: a bake file reads through a symlink out of the project ("evil" -> the Docker config's
// buildx folder, then "..": the config itself). It is refused before anything runs, as an
// outside read, and the credentials never reach the output.
func TestHostileBakeSymlinkOutOfTheProject(t *testing.T) {
	c, builder := buildFarm(t)
	const credential = "ZTJlOnNlY3JldC10b2tlbi1mb3ItZTJl" // e2e:secret-token-for-e2e
	config := filepath.Join(c.config, "config.json")
	if err := os.WriteFile(config, []byte(`{"auths":{"registry.example":{"auth":"`+credential+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(c.config, "buildx"), 0o700); err != nil {
		t.Fatal(err)
	}
	repo := uniqueRepo("hostile-bake")
	dir := bakeContexts(t, map[string]string{
		"app/Dockerfile": "FROM " + farm.Busybox + "\nRUN --mount=type=secret,id=c cat /run/secrets/c\n",
		"docker-bake.hcl": fmt.Sprintf(`target "default" {
  context = "app"
  platforms = ["linux/amd64"]
  tags = ["%s/%s:v1"]
  secret = ["id=c,src=evil/../config.json"]
}
`, farm.Registry, repo),
	})
	if err := os.Symlink(filepath.Join(c.config, "buildx"), filepath.Join(dir, "evil")); err != nil {
		t.Fatal(err)
	}
	res := c.inDir(dir).run(5*time.Minute, "multiarch", "bake", "--builder", builder, "--push", "--progress", "plain")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "--allow=fs.read=../"+filepath.Base(c.config)+"/config.json") {
		t.Errorf("a secret read through a link out of the project: exit %d, %s", res.ExitCode, tail(res.Stderr, 800))
	}
	if strings.Contains(res.Combined(), credential) || strings.Contains(res.Combined(), "secret-token") {
		t.Errorf("the registry credential was printed:\n%s", tail(res.Combined(), 800))
	}
	if resp, err := http.Get("http://" + farm.Registry + "/v2/" + repo + "/tags/list"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("refused, yet %s answers %v (%v): something was pushed", repo, resp, err)
	} else {
		resp.Body.Close()
	}
}

// Case 1, farm files: a TLS key reached through a symlink out of the farm file's folder is refused
// before anything is probed or written, naming --allow; nothing is added.
func TestHostileFarmFileSymlinkOutOfItsFolder(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	if err := os.Symlink(farm.TLSDir, filepath.Join(dir, "certs")); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "multiarch.yaml")
	writeFile(t, file, "nodes:\n  - name: tls-b\n    host: tcp://127.0.0.1:2376\n    tls: {ca: certs/ca.pem, cert: certs/cert.pem, key: certs/key.pem}\n")
	res := c.run(time.Minute, "multiarch", "apply", "-f", file)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "--allow=fs.read="+filepath.Join(farm.TLSDir, "key.pem")) || !strings.Contains(res.Stderr, "tls.key") {
		t.Errorf("TLS files through a link out of the folder: exit %d, %s", res.ExitCode, res.Stderr)
	}
	if ls := c.ok(time.Minute, "multiarch", "node", "ls", "-q").Stdout; strings.Contains(ls, "tls-b") {
		t.Errorf("refused, yet the node was added: %s", ls)
	}
	c.ok(2*time.Minute, "multiarch", "apply", "-f", file, "--allow", "fs.read="+farm.TLSDir)
	if ls := c.ok(time.Minute, "multiarch", "node", "ls", "-q").Stdout; !strings.Contains(ls, "tls-b") {
		t.Errorf("granted, yet no node: %s", ls)
	}
}

// Case 4: the same tag twice, as a CI line makes it (-t app:$TAG -t app:latest with TAG=latest),
// is one tag, moved once: the build succeeds and the tag holds its index.
func TestHostileSameTagTwice(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("hostile-twice")
	name := farm.Registry + "/" + repo
	for _, tags := range [][]string{{name + ":1", name + ":1"}, {name, name + ":latest"}} {
		args := []string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", "--push", "--progress", "quiet", dir}
		for _, tg := range tags {
			args = append(args, "-t", tg)
		}
		c.ok(10*time.Minute, args...)
	}
	reg := c.reg()
	got := reg.tags(repo)
	slices.Sort(got)
	if !slices.Equal(got, []string{"1", "latest"}) {
		t.Errorf("tags %v, want 1 and latest", got)
	}
	for _, tg := range got {
		if p := imagePlatforms(reg.index(repo, tg)); !samePlatformSet(p, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("%s: platforms %v", tg, p)
		}
	}
}

// Case 5: --push --load --test loads last. A failing gate moves no tag and leaves the local
// engine's tag where it was; a passing one publishes, then loads.
func TestHostileLoadOnlyAfterTheGateAndThePublish(t *testing.T) {
	c, builder := buildFarm(t)
	repo := uniqueRepo("hostile-load")
	tag := farm.Registry + "/" + repo + ":v1"
	a := c.withHost(farm.EngineA) // the current engine: a classic store, which loads linux/amd64
	old := c.victimImage(farm.EngineA, tag)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	build := func(test string) result {
		return a.run(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64",
			"-t", tag, "--push", "--load", "--test", test, "--progress", "plain", dir)
	}
	if res := build("false"); res.ExitCode == 0 || !strings.Contains(res.Stderr, "no tag written") {
		t.Fatalf("a failing gate: exit %d\n%s", res.ExitCode, tail(res.Combined(), 1500))
	}
	if now := strings.TrimPrefix(strings.TrimSpace(a.ok(time.Minute, "image", "inspect", "--format", "{{.Id}}", tag).Stdout), "sha256:"); now != old {
		t.Errorf("after a failing gate the local tag points at %s, not the user's %s: the build was loaded", now, old)
	}
	if resp, err := http.Get("http://" + farm.Registry + "/v2/" + repo + "/tags/list"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("a failing gate, yet %s has tags (%v, %v)", repo, resp, err)
	} else {
		resp.Body.Close()
	}
	res := build("test -f /arch")
	if res.ExitCode != 0 {
		t.Fatalf("a passing gate: exit %d\n%s", res.ExitCode, tail(res.Combined(), 1500))
	}
	if i, j := strings.Index(res.Combined(), "[publish]"), strings.Index(res.Combined(), "[load]"); i < 0 || j < i {
		t.Errorf("the load did not come after the publish (publish at %d, load at %d)", i, j)
	}
	if got := strings.TrimSpace(a.ok(time.Minute, "run", "--rm", "--network", "none", tag, "cat", "/arch").Stdout); got != "x86_64" {
		t.Errorf("the loaded image says %q", got)
	}
}

// Case 7: credentials typed raw into an endpoint (a "/" in the password) are refused, and the
// error never shows them.
func TestHostileCredentialsInOddShapes(t *testing.T) {
	c := newCLI(t)
	for _, host := range []string{"ssh://ci:pa/ss@box", "tcp://u:pa#ss@127.0.0.1:2376", "ssh://ci:pa?ss@box:22"} {
		res := c.run(time.Minute, "multiarch", "node", "add", "odd", "--host", host)
		if res.ExitCode == 0 || strings.Contains(res.Combined(), "pa/ss") || strings.Contains(res.Combined(), "ss@") || !strings.Contains(res.Stderr, "credentials") {
			t.Errorf("node add --host %s: exit %d, %s", strings.ReplaceAll(host, "pa", "P"), res.ExitCode, strings.ReplaceAll(res.Combined(), "pa", "P"))
		}
	}
	for _, addr := range []string{"tcp://u:pa/ss@127.0.0.1:1234", "tcp://pa55@127.0.0.1:1234"} {
		res := c.run(time.Minute, "multiarch", "node", "add", "odd", "--buildkit", addr)
		if res.ExitCode == 0 || strings.Contains(res.Combined(), "pa/ss") || strings.Contains(res.Combined(), "pa55") {
			t.Errorf("node add --buildkit: exit %d, %s", res.ExitCode, strings.ReplaceAll(res.Combined(), "pa", "P"))
		}
	}
}

// Case 9: two metadata files after one --from-metadata say what to write, before anything runs.
func TestHostileMergeFromMetadataTwoFilesOneFlag(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	for _, f := range []string{"a.json", "b.json"} {
		writeFile(t, filepath.Join(dir, f), `{"multiarch.pushed": []}`)
	}
	res := c.inDir(dir).run(time.Minute, "multiarch", "merge", "-t", farm.Registry+"/"+uniqueRepo("hostile-merge")+":v1", "--from-metadata", "a.json", "b.json")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "--from-metadata b.json") || strings.Contains(res.Stderr, "invalid reference format") {
		t.Errorf("exit %d, %s", res.ExitCode, res.Stderr)
	}
}

// A build reaches on this machine only what it was given: a RUN that mounts a secret or an SSH
// agent the build was not given fails, and nothing of this machine's is read for it.
func TestHostileDockerfileReachesOnlyWhatItWasGiven(t *testing.T) {
	c, builder := buildFarm(t)
	token := filepath.Join(t.TempDir(), "token")
	writeFile(t, token, "given-secret")
	for name, run := range map[string]string{
		"a secret not given":     "RUN --mount=type=secret,id=other,required=true cat /run/secrets/other",
		"an ssh agent not given": "RUN --mount=type=ssh,required=true ls $SSH_AUTH_SOCK",
	} {
		dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\n" + run + "\n"})
		res := c.run(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64",
			"--secret", "id=token,src="+token, "--progress", "plain", dir)
		if res.ExitCode == 0 || strings.Contains(res.Combined(), "given-secret") {
			t.Errorf("%s: exit %d\n%s", name, res.ExitCode, tail(res.Combined(), 800))
		}
	}
}

// hostileRegistry is a registry on 127.0.0.1 whose every manifest answer is what answer makes of
// it: a real HTTP peer the plugin talks to through the docker CLI, not a part of the plugin.
func hostileRegistry(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Registry answers are bounded and checked: a manifest larger than 4 MiB, one that is not what
// its digest says, and one of a media type that is no image are each refused with an error naming
// the reference, within seconds, by inspect, merge and the base check of build.
func TestHostileRegistryAnswers(t *testing.T) {
	c, builder := buildFarm(t)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`)
	huge := append(bytes.Repeat([]byte(" "), 5<<20), manifest...)
	serve := func(contentType string, digestOf, body []byte) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(digestOf).String())
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
		}
	}
	for name, tc := range map[string]struct {
		answer func(w http.ResponseWriter, r *http.Request)
		want   string
	}{
		"larger than 4 MiB":   {serve("application/vnd.oci.image.manifest.v1+json", huge, huge), "manifest"},
		"not its digest":      {serve("application/vnd.oci.image.manifest.v1+json", manifest, bytes.Replace(manifest, []byte(`"size":2`), []byte(`"size":3`), 1)), "digest"},
		"not an image at all": {serve("text/html", []byte("<html>login</html>"), []byte("<html>login</html>")), ""},
	} {
		t.Run(name, func(t *testing.T) {
			ref := hostileRegistry(t, tc.answer) + "/app:v1"
			for what, args := range map[string][]string{
				"inspect": {"multiarch", "inspect", ref, "--timeout", "20s"},
				"merge":   {"multiarch", "merge", "-t", farm.Registry + "/" + uniqueRepo("hostile-merge") + ":v1", ref, "--timeout", "20s"},
				"build":   {"multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--dry-run", writeFiles(t, map[string]string{"Dockerfile": "FROM " + ref + "\n"})},
			} {
				start := time.Now()
				res := c.run(2*time.Minute, args...)
				if took := time.Since(start); took > 30*time.Second {
					t.Errorf("%s: took %s", what, took)
				}
				if what == "build" { // the dry run lists the base as unreadable; a build would stop
					if !strings.Contains(res.Combined(), ref) {
						t.Errorf("%s: exit %d, the base is not named:\n%s", what, res.ExitCode, tail(res.Combined(), 600))
					}
					continue
				}
				if res.ExitCode == 0 || !strings.Contains(res.Stderr, "app:v1") || !strings.Contains(res.Stderr, tc.want) {
					t.Errorf("%s: exit %d, %s", what, res.ExitCode, tail(res.Stderr, 600))
				}
			}
		})
	}
}
