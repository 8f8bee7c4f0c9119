package runner

// Fuzz target of the reader of split builds' metadata files (pushed.go: merge --from-metadata).

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

func FuzzReadSplit(f *testing.F) {
	amd := `{"multiarch.pushed":{"version":1,"platforms":["linux/amd64"],"images":[{"repositories":["r/app"],"digest":"sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb","platforms":["linux/amd64"]}]}}`
	arm := `{"multiarch.pushed":{"version":1,"platforms":["linux/arm64"],"images":[{"repositories":["r/app","r/mirror"],"digest":"sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d","platforms":["linux/arm64"]}]},"containerimage.digest":"sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"}`
	for _, s := range [][2]string{
		{amd, arm}, {amd, amd}, {amd, `{"containerimage.digest":"sha256:3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"}`}, {amd, `{"multiarch.pushed":{"version":2}}`},
		{amd, `{"multiarch.pushed":{"version":1,"platforms":["linux/arm/v7","linux/s390x"],"images":[{"repositories":["r/app"],"digest":"sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4","platforms":["linux/arm/v7"]}]}}`},
		{amd, `{"multiarch.pushed":{"version":1,"images":[{"repositories":[],"digest":"sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4"}]}}`},
		{amd, `{"multiarch.pushed":{"version":1,"images":[{"repositories":["r/app"],"digest":"sha256:18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4","platforms":["linux/amd64","linux/amd64"]}]}}`},
		{amd, `{"multiarch.pushed":null}`}, {amd, `[]`}, {amd, ``}, {amd, `{"multiarch.pushed":{"version":1}}`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a)+len(b) > maxArchive {
			t.Skip()
		}
		dir := t.TempDir()
		files := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
		for i, dt := range [][]byte{a, b} {
			if err := os.WriteFile(files[i], dt, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		split, err := ReadSplit([]string{dir})
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q names no metadata file", err)
			}
			return
		}
		// Every image of every file is a source, REPO@DIGEST; every platform pushed once, and every
		// platform a build was asked for was pushed.
		var sources, asked []string
		for _, file := range files {
			rec, err := readPushed(file)
			if err != nil {
				t.Fatalf("%s: read alone: %v", file, err)
			}
			for _, img := range rec.Images {
				sources = append(sources, img.Repositories[0]+"@"+img.Digest)
			}
			asked = append(asked, rec.Platforms...)
		}
		if !slices.Equal(split.Sources, sources) {
			t.Fatalf("sources %q, want %q", split.Sources, sources)
		}
		for _, s := range split.Sources {
			if repo, dgst, ok := strings.Cut(s, "@"); !ok || repo == "" || digest.Digest(dgst).Validate() != nil {
				t.Fatalf("source %q", s)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(split.Platforms)))) != len(split.Platforms) {
			t.Fatalf("a platform pushed twice: %q", split.Platforms)
		}
		for _, p := range asked {
			if !slices.Contains(split.Platforms, p) {
				t.Fatalf("platform %s asked for and not pushed: %q", p, split.Platforms)
			}
		}
	})
}
