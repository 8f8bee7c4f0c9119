//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const windowsVersion = "10.0.20348.2849"

func windowsImage() ocispec.Image {
	return ocispec.Image{Platform: ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: windowsVersion,
		OSFeatures: []string{"win32k"}}}
}

// busyboxDigests are the farm base image's per-platform manifests, pushed by digest.
func busyboxDigests(t *testing.T) map[string]string {
	t.Helper()
	repo, tag := splitRef(t, farm.Busybox)
	out := map[string]string{}
	for _, m := range newRegistryClient(t).index(repo, tag).Manifests {
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			p += "/" + m.Platform.Variant
		}
		out[p] = m.Digest.String()
	}
	return out
}

func TestMergeWithWindowsKeepsOSVersion(t *testing.T) {
	c := newCLI(t)
	reg := c.reg()
	bb, _ := splitRef(t, farm.Busybox)
	digests := busyboxDigests(t)
	winRepo := uniqueRepo("win")
	win := reg.pushImage(winRepo, windowsImage(), "windows-file")
	target := uniqueRepo("merged")
	ref := farm.Registry + "/" + target + ":v1"

	c.ok(5*time.Minute, "multiarch", "merge", "-t", ref,
		farm.Registry+"/"+bb+"@"+digests["linux/amd64"],
		farm.Registry+"/"+bb+"@"+digests["linux/arm64"],
		farm.Registry+"/"+winRepo+"@"+win.Digest.String())

	if tags := reg.tags(target); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v, want only v1", tags)
	}
	idx := reg.index(target, "v1")
	if got := imagePlatforms(idx); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64", "windows/amd64"}) {
		t.Fatalf("index platforms %v", got)
	}
	for _, m := range idx.Manifests {
		if m.Platform.OS == "windows" && (m.Platform.OSVersion != windowsVersion || m.Digest != win.Digest ||
			!slices.Equal(m.Platform.OSFeatures, []string{"win32k"})) {
			t.Errorf("windows entry %+v, want os.version %s and os.features from its config", m.Platform, windowsVersion)
		}
		reg.manifest(target, m.Digest.String()) // copied into the target repository
	}

	// inspect agrees with the registry, as a table and as JSON.
	var info struct {
		Digest    string
		Manifests []struct {
			Platform, OSVersion, Digest string
			Attestation                 bool
		}
	}
	if err := json.Unmarshal([]byte(c.ok(time.Minute, "multiarch", "inspect", ref, "--format", "json").Stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Digest != reg.digest(target, "v1") || len(info.Manifests) != len(idx.Manifests) {
		t.Errorf("inspect json: %+v", info)
	}
	table := c.ok(time.Minute, "multiarch", "inspect", ref).Stdout
	for i, m := range info.Manifests {
		if m.Digest != idx.Manifests[i].Digest.String() {
			t.Errorf("inspect manifest %d = %s, registry has %s", i, m.Digest, idx.Manifests[i].Digest)
		}
		osv := "-"
		if m.OSVersion != "" {
			osv = m.OSVersion
		}
		if !regexpLine(table, m.Platform, osv, m.Digest) {
			t.Errorf("inspect table lacks %s %s %s:\n%s", m.Platform, osv, m.Digest, table)
		}
	}
}

func TestMergeIndexAndImageAndConflicts(t *testing.T) {
	c := newCLI(t)
	reg := c.reg()
	winRepo := uniqueRepo("win")
	win := reg.pushImage(winRepo, windowsImage(), "windows-file")
	winRef := farm.Registry + "/" + winRepo + "@" + win.Digest.String()

	target := uniqueRepo("merged")
	ref := farm.Registry + "/" + target + ":v1"
	c.ok(5*time.Minute, "multiarch", "merge", "-t", ref, farm.Busybox, winRef)
	if got := imagePlatforms(reg.index(target, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64"}) {
		t.Errorf("index + image: %v", got)
	}

	// Another linux/amd64 image: two sources for one platform need --prefer, and nothing is written.
	otherRepo := uniqueRepo("other")
	other := reg.pushImage(otherRepo, ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}}, "other-file")
	otherRef := farm.Registry + "/" + otherRepo + "@" + other.Digest.String()
	conflict := uniqueRepo("conflict")
	res := c.run(5*time.Minute, "multiarch", "merge", "-t", farm.Registry+"/"+conflict+":v1", farm.Busybox, otherRef)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/amd64") || !strings.Contains(res.Stderr, "--prefer") {
		t.Errorf("conflict: exit %d, %q", res.ExitCode, res.Stderr)
	}
	if slices.Contains(reg.catalog(), conflict) {
		t.Error("a refused merge wrote to the registry")
	}
	c.ok(5*time.Minute, "multiarch", "merge", "-t", farm.Registry+"/"+conflict+":v1", "--prefer", otherRef, farm.Busybox, otherRef)
	for _, m := range reg.index(conflict, "v1").Manifests {
		if m.Platform.OS == "linux" && m.Platform.Architecture == "amd64" && m.Digest != other.Digest {
			t.Errorf("--prefer kept %s for linux/amd64, want %s", m.Digest, other.Digest)
		}
	}

	// --dry-run prints the index and writes nothing.
	dry := uniqueRepo("dry")
	out := c.ok(time.Minute, "multiarch", "merge", "--dry-run", "-t", farm.Registry+"/"+dry+":v1", farm.Busybox, winRef).Stdout
	var idx ocispec.Index
	if err := json.Unmarshal([]byte(out), &idx); err != nil || len(imagePlatforms(idx)) != 4 {
		t.Errorf("--dry-run printed %q (%v)", out, err)
	}
	if slices.Contains(reg.catalog(), dry) {
		t.Error("--dry-run wrote to the registry")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{farm.Busybox}, "-t"},
		{[]string{"-t", "Bad Tag", farm.Busybox}, `"Bad Tag"`},
		{[]string{"-t", ref, "Bad Source"}, `"Bad Source"`},
		{[]string{"-t", ref, "--prefer", otherRef, farm.Busybox}, "--prefer"},
		{[]string{"-t", ref, farm.Registry + "/" + uniqueRepo("nosuch") + ":v1"}, "nosuch"},
	} {
		res := c.run(time.Minute, append([]string{"multiarch", "merge"}, tc.args...)...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("merge %s: exit %d, %q; want an error naming %s", strings.Join(tc.args, " "), res.ExitCode, res.Stderr, tc.want)
		}
	}
	if digest := reg.digest(target, "v1"); digest == "" {
		t.Error("bad input removed the tag")
	}
}
