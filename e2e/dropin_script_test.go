//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// buildxScript is a CI step written for `docker buildx build`, with more than twenty of its flags.
// BUILD is the command ("docker buildx build" as written); the test runs it with "docker multiarch
// build" unchanged otherwise.
const buildxScript = `#!/bin/sh
set -eu
${BUILD} \
  --builder "$BUILDER" \
  --platform linux/amd64,linux/arm64,linux/arm/v7 \
  -f Dockerfile.ci \
  --target final \
  --build-arg GREETING=hello \
  --label org.example.team=platform \
  --label org.example.ci=true \
  --annotation "index:org.opencontainers.image.source=https://github.com/acme/app" \
  --provenance mode=max \
  --sbom false \
  --secret id=token,src="$SECRET" \
  --cache-from "type=registry,ref=$CACHE" \
  --cache-to "type=registry,ref=$CACHE,mode=max" \
  --network host \
  --pull \
  --no-cache \
  --add-host registry.internal:127.0.0.1 \
  --shm-size 128m \
  --ulimit nofile=1024:2048 \
  --build-context extra=./extra \
  --iidfile "$OUT/iid" \
  --metadata-file "$OUT/metadata.json" \
  --progress plain \
  --push \
  -t "$IMAGE:1.0" -t "$IMAGE:latest" \
  .
# The files of every platform (buildx refuses a local output together with --iidfile).
${BUILD} --builder "$BUILDER" --platform linux/amd64,linux/arm64,linux/arm/v7 -f Dockerfile.ci --target final \
  --build-arg GREETING=hello --secret id=token,src="$SECRET" --add-host registry.internal:127.0.0.1 \
  --build-context extra=./extra --network host -q -o "type=local,dest=$OUT/files" .
`

// A script written for docker buildx build runs unchanged with docker multiarch build on a
// 3-platform builder; the registry and the outputs are checked.
func TestDropInScript(t *testing.T) {
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{
		"Dockerfile.ci": "FROM " + farm.Busybox + " AS base\nARG GREETING\nRUN --mount=type=secret,id=token [ \"$(cat /run/secrets/token)\" = s3cret ] && " +
			"grep -q registry.internal /etc/hosts && echo \"$GREETING $(uname -m)\" > /greeting\n" +
			"FROM base AS final\nCOPY --from=extra note /note\n",
		"ci.sh": buildxScript,
	})
	if err := os.MkdirAll(filepath.Join(dir, "extra"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "extra", "note"), "from the extra context\n")
	secret := filepath.Join(t.TempDir(), "token")
	writeFile(t, secret, "s3cret")
	repo, cacheRepo := uniqueRepo("dropin"), uniqueRepo("dropin-cache")
	out := t.TempDir()
	env := append(cleanEnv(), c.env...)
	env = append(env, "BUILD=docker multiarch build", "BUILDER="+builder, "SECRET="+secret, "OUT="+out,
		"IMAGE="+farm.Registry+"/"+repo, "CACHE="+farm.Registry+"/"+cacheRepo+":ci")
	cmd := exec.Command("sh", filepath.Join(dir, "ci.sh"))
	cmd.Dir, cmd.Env = dir, env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the buildx script with docker multiarch build: %v\n%s", err, tail(string(b), 3000))
	}
	// The script is a docker buildx build script: buildx itself runs it on the same builder.
	bx := exec.Command("sh", filepath.Join(dir, "ci.sh"))
	bx.Dir = dir
	bx.Env = append(slices.Clone(env[:len(env)-6]), "BUILD=docker buildx build", "BUILDER="+builder, "SECRET="+secret, "OUT="+t.TempDir(),
		"IMAGE="+farm.Registry+"/"+repo+"-buildx", "CACHE="+farm.Registry+"/"+cacheRepo+"-buildx:ci")
	if b, err := bx.CombinedOutput(); err != nil {
		t.Fatalf("the same script with docker buildx build: %v\n%s", err, tail(string(b), 2000))
	}
	reg := c.reg()
	if tags := reg.tags(repo); !samePlatformSet(tags, []string{"1.0", "latest"}) {
		t.Errorf("tags %v", tags)
	}
	idx := reg.index(repo, "1.0")
	if got := imagePlatforms(idx); !samePlatformSet(got, strings.Split(threePlatforms, ",")) {
		t.Errorf("platforms %v", got)
	}
	if idx.Annotations["org.opencontainers.image.source"] != "https://github.com/acme/app" {
		t.Errorf("the index annotation is missing: %v", idx.Annotations)
	}
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		labels := reg.config(repo, reg.manifest(repo, m.Digest.String())).Config.Labels
		if labels["org.example.team"] != "platform" || labels["org.example.ci"] != "true" {
			t.Errorf("%s: labels %v", m.Platform.Architecture, labels)
		}
	}
	if iid := strings.TrimSpace(readFile(t, filepath.Join(out, "iid"))); iid != tagDigest(t, repo, "1.0") {
		t.Errorf("--iidfile holds %q, the tag is at %s", iid, tagDigest(t, repo, "1.0"))
	}
	for p, arch := range unameFor {
		folder := filepath.Join(out, "files", strings.ReplaceAll(p, "/", "_"))
		if got := strings.TrimSpace(readFile(t, filepath.Join(folder, "greeting"))); got != "hello "+arch {
			t.Errorf("%s: greeting %q", folder, got)
		}
		if got := readFile(t, filepath.Join(folder, "note")); got != "from the extra context\n" {
			t.Errorf("%s: note %q", folder, got)
		}
	}
	var md map[string]any
	readJSONFile(t, filepath.Join(out, "metadata.json"), &md)
	if md["containerimage.digest"] != tagDigest(t, repo, "1.0") || md["buildx.build.ref"] == nil {
		t.Errorf("metadata: digest %v, ref %v", md["containerimage.digest"], md["buildx.build.ref"])
	}
	// buildx's provenance keys, one per platform as buildx writes them for a multi-platform build
	// on one node (buildx itself drops them when a build spans nodes: it writes only the digest).
	for p := range unameFor {
		prv, _ := md["buildx.build.provenance/"+p].(map[string]any)
		if prv["buildType"] != "https://mobyproject.org/buildkit@v1" || prv["metadata"] != nil {
			t.Errorf("metadata buildx.build.provenance/%s (min, SLSA v0.2): %v", p, md["buildx.build.provenance/"+p])
		}
	}
	// One registry cache per platform, and a second build hits them on every platform.
	caches := reg.tags(cacheRepo)
	slices.Sort(caches)
	if want := []string{"ci-linux-amd64", "ci-linux-arm-v7", "ci-linux-arm64"}; !slices.Equal(caches, want) {
		t.Errorf("cache tags %v, want %v", caches, want)
	}
	res := c.run(10*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "-f", filepath.Join(dir, "Dockerfile.ci"),
		"--target", "base", "--build-arg", "GREETING=hello", "--secret", "id=token,src="+secret, "--add-host", "registry.internal:127.0.0.1",
		"--network", "host", "--shm-size", "128m", "--ulimit", "nofile=1024:2048", // the RUN step's settings are part of its cache key
		"--cache-from", "type=registry,ref="+farm.Registry+"/"+cacheRepo+":ci", "--progress", "plain", dir)
	if cached := cachedRuns(res.Stderr); !samePlatformSet(cached, strings.Split(threePlatforms, ",")) || res.ExitCode != 0 {
		t.Errorf("the second build hit the cache on %v, want every platform:\n%s", cached, tail(res.Stderr, 3000))
	}
}

// cachedRuns are the platforms whose RUN step BuildKit took from the cache (plain progress:
// "#N [PLATFORM stage 2/2] RUN ..." then "#N CACHED").
func cachedRuns(progress string) []string {
	runs := map[string]string{}
	var out []string
	for _, line := range strings.Split(progress, "\n") {
		if m := runVertex.FindStringSubmatch(line); m != nil {
			runs[m[1]] = m[2]
		} else if m := cachedVertex.FindStringSubmatch(line); m != nil && runs[m[1]] != "" && !slices.Contains(out, runs[m[1]]) {
			out = append(out, runs[m[1]])
		}
	}
	return out
}

var (
	runVertex    = regexp.MustCompile(`^#(\d+) \[(linux/[^ \]]+)[^\]]*\] RUN `)
	cachedVertex = regexp.MustCompile(`^#(\d+) CACHED`)
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}
