package runner

// Fuzz targets of the readers of what an engine saved (saved.go): the `docker save` archive,
// its paths and links, and its layers.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxArchive bounds a fuzzed archive: the readers' logic is in the headers, not in the sizes.
const maxArchive = 1 << 16

// fuzzEntry is one entry of a tar built for a seed.
type fuzzEntry struct {
	name, link string
	typ        byte
	data       string
}

// tarOfEntries is a tar of entries (Size set for regular files only).
func tarOfEntries(tb testing.TB, entries ...fuzzEntry) []byte {
	tb.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.data)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// safeArchivePath: a path of the archive as the reader keeps it: relative, clean, never above the
// archive's root.
func safeArchivePath(p string) bool {
	return p != "" && p != "." && !strings.HasPrefix(p, "/") && path.Clean(p) == p && p != ".." && !strings.HasPrefix(p, "../")
}

func FuzzArchivePath(f *testing.F) {
	for _, name := range []string{"manifest.json", "./manifest.json", "blobs/sha256/aa", "/etc/passwd", "../x", "a/../../x",
		"a/..", "./", ".", "a//b/./c", "..", "...", "a/...", "a\\..\\b", "a/b/"} {
		f.Add(name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := archivePath(name)
		if err != nil {
			return
		}
		if !safeArchivePath(p) {
			t.Fatalf("archivePath(%q) = %q", name, p)
		}
		if strings.HasPrefix(name, "/") || strings.Contains("/"+name+"/", "/../") {
			t.Fatalf("archivePath(%q) = %q: an absolute or parent path accepted", name, p)
		}
	})
}

func FuzzReadSaved(f *testing.F) {
	f.Add(tarOfEntries(f,
		fuzzEntry{name: "./", typ: tar.TypeDir},
		fuzzEntry{name: "blobs/sha256/aa", typ: tar.TypeReg, data: "layer"},
		fuzzEntry{name: "manifest.json", typ: tar.TypeReg, data: `[{"Config":"blobs/sha256/cc","Layers":["l1/layer.tar"]}]`},
		fuzzEntry{name: "l1/layer.tar", typ: tar.TypeSymlink, link: "../blobs/sha256/aa"},
		fuzzEntry{name: "l2/layer.tar", typ: tar.TypeLink, link: "l1/layer.tar"},
	))
	f.Add(tarOfEntries(f, fuzzEntry{name: "/etc/passwd", typ: tar.TypeReg, data: "x"}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "a/../../escape", typ: tar.TypeReg, data: "x"}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "a/manifest.json", typ: tar.TypeSymlink, link: "../../etc/passwd"}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "manifest.json", typ: tar.TypeLink, link: "../secret"}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "a", typ: tar.TypeSymlink, link: "b"}, fuzzEntry{name: "b", typ: tar.TypeSymlink, link: "a"}))
	f.Add(tarOfEntries(f, fuzzEntry{name: "a/b", typ: tar.TypeSymlink, link: "../c"}, fuzzEntry{name: "c", typ: tar.TypeReg, data: "c"},
		fuzzEntry{name: "c", typ: tar.TypeReg, data: "again"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxArchive {
			t.Skip()
		}
		dir := t.TempDir()
		a, err := readSaved(bytes.NewReader(data), dir)
		// Whatever the archive holds, the reader writes only files of its own naming in dir, never
		// more than the archive held.
		ents, rerr := os.ReadDir(dir)
		if rerr != nil {
			t.Fatal(rerr)
		}
		var written int64
		for _, e := range ents {
			st, err := os.Lstat(filepath.Join(dir, e.Name()))
			if err != nil || !st.Mode().IsRegular() || !strings.HasPrefix(e.Name(), "file-") {
				t.Fatalf("the reader left %s (%v) in its directory", e.Name(), st.Mode())
			}
			written += st.Size()
		}
		if written > int64(len(data)) {
			t.Fatalf("%d bytes written from an archive of %d", written, len(data))
		}
		if err != nil {
			return
		}
		for name, file := range a.files {
			if !safeArchivePath(name) || filepath.Dir(file) != dir {
				t.Fatalf("file %q kept as %s", name, file)
			}
		}
		for name, target := range a.links {
			if !safeArchivePath(name) || !safeArchivePath(target) {
				t.Fatalf("link %q -> %q kept", name, target)
			}
		}
		for name := range joinKeys(a.files, a.links) {
			file, err := a.file(name)
			if err == nil && filepath.Dir(file) != dir {
				t.Fatalf("%s resolves to %s, outside %s", name, file, dir)
			}
		}
	})
}

func joinKeys(ms ...map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// maxLayer bounds a fuzzed layer: a compressed one may expand a thousandfold.
const maxLayer = 1 << 10

func FuzzLayerBlob(f *testing.F) {
	layer := tarOfEntries(f, fuzzEntry{name: "etc/hostname", typ: tar.TypeReg, data: "node\n"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer)
	zw.Close()
	var zs bytes.Buffer
	zsw, err := zstd.NewWriter(&zs)
	if err != nil {
		f.Fatal(err)
	}
	zsw.Write(layer)
	zsw.Close()
	f.Add(layer)
	f.Add(gz.Bytes())
	f.Add(zs.Bytes())
	f.Add(gz.Bytes()[:10])
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxLayer {
			t.Skip()
		}
		dir := t.TempDir()
		in := filepath.Join(dir, "layer.tar")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, diff, err := layerBlob(in, dir)
		if err != nil {
			return
		}
		blob, err := os.ReadFile(b.Path)
		if err != nil || filepath.Dir(b.Path) != dir {
			t.Fatalf("blob %s: %v", b.Path, err)
		}
		if b.Desc.Digest != digest.FromBytes(blob) || b.Desc.Size != int64(len(blob)) {
			t.Fatalf("blob %s described as %+v", b.Path, b.Desc)
		}
		// The diff ID is the digest of the content as the engine saved it, uncompressed.
		var content []byte
		switch b.Desc.MediaType {
		case ocispec.MediaTypeImageLayerZstd:
			zr, err := zstd.NewReader(bytes.NewReader(blob))
			if err != nil {
				t.Fatal(err)
			}
			content, err = io.ReadAll(zr)
			zr.Close()
			if err != nil {
				t.Fatalf("zstd layer: %v", err)
			}
		case ocispec.MediaTypeImageLayerGzip:
			gr, err := gzip.NewReader(bytes.NewReader(blob))
			if err != nil {
				t.Fatalf("gzip layer: %v", err)
			}
			if content, err = io.ReadAll(gr); err != nil {
				t.Fatalf("gzip layer: %v", err)
			}
		default:
			t.Fatalf("media type %s", b.Desc.MediaType)
		}
		if diff != digest.FromBytes(content) {
			t.Fatalf("diff ID %s, content %s", diff, digest.FromBytes(content))
		}
		if b.Path != in && !bytes.Equal(content, data) {
			t.Fatalf("an uncompressed layer compressed into other content")
		}
	})
}
