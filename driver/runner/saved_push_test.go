package runner

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/testregistry"
)

// layerTar is a layer: a tar holding one file.
func layerTar(t *testing.T, name, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(data))
	tw.Close()
	return b.Bytes()
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// savedImage is a `docker save` archive: layer 0 stored uncompressed, layer 1 gzip-compressed,
// layer 2 the same content as layer 0 stored as a symlink to it; diffIDs are the config's (nil:
// the layers' real ones).
type savedImage struct {
	layers  [][]byte // uncompressed
	diffIDs []digest.Digest
	config  []byte
	archive []byte
}

func dockerSave(t *testing.T, diffIDs []digest.Digest, images int) savedImage {
	t.Helper()
	return dockerSaveOf(t, ocispec.Platform{OS: "windows", Architecture: "amd64"}, diffIDs, images)
}

// dockerSaveOf is dockerSave of an image of platform.
func dockerSaveOf(t *testing.T, platform ocispec.Platform, diffIDs []digest.Digest, images int) savedImage {
	t.Helper()
	l0, l1 := layerTar(t, "a.txt", "layer a"), layerTar(t, "b.txt", "layer b")
	s := savedImage{layers: [][]byte{l0, l1, l0}, diffIDs: diffIDs}
	if s.diffIDs == nil {
		s.diffIDs = []digest.Digest{digest.FromBytes(l0), digest.FromBytes(l1), digest.FromBytes(l0)}
	}
	img := ocispec.Image{Platform: platform, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: s.diffIDs}}
	s.config, _ = json.Marshal(img)
	cfgName := "blobs/sha256/" + digest.FromBytes(s.config).Encoded()
	gz1 := gzipped(t, l1)
	layers := []string{"l0/layer.tar", "blobs/sha256/" + digest.FromBytes(gz1).Encoded(), "l2/layer.tar"}
	var manifest []map[string]any
	for range images {
		manifest = append(manifest, map[string]any{"Config": cfgName, "RepoTags": nil, "Layers": layers})
	}
	mf, _ := json.Marshal(manifest)
	s.archive = savedTar(t,
		entry{name: "blobs/", typ: tar.TypeDir},
		entry{name: "blobs/sha256/", typ: tar.TypeDir},
		entry{name: cfgName, typ: tar.TypeReg, data: string(s.config)},
		entry{name: "l0/layer.tar", typ: tar.TypeReg, data: string(l0)},
		entry{name: layers[1], typ: tar.TypeReg, data: string(gz1)},
		entry{name: "l2/layer.tar", typ: tar.TypeSymlink, link: "../l0/layer.tar"},
		entry{name: "manifest.json", typ: tar.TypeReg, data: string(mf)},
	)
	return s
}

func TestPushSavedPushesByDigestToEveryRepository(t *testing.T) {
	reg := testregistry.New(t)
	s := dockerSave(t, nil, 1)
	a, err := readSaved(bytes.NewReader(s.archive), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repos := []string{reg.Host + "/team/app", reg.Host + "/mirror/app"}
	desc, err := pushSaved(t.Context(), registryClient(t), a, repos)
	if err != nil {
		t.Fatal(err)
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest || desc.Size == 0 {
		t.Errorf("descriptor %+v", desc)
	}
	for _, repo := range []string{"team/app", "mirror/app"} {
		dt, ok := reg.ManifestOf(repo + "@" + desc.Digest.String())
		if !ok || digest.FromBytes(dt) != desc.Digest || int64(len(dt)) != desc.Size {
			t.Fatalf("%s: manifest by digest %v", repo, ok)
		}
		var mf ocispec.Manifest
		if err := json.Unmarshal(dt, &mf); err != nil {
			t.Fatal(err)
		}
		if mf.SchemaVersion != 2 || mf.MediaType != ocispec.MediaTypeImageManifest || mf.Config.Digest != digest.FromBytes(s.config) || mf.Config.MediaType != ocispec.MediaTypeImageConfig {
			t.Errorf("%s: manifest %+v", repo, mf)
		}
		if cfg, ok := reg.Blob(repo, mf.Config.Digest); !ok || !bytes.Equal(cfg, s.config) {
			t.Errorf("%s: config blob %v", repo, ok)
		}
		if len(mf.Layers) != 3 {
			t.Fatalf("%s: %d layers", repo, len(mf.Layers))
		}
		for i, l := range mf.Layers {
			blob, ok := reg.Blob(repo, l.Digest)
			if !ok || l.MediaType != ocispec.MediaTypeImageLayerGzip || int64(len(blob)) != l.Size {
				t.Errorf("%s: layer %d %+v in the registry: %v", repo, i, l, ok)
				continue
			}
			zr, err := gzip.NewReader(bytes.NewReader(blob))
			if err != nil {
				t.Fatalf("%s: layer %d is not gzip: %v", repo, i, err)
			}
			raw, _ := io.ReadAll(zr)
			if digest.FromBytes(raw) != s.diffIDs[i] {
				t.Errorf("%s: layer %d uncompresses to %s, not its diff_id", repo, i, digest.FromBytes(raw))
			}
		}
		if mf.Layers[0].Digest != mf.Layers[2].Digest {
			t.Errorf("%s: the linked layer differs from its target", repo)
		}
	}
	for _, r := range reg.Requests("PUT", "/manifests/") {
		if strings.Contains(r, "/manifests/") && !strings.Contains(r, "/manifests/sha256:") {
			t.Errorf("a tag was written: %s", r)
		}
	}
}

func TestPushSavedRefusesALayerItsConfigDoesNotName(t *testing.T) {
	other := digest.FromString("another platform's layer")
	good := dockerSave(t, nil, 1)
	for _, tc := range []struct {
		name  string
		save  savedImage
		wants []string
	}{
		{"layer 1 swapped", dockerSave(t, []digest.Digest{good.diffIDs[0], other, good.diffIDs[2]}, 1),
			[]string{"layer 1", good.diffIDs[1].String(), "not the layer its config names", other.String()}},
		{"the linked layer swapped", dockerSave(t, []digest.Digest{good.diffIDs[0], good.diffIDs[1], other}, 1),
			[]string{"layer 2", other.String()}},
		{"fewer diff_ids", dockerSave(t, good.diffIDs[:2], 1), []string{"3 layers for 2 in its config"}},
		{"two images", dockerSave(t, nil, 2), []string{"holds 2 images, want 1"}},
	} {
		a, err := readSaved(bytes.NewReader(tc.save.archive), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		// A nil registry client: the check must refuse before anything is pushed.
		_, err = pushSaved(t.Context(), nil, a, []string{"127.0.0.1:1/never"})
		for _, w := range tc.wants {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: err %v, want it to name %q", tc.name, err, w)
			}
		}
	}
}

func TestPushSavedRefusesBrokenArchives(t *testing.T) {
	cfg := `{"rootfs":{"type":"layers","diff_ids":["` + digest.FromString("x").String() + `"]}}`
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"no manifest.json", []entry{{name: "index.json", typ: tar.TypeReg, data: "{}"}}, "manifest.json is not in the saved image"},
		// The JSON errors name the file's name in the temp dir, not its path in the archive
		// (readJSON takes the file's base name): only the failure is asserted here.
		{"manifest.json not JSON", []entry{{name: "manifest.json", typ: tar.TypeReg, data: "{"}}, "JSON"},
		{"config missing", []entry{{name: "manifest.json", typ: tar.TypeReg, data: `[{"Config":"cfg.json","Layers":[]}]`}}, "cfg.json is not in the saved image"},
		{"config not JSON", []entry{
			{name: "manifest.json", typ: tar.TypeReg, data: `[{"Config":"cfg.json","Layers":[]}]`},
			{name: "cfg.json", typ: tar.TypeReg, data: "nope"},
		}, "invalid character"},
		{"layer missing", []entry{
			{name: "manifest.json", typ: tar.TypeReg, data: `[{"Config":"cfg.json","Layers":["l/layer.tar"]}]`},
			{name: "cfg.json", typ: tar.TypeReg, data: cfg},
		}, "l/layer.tar is not in the saved image"},
		{"layer a broken gzip", []entry{
			{name: "manifest.json", typ: tar.TypeReg, data: `[{"Config":"cfg.json","Layers":["l/layer.tar"]}]`},
			{name: "cfg.json", typ: tar.TypeReg, data: cfg},
			{name: "l/layer.tar", typ: tar.TypeReg, data: string(gzipped(t, []byte("layer content"))[:20])},
		}, "layer"},
	} {
		a, err := readSaved(bytes.NewReader(savedTar(t, tc.entries...)), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pushSaved(t.Context(), nil, a, []string{"127.0.0.1:1/never"}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestLayerBlob(t *testing.T) {
	dir := t.TempDir()
	raw := layerTar(t, "f", "content")
	plain := filepath.Join(dir, "plain")
	compressed := filepath.Join(dir, "compressed")
	os.WriteFile(plain, raw, 0o600)
	os.WriteFile(compressed, gzipped(t, raw), 0o600)

	b, diffID, err := layerBlob(plain, dir)
	if err != nil || diffID != digest.FromBytes(raw) {
		t.Fatalf("uncompressed: %s, %v", diffID, err)
	}
	if b.Path == plain || filepath.Dir(b.Path) != dir || b.Desc.MediaType != ocispec.MediaTypeImageLayerGzip {
		t.Errorf("uncompressed: blob %+v, want a gzip file of its own in %s", b, dir)
	}
	dt, _ := os.ReadFile(b.Path)
	if digest.FromBytes(dt) != b.Desc.Digest || int64(len(dt)) != b.Desc.Size {
		t.Errorf("uncompressed: the descriptor %+v does not describe the file", b.Desc)
	}
	if zr, err := gzip.NewReader(bytes.NewReader(dt)); err != nil {
		t.Errorf("uncompressed: blob not gzip: %v", err)
	} else if got, _ := io.ReadAll(zr); !bytes.Equal(got, raw) {
		t.Error("uncompressed: the blob does not hold the layer")
	}

	b, diffID, err = layerBlob(compressed, dir)
	if err != nil || diffID != digest.FromBytes(raw) {
		t.Fatalf("compressed: %s, %v", diffID, err)
	}
	dt, _ = os.ReadFile(compressed)
	if b.Path != compressed || b.Desc.Digest != digest.FromBytes(dt) || b.Desc.Size != int64(len(dt)) {
		t.Errorf("compressed: blob %+v, want the file as it is", b)
	}

	if _, _, err := layerBlob(filepath.Join(dir, "missing"), dir); err == nil {
		t.Error("a missing layer file was accepted")
	}
	if _, err := blobOf(filepath.Join(dir, "missing"), ocispec.MediaTypeImageConfig); err == nil {
		t.Error("a missing blob file was accepted")
	}
}
