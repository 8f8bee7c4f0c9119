//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// applyChange is one entry of `apply --format json`.
type applyChange struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
}

// farmFile is a farm file with the two farm engines as nodes and one builder across them;
// bPlatforms, when given, are farm-b's platforms.
func farmFile(builder string, bPlatforms ...string) string {
	b := "  - name: farm-b\n    host: " + farm.EngineB + "\n    description: the containerd-store engine\n"
	if len(bPlatforms) > 0 {
		b += "    platforms: [" + strings.Join(bPlatforms, ", ") + "]\n"
	}
	return "# the e2e farm\nnodes:\n  - name: farm-a\n    host: " + farm.EngineA + "\n" + b +
		"builders:\n  - name: " + builder + "\n    nodes: [farm-a, farm-b]\n" +
		"    driver-opts: [image=" + farm.BuildKitImage + ", network=host]\n"
}

// writeFarmFile writes a farm file into dir and returns its path.
func writeFarmFile(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "multiarch.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// apply runs `apply -f path --format json` with more arguments and returns its entries by "kind name".
func (c *cli) apply(path string, args ...string) (map[string]applyChange, result) {
	c.t.Helper()
	res := c.ok(3*time.Minute, append([]string{"multiarch", "apply", "-f", path, "--format", "json"}, args...)...)
	list, err := jsonLines[applyChange](res.Stdout)
	if err != nil {
		c.t.Fatalf("apply --format json: %v\n%s", err, res.Combined())
	}
	out := map[string]applyChange{}
	for _, e := range list {
		out[e.Kind+" "+e.Name] = e
	}
	return out, res
}

// storeHashes hashes every file of the Docker context store and of buildx's store (with its
// mode), by path under DOCKER_CONFIG.
func (c *cli) storeHashes() map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"contexts", "buildx"} {
		root := filepath.Join(c.config, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return nil
			}
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			rel, _ := filepath.Rel(c.config, p)
			out[rel] = st.Mode().String() + " " + hex.EncodeToString(sum[:])
			return nil
		})
		if err != nil {
			c.t.Fatal(err)
		}
	}
	return out
}

// changedPaths lists the paths whose hash differs, or that appeared or went.
func changedPaths(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// contextMetaPath is where the Docker CLI stores a context's metadata, under DOCKER_CONFIG.
func contextMetaPath(name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join("contexts", "meta", hex.EncodeToString(sum[:]), "meta.json")
}

func wantActions(t *testing.T, what string, got map[string]applyChange, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entries %+v, want %v", what, len(got), got, want)
	}
	for k, action := range want {
		if got[k].Action != action {
			t.Errorf("%s: %s is %q (%q), want %s", what, k, got[k].Action, got[k].Changes, action)
		}
	}
}

func TestApplyFarmFile(t *testing.T) {
	const builder = "farmfile"
	c := newCLI(t).withBuildx()
	c.removeBuilderAtCleanup(builder)
	dir := t.TempDir()
	path := writeFarmFile(t, dir, farmFile(builder))
	created := map[string]string{"node farm-a": "create", "node farm-b": "create", "builder " + builder: "create"}

	// --dry-run prints the changes and writes nothing.
	empty := c.storeHashes()
	got, res := c.apply(path, "--dry-run")
	wantActions(t, "dry run", got, created)
	if !strings.Contains(res.Stderr, "dry run of "+path+": 3 of 3 entries would change; nothing written") {
		t.Errorf("dry run said %q", res.Stderr)
	}
	if changed := changedPaths(empty, c.storeHashes()); len(changed) != 0 {
		t.Errorf("--dry-run wrote %v", changed)
	}
	if ch := got["node farm-b"].Changes; !slices.Equal(ch, []string{"endpoint " + farm.EngineB, "platforms linux/amd64 (detected)"}) {
		t.Errorf("farm-b would be created with %q", ch)
	}

	// apply creates both nodes and the builder; node ls, ls and docker buildx ls see them.
	got, _ = c.apply(path)
	wantActions(t, "apply", got, created)
	nodes := c.nodes()
	for name, version := range map[string]string{"farm-a": farm.EngineAVersion, "farm-b": farm.EngineBVersion} {
		if n := nodes[name]; !slices.Equal(n.Platforms, []string{"linux/amd64"}) || n.PlatformSource != "engine" || n.Engine.Version != version {
			t.Errorf("node %s = %+v", name, n)
		}
	}
	b, ok := c.builders()[builder]
	if !ok || len(b.Nodes) != 2 || b.Nodes[0].Name != "farm-a" || b.Nodes[1].Name != "farm-b" || b.Current {
		t.Fatalf("ls: %+v", b)
	}
	if !strings.Contains(c.ok(time.Minute, "buildx", "ls").Stdout, builder) {
		t.Errorf("docker buildx ls does not list %s", builder)
	}
	if pinned := c.buildxPinned(builder); !mapsEqual(pinned, map[string][]string{"farm-a": {"linux/amd64"}, "farm-b": {"linux/amd64"}}) {
		t.Errorf("docker buildx inspect: pinned %v", pinned)
	}

	// Applying the same file again changes nothing: every store file stays byte for byte.
	before := c.storeHashes()
	unchanged := map[string]string{"node farm-a": "unchanged", "node farm-b": "unchanged", "builder " + builder: "unchanged"}
	got, res = c.apply(path)
	wantActions(t, "second apply", got, unchanged)
	if changed := changedPaths(before, c.storeHashes()); len(changed) != 0 {
		t.Errorf("the second apply changed %v", changed)
	}
	if !strings.Contains(res.Stderr, "every node and builder is up to date; nothing written") {
		t.Errorf("second apply said %q", res.Stderr)
	}

	t.Run("one node's platforms change", func(t *testing.T) { applyPlatformChange(t, c, dir, builder) })
	t.Run("a bad file writes nothing", func(t *testing.T) { applyBadFiles(t, c, dir, builder) })
}

// applyPlatformChange adds linux/arm64 to farm-b in the file: exactly that node and its pinned
// platforms change.
func applyPlatformChange(t *testing.T, c *cli, dir, builder string) {
	path := writeFarmFile(t, dir, farmFile(builder, "linux/amd64", "linux/arm64"))
	before := c.storeHashes()
	want := map[string]string{"node farm-a": "unchanged", "node farm-b": "update", "builder " + builder: "update"}
	got, _ := c.apply(path, "--dry-run")
	wantActions(t, "dry run", got, want)
	if changed := changedPaths(before, c.storeHashes()); len(changed) != 0 {
		t.Errorf("--dry-run wrote %v", changed)
	}
	if ch := got["node farm-b"].Changes; !slices.Equal(ch, []string{"platforms linux/amd64 (detected) -> linux/amd64,linux/arm64"}) {
		t.Errorf("farm-b changes %q", ch)
	}
	if ch := got["builder "+builder].Changes; !slices.Equal(ch, []string{"node farm-b platforms linux/amd64 -> linux/amd64,linux/arm64"}) {
		t.Errorf("builder changes %q", ch)
	}

	got, _ = c.apply(path)
	wantActions(t, "apply", got, want)
	// buildx records the builder's last activity in seconds: activity/NAME may or may not change.
	activity := filepath.Join("buildx", "activity", builder)
	wantChanged := []string{filepath.Join("buildx", "instances", builder), contextMetaPath("farm-b")}
	slices.Sort(wantChanged)
	changed := slices.DeleteFunc(changedPaths(before, c.storeHashes()), func(p string) bool { return p == activity })
	if !slices.Equal(changed, wantChanged) {
		t.Errorf("apply changed %v (and maybe %s), want exactly %v", changed, activity, wantChanged)
	}
	nodes := c.nodes()
	if n := nodes["farm-b"]; !slices.Equal(n.Platforms, []string{"linux/amd64", "linux/arm64"}) || n.PlatformSource != "user" {
		t.Errorf("farm-b = %+v", n)
	}
	if n := nodes["farm-a"]; !slices.Equal(n.Platforms, []string{"linux/amd64"}) || n.PlatformSource != "engine" {
		t.Errorf("farm-a = %+v", n)
	}
	pinned := c.buildxPinned(builder)
	if want := map[string][]string{"farm-a": {"linux/amd64"}, "farm-b": {"linux/amd64", "linux/arm64"}}; !mapsEqual(pinned, want) {
		t.Errorf("docker buildx inspect: pinned %v, want %v", pinned, want)
	}

	// And once more: nothing.
	before = c.storeHashes()
	got, _ = c.apply(path)
	wantActions(t, "apply again", got, map[string]string{"node farm-a": "unchanged", "node farm-b": "unchanged", "builder " + builder: "unchanged"})
	if changed := changedPaths(before, c.storeHashes()); len(changed) != 0 {
		t.Errorf("applying the changed file again changed %v", changed)
	}
}

// applyBadFiles: a file with a bad value is refused naming the file and the value, nothing written.
func applyBadFiles(t *testing.T, c *cli, dir, builder string) {
	good := farmFile(builder, "linux/amd64", "linux/arm64")
	for _, tc := range []struct{ name, content, want string }{
		{"bad platform", strings.Replace(good, "linux/arm64]", "linux/sparc]", 1), `nodes[1] (farm-b): invalid platform "linux/sparc"`},
		{"unknown key", strings.Replace(good, "    description:", "    descripton:", 1), `unknown key "descripton" in a node`},
		{"bad host", strings.Replace(good, "host: "+farm.EngineA, "host: http://127.0.0.1:2375", 1), `nodes[0] (farm-a): invalid host "http://127.0.0.1:2375"`},
		{"unknown node", strings.Replace(good, "nodes: [farm-a, farm-b]", "nodes: [farm-a, farm-c]", 1), `builders[0] (` + builder + `): nodes: unknown node "farm-c"`},
		{"duplicate node", strings.Replace(good, "name: farm-b", "name: farm-a", 1), `node name "farm-a" is declared twice`},
		// A new node whose engine does not answer, without platforms to add it offline.
		{"unreachable engine", strings.Replace(good, "builders:", "  - name: new-node\n    host: tcp://127.0.0.1:1\nbuilders:", 1),
			`nodes[2] (new-node): node "new-node": engine at tcp://127.0.0.1:1`},
	} {
		path := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		before := c.storeHashes()
		res := c.run(time.Minute, "multiarch", "apply", "-f", path, "--timeout", "3s")
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, path+": ") || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("%s: exit %d, %q; want an error naming %s and %s", tc.name, res.ExitCode, res.Stderr, path, tc.want)
		}
		if changed := changedPaths(before, c.storeHashes()); len(changed) != 0 {
			t.Errorf("%s: the refused file changed %v", tc.name, changed)
		}
	}
}

// A farm file's tcp:// engine with TLS files beside it (certs/, relative to the file): apply stores
// them (0600) and the node answers through them; a second apply writes nothing.
func TestApplyFarmFileTLSEngine(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ca.pem", "cert.pem", "key.pem"} {
		dt, err := os.ReadFile(filepath.Join(farm.TLSDir, name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "certs", name), string(dt))
	}
	path := writeFarmFile(t, dir, "nodes:\n  - name: tls-b\n    host: "+farm.EngineBTLS+"\n"+
		"    tls: {ca: certs/ca.pem, cert: certs/cert.pem, key: certs/key.pem}\n")
	got, _ := c.apply(path)
	wantActions(t, "apply", got, map[string]string{"node tls-b": "create"})
	if n := c.nodes()["tls-b"]; n.Status != "ok" || n.Engine.Version != farm.EngineBVersion {
		t.Errorf("node ls tls-b: %+v", n)
	}
	files, _ := filepath.Glob(filepath.Join(c.config, "contexts", "tls", "*", "docker", "*.pem"))
	if len(files) != 3 {
		t.Errorf("TLS files %v, want ca, cert and key", files)
	}
	before := c.storeHashes()
	got, _ = c.apply(path)
	wantActions(t, "second apply", got, map[string]string{"node tls-b": "unchanged"})
	if changed := changedPaths(before, c.storeHashes()); len(changed) != 0 {
		t.Errorf("the second apply changed %v", changed)
	}
}
