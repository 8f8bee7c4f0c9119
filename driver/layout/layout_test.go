package layout

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

type entry struct {
	name, body string
	link       bool
}

func archive(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		if e.link {
			h = &tar.Header{Name: e.name, Linkname: e.body, Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if !e.link {
			_, _ = tw.Write([]byte(e.body))
		}
	}
	_ = tw.Close()
	p := filepath.Join(t.TempDir(), "layout.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A BuildKit layout unpacks to its blobs and its one image; a hostile one is refused, and nothing
// but checked blobs is ever written.
func TestUnpackAndImage(t *testing.T) {
	blob := "image manifest"
	d := digest.FromString(blob)
	index := `{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"` + d.String() + `","size":14}]}`
	blobs := filepath.Join(t.TempDir(), "blobs")
	idx, err := Unpack(archive(t, entry{name: "oci-layout", body: "{}"}, entry{name: "index.json", body: index},
		entry{name: "blobs/sha256/" + d.Encoded(), body: blob}, entry{name: "blobs/sha256/" + d.Encoded(), body: blob},
		entry{name: "../escape", body: "x"}, entry{name: "blobs/sha256/link", body: "/etc/passwd", link: true}), blobs)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := Image(idx); err != nil || img.Digest != d {
		t.Errorf("Image = %v, %v", img, err)
	}
	if names, _ := os.ReadDir(blobs); len(names) != 1 || names[0].Name() != d.Encoded() {
		t.Errorf("blobs written: %v", names)
	}
	for name, tc := range map[string]struct {
		entries []entry
		want    string
	}{
		"not its digest":  {[]entry{{name: "index.json", body: index}, {name: "blobs/sha256/" + d.Encoded(), body: "other"}}, "does not hold that digest"},
		"not a digest":    {[]entry{{name: "index.json", body: index}, {name: "blobs/sha256/zz", body: "x"}}, "not named by a sha256 digest"},
		"no index.json":   {[]entry{{name: "oci-layout", body: "{}"}}, "no index.json"},
		"huge index.json": {[]entry{{name: "index.json", body: strings.Repeat(" ", maxIndex+1)}}, "larger than 4 MiB"},
	} {
		if _, err := Unpack(archive(t, tc.entries...), filepath.Join(t.TempDir(), "blobs")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	for name, tc := range map[string]struct{ index, want string }{
		"two images":        {`{"manifests":[{"digest":"` + d.String() + `"},{"digest":"` + digest.FromString("b").String() + `"}]}`, "several images"},
		"a path for a name": {`{"manifests":[{"digest":"sha256:../../../../etc/hostname"}]}`, "not a sha256 digest"},
		"none":              {`{"manifests":[]}`, "names no image"},
	} {
		if _, err := Image([]byte(tc.index)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
