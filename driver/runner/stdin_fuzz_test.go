package runner

// Fuzz target of the readers of a context archive given on standard input (stdin.go, bases.go):
// it is listed and read from, never extracted.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// maxStdinArchive bounds a fuzzed context archive: compressed, it may expand a thousandfold.
const maxStdinArchive = 4 << 10

func FuzzStdinArchive(f *testing.F) {
	plain := tarOfEntries(f,
		fuzzEntry{name: "Dockerfile", typ: tar.TypeReg, data: "FROM alpine\n"},
		fuzzEntry{name: "./Dockerfile.linux-arm64", typ: tar.TypeReg, data: "FROM arm64v8/alpine\n"},
		fuzzEntry{name: "src/", typ: tar.TypeDir},
		fuzzEntry{name: "src/main.go", typ: tar.TypeReg, data: "package main\n"},
		fuzzEntry{name: "link", typ: tar.TypeSymlink, link: "Dockerfile"},
		fuzzEntry{name: "../escape", typ: tar.TypeReg, data: "x"},
		fuzzEntry{name: "a/../Dockerfile.other", typ: tar.TypeReg, data: "x"},
		fuzzEntry{name: "/abs", typ: tar.TypeReg, data: "x"},
	)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	f.Add(plain)
	f.Add(gz.Bytes())
	f.Add([]byte("FROM alpine\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxStdinArchive {
			t.Skip()
		}
		for _, name := range rootFiles(bytes.NewReader(data)) {
			// A file at the archive's root, as BuildKit sees the context.
			if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
				t.Fatalf("root file %q", name)
			}
			dt, err := archiveFile(bytes.NewReader(data), name)
			if err == nil && len(dt) > 1<<20 {
				t.Fatalf("%s: read %d bytes, more than a Dockerfile's bound", name, len(dt))
			}
		}
	})
}
