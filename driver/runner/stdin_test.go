package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(data))
	}
	tw.Close()
	return b.Bytes()
}

// stdinArchive is a context archive read from stdin, in its temp file.
func stdinArchive(t *testing.T, archive []byte) *stdinInput {
	t.Helper()
	s, err := readStdin(&Options{ContextPath: "-"}, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.cleanup)
	return s
}

func TestReadStdinStreamsAContextArchive(t *testing.T) {
	plain := tarOf(t, map[string]string{"Dockerfile.linux-arm64": "FROM scratch\n", "sub/file": "x", "../escape": "x"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	for name, in := range map[string][]byte{"tar": plain, "tar.gz": gz.Bytes()} {
		o := Options{ContextPath: "-"}
		s, err := readStdin(&o, bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kept, err := os.ReadFile(s.tar)
		if err != nil || !bytes.Equal(kept, in) || o.ContextPath != "-" || filepath.Dir(s.tar) != s.dir {
			t.Errorf("%s: the archive must go to BuildKit as it is, nothing extracted: %v, context %q", name, err, o.ContextPath)
		}
		if entries, _ := os.ReadDir(s.dir); len(entries) != 1 {
			t.Errorf("%s: the stdin folder holds %d entries, want only the archive", name, len(entries))
		}
		s.cleanup()
		if !slices.Equal(s.names, []string{"Dockerfile.linux-arm64"}) {
			t.Errorf("%s: root files %v", name, s.names)
		}
	}
}

func TestReadStdinDockerfiles(t *testing.T) {
	const df = "FROM scratch\nCOPY a b\n"
	o := Options{ContextPath: "-"}
	s, err := readStdin(&o, strings.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	defer s.cleanup()
	if b, _ := os.ReadFile(filepath.Join(o.ContextPath, "Dockerfile")); string(b) != df {
		t.Errorf("build -: Dockerfile %q in %s", b, o.ContextPath)
	}

	o = Options{ContextPath: ".", File: "-"}
	s2, err := readStdin(&o, strings.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(o.File); string(b) != df {
		t.Errorf("-f -: %q from %s", b, o.File)
	}
	s2.cleanup()
	if _, err := os.Stat(o.File); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s", o.File)
	}

	given := []string{"linux/amd64=Dockerfile.x", "linux/arm64=-"}
	o = Options{ContextPath: ".", FileFor: given}
	s3, err := readStdin(&o, strings.NewReader(df))
	if err != nil {
		t.Fatal(err)
	}
	defer s3.cleanup()
	if o.FileFor[0] != "linux/amd64=Dockerfile.x" || !strings.HasPrefix(o.FileFor[1], "linux/arm64="+s3.dir) || given[1] != "linux/arm64=-" {
		t.Errorf("--file-for: %v (given %v)", o.FileFor, given)
	}
}

func TestReadStdinRefuses(t *testing.T) {
	for _, tc := range []struct {
		o     Options
		in    string
		wants []string
	}{
		{Options{ContextPath: "-", File: "-"}, "FROM scratch\n", []string{"only once", "-f -", "build context"}},
		{Options{ContextPath: ".", File: "-", FileFor: []string{"linux/arm64=-"}}, "FROM scratch\n", []string{"--file-for linux/arm64=-"}},
		{Options{ContextPath: "-", File: "Dockerfile.other"}, "FROM scratch\n", []string{"Dockerfile.other"}},
		{Options{ContextPath: "-"}, "  \n", []string{"empty"}},
	} {
		o := tc.o
		_, err := readStdin(&o, strings.NewReader(tc.in))
		for _, w := range tc.wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: err %v, want it to name %q", tc.o, err, w)
			}
		}
	}
	o := Options{ContextPath: "."}
	if s, err := readStdin(&o, nil); err != nil || s.tar != "" || s.dir != "" {
		t.Errorf("no stdin reader: %+v, %v", s, err)
	}
}

// A Dockerfile on stdin is read within 16 MiB; a context archive of any size goes to a file, not
// into memory, as it is (issue 19: stdin is untrusted and unbounded).
func TestReadStdinBounds(t *testing.T) {
	huge := bytes.Repeat([]byte("# comment\n"), (maxStdinDockerfile/10)+1)
	if _, err := readStdin(&Options{ContextPath: "-"}, bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("a 16 MiB Dockerfile: %v", err)
	}
	big := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n", "blob": strings.Repeat("x", maxStdinDockerfile+1)})
	s, err := readStdin(&Options{ContextPath: "-"}, bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	defer s.cleanup()
	if st, err := os.Stat(s.tar); err != nil || st.Size() != int64(len(big)) || !slices.Contains(s.names, "Dockerfile") {
		t.Errorf("a %d-byte archive: %v, %v", len(big), st, err)
	}
}

// brokenReader gives data, then fails: stdin cut off mid-archive.
type brokenReader struct{ data []byte }

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, errors.New("connection reset")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// A context archive cut off mid-read fails the build and leaves no partial copy behind.
func TestBuildFromAStdinCutOffLeavesNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	archive := tarOf(t, map[string]string{"Dockerfile": "FROM scratch\n", "big": strings.Repeat("x", 4096)})
	_, err := (&Runner{}).Build(t.Context(), Options{ContextPath: "-"}, &brokenReader{data: archive[:2048]}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
}
