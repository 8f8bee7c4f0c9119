package runner

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, link string
	typ        byte
	data       string
}

func savedTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.data))
	}
	tw.Close()
	return b.Bytes()
}

func TestReadSavedFollowsLinksInsideTheArchive(t *testing.T) {
	dir := t.TempDir()
	a, err := readSaved(bytes.NewReader(savedTar(t,
		entry{name: "./", typ: tar.TypeDir},
		entry{name: "blobs/sha256/aa", typ: tar.TypeReg, data: "layer"},
		entry{name: "manifest.json", typ: tar.TypeReg, data: "[]"},
		entry{name: "l1/layer.tar", typ: tar.TypeSymlink, link: "../blobs/sha256/aa"},
		entry{name: "l2/layer.tar", typ: tar.TypeLink, link: "l1/layer.tar"},
	)), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"l1/layer.tar", "l2/layer.tar", "./blobs/sha256/aa"} {
		f, err := a.file(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b, _ := os.ReadFile(f); string(b) != "layer" {
			t.Errorf("%s reads %q", name, b)
		}
	}
	// Nothing but our own files was created: no path of the archive exists in dir.
	for _, p := range []string{"blobs", "l1", "manifest.json"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("the archive's path %s was recreated in the directory", p)
		}
	}
}

func TestReadSavedRefusesHostileArchives(t *testing.T) {
	for name, entries := range map[string][]entry{
		"absolute path": {{name: "/etc/passwd", typ: tar.TypeReg, data: "x"}},
		"parent path":   {{name: "../../escape", typ: tar.TypeReg, data: "x"}},
		"inner parent":  {{name: "a/../../escape", typ: tar.TypeReg, data: "x"}},
		"absolute link": {{name: "manifest.json", typ: tar.TypeSymlink, link: "/etc/passwd"}},
		"link out":      {{name: "a/manifest.json", typ: tar.TypeSymlink, link: "../../etc/passwd"}},
		"hard link out": {{name: "manifest.json", typ: tar.TypeLink, link: "../secret"}},
	} {
		dir := t.TempDir()
		_, err := readSaved(bytes.NewReader(savedTar(t, entries...)), dir)
		if err == nil || !strings.Contains(err.Error(), "unsafe") {
			t.Errorf("%s: err %v, want it refused as unsafe", name, err)
		}
	}
	// Links that only lead to each other (loops) never resolve to a file.
	dir := t.TempDir()
	a, err := readSaved(bytes.NewReader(savedTar(t,
		entry{name: "a", typ: tar.TypeSymlink, link: "b"},
		entry{name: "b", typ: tar.TypeSymlink, link: "a"},
	)), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "a/manifest.json"} {
		if f, err := a.file(name); err == nil {
			t.Errorf("%s resolved to %s", name, f)
		}
	}
}
