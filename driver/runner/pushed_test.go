package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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

func TestReadSplit(t *testing.T) {
	dir := t.TempDir()
	amd := writePushed(t, dir, "amd64.json", []string{"linux/amd64"}, PushedImage{Repositories: []string{"r/app"}, Digest: "sha256:a", Platforms: []string{"linux/amd64"}})
	writePushed(t, dir, "arm64.json", []string{"linux/arm64"}, PushedImage{Repositories: []string{"r/app", "r/mirror"}, Digest: "sha256:b", Platforms: []string{"linux/arm64"}})
	got, err := ReadSplit([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Sources, []string{"r/app@sha256:a", "r/app@sha256:b"}) || !slices.Equal(got.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("split = %+v", got)
	}

	other := t.TempDir()
	twice := writePushed(t, other, "again.json", []string{"linux/amd64"}, PushedImage{Repositories: []string{"r/app"}, Digest: "sha256:c", Platforms: []string{"linux/amd64"}})
	missing := writePushed(t, other, "missing.json", []string{"linux/arm/v7", "linux/s390x"}, PushedImage{Repositories: []string{"r/app"}, Digest: "sha256:d", Platforms: []string{"linux/arm/v7"}})
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
