//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Regression tests of the bugs listed in issue 9, on the real farm.

// stdinTemps lists the temp dirs a build reading stdin may make.
func stdinTemps(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range tempEntries(t) {
		if strings.HasPrefix(e, "multiarch-stdin-") {
			out = append(out, e)
		}
	}
	return out
}

// greetingContext is a COPY-only build context (no RUN: engine B's classic builder and embedded
// BuildKit have no bridge network to run one).
func greetingContext(t *testing.T, greeting string) string {
	return writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nCOPY greeting /greeting\n", "greeting": greeting + "\n"})
}

// (1) The engine strategy without --push builds, and uploads nothing; with --push it does.
func TestRegressEngineStrategyPushesOnlyWithPush(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-b")
	dir := greetingContext(t, "engine, local only")
	repo := uniqueRepo("engine-nopush")
	ref := farm.Registry + "/" + repo + ":v1"

	res := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--strategy", "engine", "--platform", "linux/amd64",
		"-t", ref, "--progress", "plain", dir)
	if !regexpLine(res.Stdout, "linux/amd64", "farm-b") {
		t.Errorf("the build did not report building linux/amd64 on farm-b:\n%s", res.Combined())
	}
	if !strings.Contains(res.Stderr, "no --push, --load or --output") {
		t.Errorf("no warning that the result stays on the nodes: %q", tail(res.Stderr, 400))
	}
	if slices.Contains(c.reg().catalog(), repo) || tagDigest(t, repo, "v1") != "" {
		t.Fatalf("a build without --push uploaded %s (catalog lists %s)", ref, repo)
	}
	if strings.Contains(res.Combined(), "pushed to") {
		t.Errorf("a build without --push says it pushed:\n%s", res.Combined())
	}

	// The same build with --push does reach the registry: the check above can tell.
	c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--strategy", "engine", "--platform", "linux/amd64",
		"-t", ref, "--push", "--progress", "quiet", dir)
	if got := imagePlatforms(c.reg().index(repo, "v1")); !slices.Equal(got, []string{"linux/amd64"}) {
		t.Errorf("with --push the tag holds %v", got)
	}
}

// hostileEntry is one member of a hand-made context archive.
type hostileEntry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func tarOf(t *testing.T, entries []hostileEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), ModTime: time.Now()}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar %s: %v", e.name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// (2) `build -` with a hostile archive: nothing is written outside the build's own dirs (dry run
// or not), and file modes, empty dirs, symlinks and hard links reach the image.
func TestRegressHostileContextTar(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-a")
	u := fmt.Sprintf("mae2e%d", time.Now().UnixNano())
	cwd, _ := os.Getwd()
	// Where an extraction that follows names or links would have written.
	escapes := []string{
		filepath.Join(os.TempDir(), "escape-"+u),
		"/escape-" + u,
		filepath.Join(filepath.Dir(cwd), "escape-"+u),
		filepath.Join(os.TempDir(), u+"-link"),
		"/etc/through-abs-" + u,
		"/etc/through-tmplink-" + u,
		filepath.Join(os.TempDir(), "through-chain-"+u),
	}
	escaped := func(when string) {
		t.Helper()
		for _, p := range escapes {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s: %s exists on this machine", when, p)
				os.RemoveAll(p)
			}
		}
	}
	t.Cleanup(func() {
		for _, p := range escapes {
			os.RemoveAll(p)
		}
	})

	dockerfile := "FROM " + farm.Busybox + "\nCOPY . /ctx\nRUN test -x /ctx/script && test -d /ctx/emptydir && cat /ctx/file > /out\n"
	reg := func(name, body string, mode int64) hostileEntry {
		return hostileEntry{name: name, body: body, typ: tar.TypeReg, mode: mode}
	}
	safe := []hostileEntry{
		reg("Dockerfile", dockerfile, 0o644),
		reg("file", "hostile-ok\n", 0o640),
		reg("script", "#!/bin/sh\necho script-ran\n", 0o755),
		{name: "emptydir/", typ: tar.TypeDir, mode: 0o750},
		{name: "abs-link", link: "/etc", typ: tar.TypeSymlink, mode: 0o777},
		{name: "a", link: ".", typ: tar.TypeSymlink, mode: 0o777},
		{name: "b", link: "a/a/a", typ: tar.TypeSymlink, mode: 0o777},
		{name: "hard", link: "file", typ: tar.TypeLink, mode: 0o640},
	}
	// The entries of a hostile archive: names outside the context, and an absolute name.
	hostile := append(slices.Clone(safe),
		reg("../escape-"+u, "escaped\n", 0o644),
		hostileEntry{name: filepath.Join(os.TempDir(), u+"-link"), link: "/etc", typ: tar.TypeSymlink, mode: 0o777},
	)
	// And files written through symlinks that point out of the context (or loop back into it),
	// before the name outside it (a reader that stops at the first bad name must see them).
	through := append(slices.Clone(hostile[:len(hostile)-2]),
		hostile[len(hostile)-1], // the symlink with an absolute name
		reg("abs-link/through-abs-"+u, "through an absolute symlink\n", 0o644),
		reg(strings.TrimPrefix(filepath.Join(os.TempDir(), u+"-link"), "/")+"/through-tmplink-"+u, "through\n", 0o644),
		reg("b/through-chain-"+u, "through a chain\n", 0o644),
		hostile[len(hostile)-2], // ../escape
	)
	temps := stdinTemps(t)
	build := func(entries []hostileEntry, args ...string) result {
		return c.withStdin(tarOf(t, entries)).run(10*time.Minute, slices.Concat([]string{"multiarch", "build", "--builder", builder,
			"--platform", "linux/amd64"}, args, []string{"-"})...)
	}

	// --dry-run reads the archives and writes nothing.
	for what, entries := range map[string][]hostileEntry{"hostile": hostile, "through-links": through} {
		res := build(entries, "--dry-run")
		if res.ExitCode != 0 || !regexpLine(res.Stdout, "linux/amd64", "farm-a", "Dockerfile") {
			t.Errorf("dry run of the %s archive: exit %d\n%s", what, res.ExitCode, res.Combined())
		}
		escaped("after --dry-run of the " + what + " archive")
		if got := stdinTemps(t); !slices.Equal(got, temps) {
			t.Errorf("--dry-run left temp dirs: before %v, after %v", temps, got)
		}
	}

	// The real build: BuildKit unpacks the archive in its own sandbox; the image holds the
	// context with its modes, empty dir and links.
	repo := uniqueRepo("hostile")
	ref := farm.Registry + "/" + repo + ":v1"
	res := build(hostile, "-t", ref, "--push", "--progress", "plain")
	escaped("after the build of the hostile archive")
	if got := stdinTemps(t); !slices.Equal(got, temps) {
		t.Errorf("the build left temp dirs: before %v, after %v", temps, got)
	}
	if res.ExitCode != 0 {
		t.Errorf("build of the hostile archive: exit %d\n%s", res.ExitCode, tail(res.Combined(), 1500))
	} else {
		checkContextImage(t, c, ref)
	}

	// Files through outward symlinks: BuildKit refuses them, or keeps them inside its sandbox;
	// either way nothing lands on this machine, and a refused build pushes nothing.
	res = build(through, "-t", farm.Registry+"/"+repo+":through", "--push", "--progress", "plain")
	escaped("after the build of the archive writing through links")
	if got := stdinTemps(t); !slices.Equal(got, temps) {
		t.Errorf("the build left temp dirs: before %v, after %v", temps, got)
	}
	if res.ExitCode == 0 {
		t.Logf("BuildKit accepted the archive writing through links; /ctx: %s",
			c.runVariant(farm.Registry+"/"+repo+":through", "linux/amd64", "sh", "-c", "ls -la /ctx /ctx/abs-link/ | head -40"))
		return
	}
	t.Logf("BuildKit refused the archive writing through links (exit %d): %s", res.ExitCode, tail(res.Stderr, 300))
	if !strings.Contains(res.Stderr, "linux/amd64 on node farm-a: failed to solve") || tagDigest(t, repo, "through") != "" {
		t.Errorf("the refused build: exit %d, tag %q\n%s", res.ExitCode, tagDigest(t, repo, "through"), tail(res.Stderr, 800))
	}
}

// checkContextImage runs the image of TestRegressHostileContextTar and checks the context it holds.
func checkContextImage(t *testing.T, c *cli, ref string) {
	t.Helper()
	out := c.runVariant(ref, "linux/amd64", "sh", "-c", `cd /ctx && cat /out && stat -c '%n %a %F' script file emptydir &&
ls -A emptydir | wc -l && for l in abs-link a b; do readlink $l; done && stat -c '%i' file hard && ./script && ls /ctx | tr '\n' ' '`)
	lines := strings.Split(out, "\n")
	want := []string{
		"hostile-ok",
		"script 755 regular file",
		"file 640 regular file",
		"emptydir 750 directory",
		"0",
		"/etc", ".", "a/a/a",
	}
	if len(lines) < len(want)+4 {
		t.Fatalf("the image's /ctx:\n%s", out)
	}
	for i, w := range want {
		if strings.TrimSpace(lines[i]) != w {
			t.Errorf("/ctx line %d: %q, want %q\n%s", i, lines[i], w, out)
		}
	}
	if ino1, ino2 := lines[len(want)], lines[len(want)+1]; ino1 != ino2 {
		t.Errorf("the hard link lost: file is inode %s, hard is inode %s", ino1, ino2)
	}
	if lines[len(want)+2] != "script-ran" {
		t.Errorf("the script did not run: %q", lines[len(want)+2])
	}
	listed := strings.Fields(lines[len(want)+3])
	t.Logf("the image's /ctx holds %v", listed)
	for _, name := range listed {
		if strings.Contains(name, "escape") || strings.Contains(name, "through") {
			t.Logf("note: BuildKit kept %s inside the context", name)
		}
	}
}

// (4) No builder, one platform, --provenance=false: pushed, and verified.
func TestRegressNoBuilderSinglePlatformWithoutProvenance(t *testing.T) {
	c := newCLI(t).withHost(farm.EngineB)
	repo := uniqueRepo("nobuilder-one")
	ref := farm.Registry + "/" + repo + ":v1"
	res := c.run(10*time.Minute, "multiarch", "build", "--platform", "linux/arm64", "--provenance=false",
		"-t", ref, "--push", "--progress", "plain", greetingContext(t, "one platform"))
	if res.ExitCode != 0 {
		t.Fatalf("exit %d\n%s", res.ExitCode, tail(res.Combined(), 1500))
	}
	idx := c.reg().index(repo, "v1")
	if got := imagePlatforms(idx); !slices.Equal(got, []string{"linux/arm64"}) || len(idx.Manifests) != 1 {
		t.Errorf("the tag holds %v (%d manifests), want linux/arm64 alone", got, len(idx.Manifests))
	}
	now := tagDigest(t, repo, "v1")
	if !strings.Contains(res.Stdout, "verified") || publishedIndex(res.Stdout) != now {
		t.Errorf("the output does not say %s was pushed and verified:\n%s", now, res.Stdout)
	}
	if got := c.runVariant(ref, "linux/arm64", "cat", "/greeting"); got != "one platform" {
		t.Errorf("arm64 variant: %q", got)
	}
}

// (5) --strategy engine with --push and no multiarch builder: the current engine builds (it used
// to panic).
func TestRegressEngineStrategyWithoutBuilder(t *testing.T) {
	c := newCLI(t).withHost(farm.EngineB)
	repo := uniqueRepo("engine-nobuilder")
	ref := farm.Registry + "/" + repo + ":v1"
	res := c.run(10*time.Minute, "multiarch", "build", "--strategy", "engine", "--platform", "linux/amd64",
		"-t", ref, "--push", "--progress", "plain", greetingContext(t, "engine without builder"))
	if res.ExitCode != 0 || strings.Contains(res.Combined(), "panic") {
		t.Fatalf("exit %d\n%s", res.ExitCode, tail(res.Combined(), 1500))
	}
	if got := imagePlatforms(c.reg().index(repo, "v1")); !slices.Equal(got, []string{"linux/amd64"}) {
		t.Errorf("the tag holds %v", got)
	}
	if got := c.runVariant(ref, "linux/amd64", "cat", "/greeting"); got != "engine without builder" {
		t.Errorf("amd64 variant: %q", got)
	}
}

// buildxFiles reads the buildx store files a create writes (nil for an absent one).
func (c *cli) buildxFiles(rels ...string) map[string][]byte {
	c.t.Helper()
	out := map[string][]byte{}
	for _, rel := range rels {
		b, err := os.ReadFile(filepath.Join(c.config, "buildx", rel))
		if err != nil && !os.IsNotExist(err) {
			c.t.Fatal(err)
		}
		out[rel] = b
	}
	return out
}

// dirNames lists a directory's entries ("" when it does not exist).
func dirNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}

// (6) A create whose --bootstrap/--use fails keeps nothing: a new builder is gone, an existing one
// is byte for byte as it was, current and activity files included.
func TestRegressCreateFailureKeepsNothing(t *testing.T) {
	c := newCLI(t).withBuildx()
	c.farmNodes()
	badImage := []string{"--driver-opt", "image=" + farm.Registry + "/nonexistent/buildkit:none", "--driver-opt", "network=host"}
	containersOf := func(engine, builder string) []string {
		var out []string
		for _, n := range c.buildkitContainers(engine) {
			if strings.HasPrefix(n, "buildx_buildkit_"+builder) {
				out = append(out, n)
			}
		}
		return out
	}

	// A new builder whose node cannot boot.
	name := fmt.Sprintf("f%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(name)
	res := c.run(3*time.Minute, slices.Concat([]string{"multiarch", "create", name, "--node", "farm-a", "--bootstrap", "--timeout", "30s"}, badImage)...)
	if res.ExitCode == 0 {
		t.Fatalf("create with an image that does not exist succeeded:\n%s", res.Combined())
	}
	t.Logf("failed create: %s", tail(res.Stderr, 400))
	if _, ok := c.builders()[name]; ok {
		t.Errorf("the failed builder %s is listed", name)
	}
	for _, rel := range []string{filepath.Join("instances", name), filepath.Join("activity", name)} {
		if _, err := os.Stat(filepath.Join(c.config, "buildx", rel)); !os.IsNotExist(err) {
			t.Errorf("the failed create left buildx/%s (%v)", rel, err)
		}
	}
	if got := containersOf(farm.EngineA, name); len(got) != 0 {
		t.Errorf("the failed create left containers on engine A: %v", got)
	}

	// An existing builder (farm-a booted, not current) that a failing update must leave alone.
	kept := fmt.Sprintf("k%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(kept)
	c.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", kept, "--node", "farm-a", "--bootstrap"}, farmDriverOpts())...)
	rels := []string{filepath.Join("instances", kept), "current", filepath.Join("activity", kept)}
	before := c.buildxFiles(rels...)
	defaultsBefore := dirNames(t, filepath.Join(c.config, "buildx", "defaults"))
	if before[rels[0]] == nil || before[rels[2]] == nil {
		t.Fatalf("the builder's store files are missing: instance %d bytes, activity %d bytes", len(before[rels[0]]), len(before[rels[2]]))
	}
	time.Sleep(1100 * time.Millisecond) // a rewritten activity timestamp would differ
	res = c.run(3*time.Minute, slices.Concat([]string{"multiarch", "create", kept, "--node", "farm-a", "--node", "farm-b",
		"--use", "--bootstrap", "--timeout", "30s"}, badImage)...)
	if res.ExitCode == 0 {
		t.Fatalf("the update whose new node cannot boot succeeded:\n%s", res.Combined())
	}
	t.Logf("failed update: %s", tail(res.Stderr, 400))
	after := c.buildxFiles(rels...)
	for _, rel := range rels {
		if !bytes.Equal(before[rel], after[rel]) || (before[rel] == nil) != (after[rel] == nil) {
			t.Errorf("buildx/%s changed:\n%q\n->\n%q", rel, before[rel], after[rel])
		}
	}
	if got := dirNames(t, filepath.Join(c.config, "buildx", "defaults")); got != defaultsBefore {
		t.Errorf("buildx/defaults changed: %q -> %q", defaultsBefore, got)
	}
	b, ok := c.builders()[kept]
	if !ok || b.Current || len(b.Nodes) != 1 || b.Nodes[0].Name != "farm-a" || b.Nodes[0].Status != "running" {
		t.Errorf("after the failed update: %+v", b)
	}
	if got := containersOf(farm.EngineB, kept); len(got) != 0 {
		t.Errorf("the failed update left containers on engine B: %v", got)
	}
	if got := containersOf(farm.EngineA, kept); !slices.Equal(got, []string{"buildx_buildkit_" + kept + "-farm-a"}) {
		t.Errorf("the existing node's container on engine A: %v", got)
	}
}

// (7) `-f -` and `--file-for P=-` read the Dockerfile from stdin; two readers of stdin, or an
// empty stdin, are refused.
func TestRegressDockerfileFromStdin(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-a", "--emulate", "linux/arm64=farm-a")
	from := "FROM " + farm.Busybox + "\n"
	dir := writeFiles(t, map[string]string{
		"Dockerfile": from + "COPY by-dir /which\n",
		"by-dir":     "dir\n",
		"by-stdin":   "stdin\n",
	})
	stdinDockerfile := []byte(from + "COPY by-stdin /which\n")
	repo := uniqueRepo("stdin-dockerfile")
	ref := func(tag string) string { return farm.Registry + "/" + repo + ":" + tag }
	temps := stdinTemps(t)

	c.withStdin(stdinDockerfile).ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64",
		"-f", "-", "-t", ref("f"), "--push", "--progress", "quiet", dir)
	if got := c.runVariant(ref("f"), "linux/amd64", "cat", "/which"); got != "stdin" {
		t.Errorf("-f -: built from %q's Dockerfile", got)
	}

	c.withStdin(stdinDockerfile).ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64",
		"--file-for", "linux/arm64=-", "-t", ref("filefor"), "--push", "--progress", "quiet", dir)
	for p, want := range map[string]string{"linux/arm64": "stdin", "linux/amd64": "dir"} {
		if got := c.runVariant(ref("filefor"), p, "cat", "/which"); got != want {
			t.Errorf("--file-for linux/arm64=-: %s built from %q's Dockerfile, want %q's", p, got, want)
		}
	}

	res := c.withStdin(stdinDockerfile).run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64",
		"-f", "-", "-t", ref("both"), "--push", "-")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "-f -") || !strings.Contains(res.Stderr, "context (-)") {
		t.Errorf("build - -f -: exit %d, %q; want an error naming both readers of stdin", res.ExitCode, res.Stderr)
	}
	res = c.withStdin([]byte{}).run(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64",
		"-f", "-", "-t", ref("empty"), "--push", dir)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "standard input") {
		t.Errorf("-f - with an empty stdin: exit %d, %q; want an error naming stdin", res.ExitCode, res.Stderr)
	}
	if strings.Contains(res.Stderr, `"-"`) {
		t.Errorf("-f - looked for a file named -: %q", res.Stderr)
	}
	for _, tag := range []string{"both", "empty"} {
		if d := tagDigest(t, repo, tag); d != "" {
			t.Errorf("a refused build pushed %s", ref(tag))
		}
	}
	if got := stdinTemps(t); !slices.Equal(got, temps) {
		t.Errorf("temp dirs before %v, after %v", temps, got)
	}
}

// --metadata-file is written whole (temp file and rename), and a failed build leaves none behind.
func TestRegressMetadataFileNotStale(t *testing.T) {
	c, builder := buildFarmWith(t, "--node", "farm-a")
	repo := uniqueRepo("metadata")
	ref := farm.Registry + "/" + repo + ":v1"
	mdDir := t.TempDir()
	md := filepath.Join(mdDir, "md.json")

	c.ok(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "-t", ref, "--push",
		"--progress", "quiet", "--metadata-file", md, greetingContext(t, "metadata"))
	var meta map[string]any
	readJSONFile(t, md, &meta)
	if d, _ := meta["containerimage.digest"].(string); d == "" || d != tagDigest(t, repo, "v1") {
		t.Errorf("metadata digest %v, tag at %s", meta["containerimage.digest"], tagDigest(t, repo, "v1"))
	}
	if names := dirNames(t, mdDir); names != "md.json" {
		t.Errorf("the metadata dir holds %q, want md.json alone", names)
	}
	st, err := os.Stat(md)
	if err != nil {
		t.Fatal(err)
	}
	before := tagDigest(t, repo, "v1")

	res := c.run(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "-t", ref, "--push",
		"--progress", "plain", "--metadata-file", md,
		writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN echo failing; exit 1\n"}))
	if res.ExitCode == 0 {
		t.Fatalf("the failing build succeeded:\n%s", tail(res.Combined(), 800))
	}
	if _, err := os.Stat(md); !os.IsNotExist(err) {
		b, _ := os.ReadFile(md)
		t.Errorf("a failed build left --metadata-file (%v, was %d bytes):\n%s", err, st.Size(), b)
	}
	if names := dirNames(t, mdDir); names != "" {
		t.Errorf("the metadata dir holds %q after a failed build", names)
	}
	if after := tagDigest(t, repo, "v1"); after != before {
		t.Errorf("the failed build moved the tag from %s to %s", before, after)
	}
}
