//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const cosignPassword = "e2e-c0sign-pass"

// cosignKeyPair makes a key pair with the cosign CLI itself (cosign generate-key-pair), in a
// folder of the test's: the plugin must read what cosign writes.
func cosignKeyPair(t *testing.T, password string) (key, pub string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(farm.Bin, "cosign"), "generate-key-pair")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "COSIGN_PASSWORD="+password)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// cosignVerify runs the cosign CLI's verify of ref with pub (no transparency log: the farm has
// none), returning its exit code and output.
func cosignVerify(t *testing.T, pub, ref string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry"}, extra...)
	cmd := exec.Command(filepath.Join(farm.Bin, "cosign"), append(args, ref)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "TUF_ROOT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("cosign verify: %v", err)
		}
		return ee.ExitCode(), string(out)
	}
	return 0, string(out)
}

// Issue 21: a 3-platform build --sign-key pushes one tag whose index and every platform manifest
// cosign's own verify accepts, and docker multiarch verify lists all three signed with provenance;
// the password never shows.
func TestSignedBuildVerifiesWithCosign(t *testing.T) {
	c, builder := buildFarm(t)
	key, pub := cosignKeyPair(t, cosignPassword)
	c.env = append(c.env, "COSIGN_PASSWORD="+cosignPassword)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("signed")
	ref := farm.Registry + "/" + repo + ":1"
	r := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", threePlatforms, "--push",
		"--sign-key", key, "-t", ref, dir)
	out := r.Combined()
	if !strings.Contains(out, "signed with "+key) || strings.Contains(out, cosignPassword) {
		t.Fatalf("the build's output (no signing line, or the password shown):\n%s", out)
	}
	reg := newRegistryClient(t)
	idxDigest := reg.digest(repo, "1")
	idx := reg.index(repo, "1")
	var images []string
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "" {
			images = append(images, m.Digest.String())
		}
	}
	if len(images) != 3 {
		t.Fatalf("the index has %d images", len(images))
	}
	for _, d := range append([]string{idxDigest}, images...) {
		code, vout := cosignVerify(t, pub, farm.Registry+"/"+repo+"@"+d)
		if code != 0 {
			t.Errorf("cosign verify of %s: exit %d\n%s", d, code, vout)
		}
	}
	v := c.ok(time.Minute, "multiarch", "verify", ref, "--key", pub, "--require", "provenance", "--format", "json")
	var verdicts []struct {
		Platform           string
		Signed, Provenance bool
		Gaps               []string
	}
	if err := json.Unmarshal([]byte(v.Stdout), &verdicts); err != nil {
		t.Fatalf("verify --format json: %v\n%s", err, v.Stdout)
	}
	seen := map[string]bool{}
	for _, vd := range verdicts {
		if !vd.Signed || len(vd.Gaps) > 0 || (vd.Platform != "index" && !vd.Provenance) {
			t.Errorf("verdict %+v", vd)
		}
		seen[vd.Platform] = true
	}
	for _, p := range []string{"index", "linux/amd64", "linux/arm64", "linux/arm/v7"} {
		if !seen[p] {
			t.Errorf("verify lists no %s: %s", p, v.Stdout)
		}
	}
}

// Issue 21: what is not signed, signed by another key or lacks a required attestation is named
// by verify (exit non-zero, every gap), and cosign agrees; a key whose password is wrong stops
// the build before anything is pushed.
func TestSignedVerifyNamesEveryGap(t *testing.T) {
	c, builder := buildFarm(t)
	key, pub := cosignKeyPair(t, cosignPassword)
	_, otherPub := cosignKeyPair(t, "another-pass")
	c.env = append(c.env, "COSIGN_PASSWORD="+cosignPassword)
	repo := uniqueRepo("gaps")
	signed, plain := farm.Registry+"/"+repo+":signed", farm.Registry+"/"+repo+":plain"
	build := func(tag, content string, sign bool) result {
		dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN echo " + content + " > /c\n"})
		args := []string{"multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "--push", "-t", tag, dir}
		if sign {
			args = append(args, "--sign-key", key)
		}
		return c.run(5*time.Minute, args...)
	}
	if r := build(signed, "one", true); r.ExitCode != 0 {
		t.Fatalf("signed build: %s", r.Combined())
	}
	if r := build(plain, "two", false); r.ExitCode != 0 {
		t.Fatalf("plain build: %s", r.Combined())
	}
	// A merge without a key: amd64 from the unsigned build, arm64 from the signed one.
	reg := newRegistryClient(t)
	var plainAMD64 string
	for _, m := range reg.index(repo, "plain").Manifests {
		if m.Platform != nil && m.Platform.Architecture == "amd64" {
			plainAMD64 = farm.Registry + "/" + repo + "@" + m.Digest.String()
		}
	}
	mixed := farm.Registry + "/" + repo + ":mixed"
	c.ok(2*time.Minute, "multiarch", "merge", "-t", mixed, "--prefer", plainAMD64, plainAMD64, signed)
	for _, tc := range []struct {
		name, ref, pub string
		extra          []string
		want           []string
	}{
		{"another key", signed, otherPub, nil, []string{"index sha256:", "no signature by this key", "linux/amd64", "linux/arm64"}},
		{"an unsigned platform", mixed, pub, nil, []string{"index sha256:", "not signed (no sha256-", "linux/amd64 sha256:"}},
		{"a missing sbom", signed, pub, []string{"--require", "sbom"}, []string{"linux/amd64 sha256:", "no sbom attestation", "linux/arm64 sha256:"}},
		{"a platform it lacks", signed, pub, []string{"--platform", "linux/s390x"}, []string{"the image has no linux/s390x variant"}},
	} {
		r := c.run(time.Minute, append([]string{"multiarch", "verify", tc.ref, "--key", tc.pub}, tc.extra...)...)
		if r.ExitCode == 0 {
			t.Errorf("%s: verify passed:\n%s", tc.name, r.Combined())
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("%s: the error lacks %q:\n%s", tc.name, w, r.Combined())
			}
		}
	}
	// arm64 of the mixed tag is the signed build's: signed; amd64 is not. cosign agrees.
	for _, m := range reg.index(repo, "mixed").Manifests {
		if m.Platform == nil || m.Platform.OS != "linux" {
			continue
		}
		code, out := cosignVerify(t, pub, farm.Registry+"/"+repo+"@"+m.Digest.String())
		if wantOK := m.Platform.Architecture == "arm64"; (code == 0) != wantOK {
			t.Errorf("cosign verify of %s (%s): exit %d\n%s", m.Platform.Architecture, m.Digest, code, out)
		}
	}
	// A registry that refuses the signature tags: the build fails naming the manifest it could not
	// sign, and no tag moved.
	refusing := newFaultProxy(t, "http://"+farm.Registry)
	refusing.fail("PUT", `/manifests/sha256-[0-9a-f]{64}\.sig$`, 403, "DENIED", "signature tags are not allowed here")
	refRepo := uniqueRepo("sigrefused")
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN echo refused > /c\n"})
	md := filepath.Join(t.TempDir(), "md.json")
	r := c.run(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", faultTwoPlatforms, "--push", "--sign-key", key,
		"--metadata-file", md, "-t", refusing.addr()+"/"+refRepo+":1", dir)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "signing "+refusing.addr()+"/"+refRepo+"@sha256:") || !strings.Contains(r.Stderr, "no tag written") {
		t.Errorf("a refused signature tag: exit %d:\n%s", r.ExitCode, r.Combined())
	}
	if tags := tagsOrNone(t, refRepo); slices.Contains(tags, "1") {
		t.Errorf("a tag moved although its signatures were refused: %v", tags)
	}
	if dt, _ := os.ReadFile(md); strings.Contains(string(dt), cosignPassword) || strings.Contains(r.Combined(), cosignPassword) {
		t.Error("the key's password is in the output or the metadata file")
	}
	// A wrong password: refused before anything runs, the key named, no password shown.
	wrong := newCLI(t)
	wrong.env = append(wrong.env, "COSIGN_PASSWORD=not-the-password")
	r = wrong.run(time.Minute, "multiarch", "build", "--platform", "linux/amd64", "--push", "--sign-key", key, "-t", farm.Registry+"/"+repo+":never", t.TempDir())
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, key) || !strings.Contains(r.Stderr, "wrong password") || strings.Contains(r.Combined(), "not-the-password") {
		t.Errorf("a wrong password: exit %d:\n%s", r.ExitCode, r.Combined())
	}
	if tags := reg.tags(repo); strings.Contains(strings.Join(tags, ","), "never") {
		t.Errorf("tags after a refused key: %v", tags)
	}
}

// isSignatureTag: a tag of cosign's signature layout (sha256-HEX.sig), which signing adds beside
// the tags a build moves.
func isSignatureTag(tag string) bool {
	return strings.HasPrefix(tag, "sha256-") && strings.HasSuffix(tag, ".sig") && len(tag) == len("sha256-")+64+len(".sig")
}
