package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStdinContext(t *testing.T) {
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	for name, data := range map[string]string{"Dockerfile.linux-arm64": "FROM scratch\n", "sub/file": "x"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()

	for name, in := range map[string][]byte{"tar": plain.Bytes(), "tar.gz": gz.Bytes()} {
		dir, err := stdinContext(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer os.RemoveAll(dir)
		if b, err := os.ReadFile(filepath.Join(dir, "sub", "file")); err != nil || string(b) != "x" {
			t.Errorf("%s: sub/file = %q, %v", name, b, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "Dockerfile.linux-arm64")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	dir, err := stdinContext(strings.NewReader("FROM scratch\nCOPY a b\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); string(b) != "FROM scratch\nCOPY a b\n" {
		t.Errorf("Dockerfile from stdin = %q", b)
	}

	if _, err := stdinContext(strings.NewReader("  \n")); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty stdin: %v", err)
	}
	var evil bytes.Buffer
	tw = tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	if _, err := stdinContext(bytes.NewReader(evil.Bytes())); err == nil || !strings.Contains(err.Error(), "unsafe") {
		t.Errorf("a path out of the context: %v", err)
	}
}
