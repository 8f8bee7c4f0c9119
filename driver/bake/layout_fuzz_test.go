package bake

// Fuzz target of the OCI layout archive reader (layout.go): a target's result unpacked for the
// targets that use it as a context.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layoutArchive is a tar of name -> content regular files, in order.
func layoutArchive(tb testing.TB, files ...[2]string) []byte {
	tb.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f[1]))}); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func FuzzExtractLayout(f *testing.F) {
	blob := `{"schemaVersion":2}`
	d := digest.FromString(blob)
	idx, _ := json.Marshal(ocispec.Index{Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageIndex, Digest: d, Size: int64(len(blob)),
		Annotations: map[string]string{ocispec.AnnotationRefName: "latest"}}}})
	f.Add(layoutArchive(f, [2]string{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}, [2]string{"blobs/sha256/" + d.Encoded(), blob}, [2]string{"index.json", string(idx)}))
	f.Add(layoutArchive(f, [2]string{"index.json", `{"manifests":[{"digest":"` + d.String() + `"},{"digest":"` + d.String() + `"}]}`}))
	f.Add(layoutArchive(f, [2]string{"index.json", `{"manifests":[{"digest":"sha256:` + strings.Repeat("1", 64) + `"},{"digest":"` + d.String() + `"}]}`}))
	f.Add(layoutArchive(f, [2]string{"blobs/sha256/../../../escape", "x"}, [2]string{"index.json", `{"manifests":[]}`}))
	f.Add(layoutArchive(f, [2]string{"blobs/sha256/" + strings.Repeat("0", 64), "not that digest"}))
	f.Add(layoutArchive(f, [2]string{"index.json", `{"manifests":[{"digest":"sha512:` + strings.Repeat("a", 128) + `"}]}`}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			t.Skip()
		}
		root := t.TempDir()
		archive := filepath.Join(root, "result.tar")
		if err := os.WriteFile(archive, data, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "layout")
		dgst, err := extractLayout(archive, dir)
		// Only the layout's own files are written, and only in dir: blobs named by the sha256
		// digest they hold, index.json and oci-layout.
		blobs := filepath.Join(dir, "blobs", "sha256")
		werr := filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case p == root || p == archive || e.IsDir() && (p == dir || p == filepath.Dir(blobs) || p == blobs):
				return nil
			case p == filepath.Join(dir, "index.json") || p == filepath.Join(dir, ocispec.ImageLayoutFile):
				return nil
			case filepath.Dir(p) == blobs:
				dt, err := os.ReadFile(p)
				if err != nil || digest.NewDigestFromEncoded(digest.SHA256, e.Name()) != digest.FromBytes(dt) {
					t.Fatalf("blob %s does not hold its digest (%v)", p, err)
				}
				return nil
			}
			t.Fatalf("the archive wrote %s", p)
			return nil
		})
		if werr != nil {
			t.Fatal(werr)
		}
		if err != nil {
			return
		}
		// The image another target names as oci-layout://DIR@DIGEST: one valid digest, the one
		// index.json names.
		if dgst.Validate() != nil {
			t.Fatalf("digest %q", dgst)
		}
		dt, err := os.ReadFile(filepath.Join(dir, "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var idx ocispec.Index
		if err := json.Unmarshal(dt, &idx); err != nil || len(idx.Manifests) == 0 {
			t.Fatalf("index.json %s: %v", dt, err)
		}
		for _, m := range idx.Manifests {
			if m.Digest != dgst {
				t.Fatalf("index.json names %s, and the image is %s", m.Digest, dgst)
			}
		}
	})
}
