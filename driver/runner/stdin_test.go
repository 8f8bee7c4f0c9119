package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
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
		if !bytes.Equal(s.tar, in) || s.dir != "" || o.ContextPath != "-" {
			t.Errorf("%s: the archive must go to BuildKit as it is, nothing extracted: dir %q, context %q", name, s.dir, o.ContextPath)
		}
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
	if s, err := readStdin(&o, nil); err != nil || s.tar != nil || s.dir != "" {
		t.Errorf("no stdin reader: %+v, %v", s, err)
	}
}
