package runner

// Fuzz target of the reader of BuildKit's OCI layout archives (loadall.go): each platform's
// export is unpacked into one layout's blobs, then its image's entries are read from there.

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layoutSeed is an OCI layout archive holding one image (an index of one manifest when asIndex).
func layoutSeed(tb testing.TB, asIndex bool) []byte {
	tb.Helper()
	mf := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)
	mfDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mf), Size: int64(len(mf))}
	entries := []fuzzEntry{{name: "oci-layout", typ: tar.TypeReg, data: `{"imageLayoutVersion":"1.0.0"}`},
		{name: "blobs/sha256/" + mfDesc.Digest.Encoded(), typ: tar.TypeReg, data: string(mf)}}
	root := mfDesc
	if asIndex {
		plat := ocispec.Platform{OS: "linux", Architecture: "arm64"}
		d := mfDesc
		d.Platform = &plat
		idx, _ := json.Marshal(ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{d}})
		root = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(idx), Size: int64(len(idx))}
		entries = append(entries, fuzzEntry{name: "blobs/sha256/" + root.Digest.Encoded(), typ: tar.TypeReg, data: string(idx)})
	}
	top, _ := json.Marshal(ocispec.Index{Manifests: []ocispec.Descriptor{root}})
	entries = append(entries, fuzzEntry{name: "index.json", typ: tar.TypeReg, data: string(top)})
	return tarOfEntries(tb, entries...)
}

func FuzzUnpackLayout(f *testing.F) {
	f.Add(layoutSeed(f, false))
	f.Add(layoutSeed(f, true))
	f.Add(tarOfEntries(f, fuzzEntry{name: "index.json", typ: tar.TypeReg,
		data: `{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:../../../../etc/hostname","size":1}]}`}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "blobs/sha256/../../escape", typ: tar.TypeReg, data: "x"},
		fuzzEntry{name: "index.json", typ: tar.TypeReg, data: `{"manifests":[]}`}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "blobs/sha256/" + strings.Repeat("0", 64), typ: tar.TypeReg, data: "not that digest"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxArchive {
			t.Skip()
		}
		dir := t.TempDir()
		archive := filepath.Join(dir, "platform.tar")
		if err := os.WriteFile(archive, data, 0o600); err != nil {
			t.Fatal(err)
		}
		layout := filepath.Join(dir, "layout")
		blobs := filepath.Join(layout, "blobs", "sha256")
		if err := os.MkdirAll(blobs, 0o700); err != nil {
			t.Fatal(err)
		}
		root, err := unpackLayout(archive, blobs)
		// Only blobs named by their sha256 digest, each holding it, are written, and only there.
		err2 := filepath.WalkDir(layout, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() && (p == layout || p == filepath.Dir(blobs) || p == blobs) {
				return err
			}
			dt, rerr := os.ReadFile(p)
			if rerr != nil || filepath.Dir(p) != blobs || digest.NewDigestFromEncoded(digest.SHA256, d.Name()) != digest.FromBytes(dt) {
				t.Fatalf("the layout holds %s (%v)", p, rerr)
			}
			return nil
		})
		if err2 != nil {
			t.Fatal(err2)
		}
		if err != nil {
			return
		}
		// The image is named by a digest of the blobs it was unpacked into: nothing outside them
		// is ever read for it.
		if root.Digest.Validate() != nil || root.Digest.Algorithm() != digest.SHA256 {
			t.Fatalf("the layout's image is %q, not a sha256 digest", root.Digest)
		}
		entries, err := platformEntries(root, "linux/arm64", blobs)
		if err != nil {
			return
		}
		if root.MediaType != ocispec.MediaTypeImageIndex && (len(entries) != 1 || entries[0].Platform == nil) {
			t.Fatalf("image %+v: entries %+v", root, entries)
		}
	})
}
