//go:build e2e

package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// startReferrersRegistry starts, for one test, go-containerregistry's registry with the OCI 1.1
// referrers API on (farmctl ociregistry): the farm's distribution registry serves none.
func startReferrersRegistry(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	startRegistryProcess(t, exec.Command(filepath.Join(farm.Bin, "farmctl"), "ociregistry", addr), addr, http.StatusOK)
	return addr
}

// Issue 21: where the registry serves the OCI 1.1 referrers API, build --sign-key signs the index
// and every manifest as referrers too and says so; with the signature tags removed, cosign's
// OCI 1.1 verify accepts each from the referrers alone (and its tag-only verify then fails), and
// docker multiarch verify still passes.
func TestSignedBuildAsReferrers(t *testing.T) {
	c, builder := buildFarm(t)
	addr := startReferrersRegistry(t)
	key, pub := cosignKeyPair(t, cosignPassword)
	c.env = append(c.env, "COSIGN_PASSWORD="+cosignPassword)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("referrers")
	ref := addr + "/" + repo + ":1"
	r := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", "--push",
		"--sign-key", key, "-t", ref, dir)
	if out := r.Combined(); !strings.Contains(out, "as OCI 1.1 referrers in "+addr+"/"+repo) {
		t.Fatalf("the build does not say it signed as referrers:\n%s", out)
	}
	reg := &registryClient{t: t, base: "http://" + addr, http: &http.Client{Timeout: 30 * time.Second}}
	idxDigest := reg.digest(repo, "1")
	digests := []string{idxDigest}
	for _, m := range reg.index(repo, "1").Manifests {
		digests = append(digests, m.Digest.String()) // the images and their attestation manifests
	}
	if len(digests) != 5 {
		t.Fatalf("the index names %d manifests, want 2 images and 2 attestation manifests", len(digests)-1)
	}
	for _, d := range digests {
		var refs ocispec.Index
		reg.getJSON("/v2/"+repo+"/referrers/"+d, ocispec.MediaTypeImageIndex, &refs)
		sigs := 0 // BuildKit's attestation manifests are referrers of their images too
		for _, m := range refs.Manifests {
			if m.ArtifactType == "application/vnd.dev.cosign.artifact.sig.v1+json" {
				sigs++
			}
		}
		if sigs != 1 {
			t.Errorf("%s has %d signature referrers: %+v", d, sigs, refs.Manifests)
		}
		reg.deleteManifest(repo, "sha256-"+strings.TrimPrefix(d, "sha256:")+".sig")
	}
	for _, d := range digests {
		at := addr + "/" + repo + "@" + d
		if code, out := cosignVerify(t, pub, at, "--experimental-oci11"); code != 0 {
			t.Errorf("cosign verify --experimental-oci11 of %s: exit %d\n%s", d, code, out)
		}
		if code, out := cosignVerify(t, pub, at); code == 0 {
			t.Errorf("cosign verify (signature tags only) of %s passed with the tags removed:\n%s", d, out)
		}
	}
	c.ok(time.Minute, "multiarch", "verify", ref, "--key", pub, "--require", "provenance")
}

// deleteManifest removes repo:ref from the registry (it must answer 202).
func (r *registryClient) deleteManifest(repo, ref string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodDelete, r.base+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("registry DELETE %s:%s: %v", repo, ref, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		r.t.Fatalf("registry DELETE %s:%s: %s", repo, ref, resp.Status)
	}
}
