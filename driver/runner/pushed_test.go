package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func writePushed(t *testing.T, dir, name string, asked []string, images ...PushedImage) string {
	t.Helper()
	path := filepath.Join(dir, name)
	b, err := json.Marshal(map[string]any{pushedKey: pushedRecord{Version: 1, Platforms: asked, Images: images}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Digests of the split builds' images.
var dgA, dgB, dgC, dgD = digest.FromString("a").String(), digest.FromString("b").String(), digest.FromString("c").String(), digest.FromString("d").String()

func TestReadSplit(t *testing.T) {
	dir := t.TempDir()
	amd := writePushed(t, dir, "amd64.json", []string{"linux/amd64"}, PushedImage{Repositories: []string{"r/app"}, Digest: dgA, Platforms: []string{"linux/amd64"}})
	writePushed(t, dir, "arm64.json", []string{"linux/arm64"}, PushedImage{Repositories: []string{"r/app", "r/mirror"}, Digest: dgB, Platforms: []string{"linux/arm64"}})
	got, err := ReadSplit([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Sources, []string{"r/app@" + dgA, "r/app@" + dgB}) || !slices.Equal(got.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("split = %+v", got)
	}

	other := t.TempDir()
	twice := writePushed(t, other, "again.json", []string{"linux/amd64"}, PushedImage{Repositories: []string{"r/app"}, Digest: dgC, Platforms: []string{"linux/amd64"}})
	missing := writePushed(t, other, "missing.json", []string{"linux/arm/v7", "linux/s390x"}, PushedImage{Repositories: []string{"r/app"}, Digest: dgD, Platforms: []string{"linux/arm/v7"}})
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{amd, twice}, "platform linux/amd64 is in both " + amd + " and " + twice},
		{[]string{missing}, "platform linux/s390x was asked of the build of " + missing + " but not pushed"},
		{[]string{filepath.Join(other, "nope.json")}, "nope.json"},
		{[]string{t.TempDir()}, "no *.json file"},
		{nil, "at least one"},
	} {
		if _, err := ReadSplit(tc.paths); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.paths, err, tc.want)
		}
	}
	// What a metadata file says was pushed is checked before any registry is asked (found by fuzzing:
	// a source "@0").
	for _, img := range []PushedImage{
		{Repositories: []string{""}, Digest: "0"}, {Repositories: []string{"r/app"}, Digest: "0"}, {Digest: dgA},
		{Repositories: []string{"r/app:1"}, Digest: dgA}, {Repositories: []string{"r/app@" + dgA}, Digest: dgA},
		{Repositories: []string{"r/app"}, Digest: dgA, Platforms: []string{"linux/sparc9"}},
	} {
		f := writePushed(t, t.TempDir(), "bad.json", nil, img)
		if _, err := ReadSplit([]string{f}); err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("%+v: err %v, want one naming %s", img, err, f)
		}
	}
	notOurs := filepath.Join(other, "buildx.json")
	os.WriteFile(notOurs, []byte(`{"containerimage.digest":"sha256:e"}`), 0o644)
	if _, err := ReadSplit([]string{notOurs}); err == nil || !strings.Contains(err.Error(), "--push-by-digest") {
		t.Errorf("a file without %s: %v", pushedKey, err)
	}
}

// Issue 19, case 8: a metadata file is read within 4 MiB; a larger one is an error naming it.
func TestReadPushedRefusesAHugeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "amd64.json")
	if err := os.WriteFile(p, append([]byte(`{"multiarch.pushed": "`), make([]byte, maxMetadataSize)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readPushed(p); err == nil || !strings.Contains(err.Error(), p+" is larger than 4 MiB") {
		t.Errorf("err = %v", err)
	}
}
