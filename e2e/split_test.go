//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// runnerCLI is a CI runner: its own Docker config, its own engine as its only node, and a builder
// whose BuildKit reaches the SBOM scanner through the farm's registry mirror.
func runnerCLI(t *testing.T, engine, node string, createArgs ...string) (*cli, string) {
	t.Helper()
	c := newCLI(t).withBuildx()
	c.ok(time.Minute, "multiarch", "node", "add", node, "--host", engine)
	name := fmt.Sprintf("r%d", time.Now().UnixNano())
	c.removeBuilderAtCleanup(name)
	args := slices.Concat([]string{"multiarch", "create", name, "--node", node, "--buildkitd-config", farm.BuildKitdConfig}, createArgs, farmDriverOpts())
	c.ok(3*time.Minute, args...)
	return c, name
}

// Two runners each build their platform and push it by digest; merge --from-metadata publishes
// the one tag with both platforms and both runners' attestations.
func TestSplitBuildsMergedByDigest(t *testing.T) {
	amd, amdBuilder := runnerCLI(t, farm.EngineA, "runner-amd64")
	arm, armBuilder := runnerCLI(t, farm.EngineB, "runner-arm64", "--emulate", "linux/arm64=runner-arm64")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("split")
	mdDir := t.TempDir()
	for _, r := range []struct {
		c                 *cli
		builder, platform string
	}{{amd, amdBuilder, "linux/amd64"}, {arm, armBuilder, "linux/arm64"}} {
		res := r.c.ok(10*time.Minute, "multiarch", "build", "--builder", r.builder, "--platform", r.platform, "--push-by-digest",
			"-t", farm.Registry+"/"+repo, "--provenance", "mode=max", "--sbom", "true",
			"--metadata-file", filepath.Join(mdDir, strings.ReplaceAll(r.platform, "/", "-")+".json"), "--progress", "plain", dir)
		if !strings.Contains(res.Stdout, "no tag moved") {
			t.Errorf("%s: the summary does not say no tag moved:\n%s", r.platform, res.Stdout)
		}
	}
	reg := amd.reg()
	if tagDigest(t, repo, "latest") != "" || len(tagsOrNone(t, repo)) != 0 {
		t.Fatalf("a push by digest wrote a tag: %v", tagsOrNone(t, repo))
	}

	// Merge on a third machine (another config): the files are all it needs. It signs (issue 21):
	// the index, both images and both attestations, which verify reads back, with both kinds.
	merger := newCLI(t)
	key, pub := cosignKeyPair(t, cosignPassword)
	merger.env = append(merger.env, "COSIGN_PASSWORD="+cosignPassword)
	res := merger.ok(5*time.Minute, "multiarch", "merge", "-t", farm.Registry+"/"+repo+":1.4", "--from-metadata", mdDir, "--sign-key", key)
	if !strings.Contains(res.Stdout, "verified") || !strings.Contains(res.Stdout, "signed with "+key+": the index and every manifest it names (5)") {
		t.Errorf("merge: %s", res.Stdout)
	}
	merger.ok(time.Minute, "multiarch", "verify", farm.Registry+"/"+repo+":1.4", "--key", pub, "--require", "provenance,sbom")
	idx := reg.index(repo, "1.4")
	if got := imagePlatforms(idx); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("index platforms %v", got)
	}
	checkAttestations(t, reg, repo, idx)
	if got := amd.runVariant(farm.Registry+"/"+repo+":1.4", "linux/arm64", "cat", "/arch"); got != "aarch64" {
		t.Errorf("arm64 variant: %q", got)
	}

	// A platform in two files, or asked for and not pushed: named, nothing written.
	twice := filepath.Join(t.TempDir(), "again.json")
	copyFile(t, filepath.Join(mdDir, "linux-arm64.json"), twice)
	res = merger.run(time.Minute, "multiarch", "merge", "-t", farm.Registry+"/"+repo+":bad", "--from-metadata", mdDir, "--from-metadata", twice)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "platform linux/arm64 is in both") {
		t.Errorf("doubled platform: exit %d, %s", res.ExitCode, res.Stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	writeMissing(t, filepath.Join(mdDir, "linux-amd64.json"), missing)
	res = merger.run(time.Minute, "multiarch", "merge", "-t", farm.Registry+"/"+repo+":bad", "--from-metadata", missing)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "platform linux/s390x was asked of the build") {
		t.Errorf("missing platform: exit %d, %s", res.ExitCode, res.Stderr)
	}
	if tagDigest(t, repo, "bad") != "" {
		t.Error("a refused merge wrote a tag")
	}
}

// checkAttestations: one attestation manifest per image, referencing it, with a provenance and an
// SBOM (SPDX) statement.
func checkAttestations(t *testing.T, reg *registryClient, repo string, idx ocispec.Index) {
	t.Helper()
	images := map[string]bool{}
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			images[m.Digest.String()] = true
		}
	}
	attested := map[string]bool{}
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
			continue
		}
		ref := m.Annotations["vnd.docker.reference.digest"]
		if !images[ref] {
			t.Errorf("attestation %s references %s, not an image of the index", m.Digest, ref)
		}
		attested[ref] = true
		var types []string
		for _, l := range reg.manifest(repo, m.Digest.String()).Layers {
			types = append(types, l.Annotations["in-toto.io/predicate-type"])
		}
		if !slices.Contains(types, "https://spdx.dev/Document") || !slices.ContainsFunc(types, func(s string) bool { return strings.Contains(s, "slsa.dev/provenance") }) {
			t.Errorf("attestation %s holds %v, want provenance and SPDX", m.Digest, types)
		}
	}
	if len(attested) != len(images) {
		t.Errorf("%d images, %d attested", len(images), len(attested))
	}
}

// tagsOrNone lists a repository's tags; none when the registry knows no tag of it.
func tagsOrNone(t *testing.T, repo string) []string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/v2/%s/tags/list", farm.Registry, repo))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var out struct {
		Tags []string `json:"tags"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Tags
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeMissing writes a runner's metadata that says it was asked for a platform it did not push.
func writeMissing(t *testing.T, src, dst string) {
	t.Helper()
	var md map[string]any
	readJSONFile(t, src, &md)
	pushed := md["multiarch.pushed"].(map[string]any)
	pushed["platforms"] = append(pushed["platforms"].([]any), "linux/s390x")
	b, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
