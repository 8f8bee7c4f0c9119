package runner

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A saved layer is pushed as the engine kept it when compressed (gzip, or zstd as a containerd
// store may hold it), gzip-compressed when not; its digest checked against diff_ids is always the
// uncompressed content's.
func TestLayerBlobCompressions(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("layer tar content "), 100)
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(content)
	gw.Close()
	zw, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(content)
	zw.Close()
	for name, tc := range map[string]struct {
		data      []byte
		mediaType string
		same      bool // the blob is the file itself
	}{
		"plain": {content, ocispec.MediaTypeImageLayerGzip, false},
		"gzip":  {gz.Bytes(), ocispec.MediaTypeImageLayerGzip, true},
		"zstd":  {zs.Bytes(), ocispec.MediaTypeImageLayerZstd, true},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, diff, err := layerBlob(path, dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff != digest.FromBytes(content) || b.Desc.MediaType != tc.mediaType || (b.Path == path) != tc.same {
			t.Errorf("%s: diff %s, blob %+v", name, diff, b)
		}
	}
}
