package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type tarFile struct {
	name, body string
	mode       int64
	mtime      time.Time
}

func gzipTar(t testing.TB, files ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: f.mtime, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seedLayered stores an image of the given layers and config in repo and returns its digest.
func seedLayered(t *testing.T, f *fakeRegistry, repo string, cfg ocispec.Image, layers ...[]byte) digest.Digest {
	t.Helper()
	mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest}
	mf.SchemaVersion = 2
	for _, l := range layers {
		d := f.PutBlob(repo, l)
		d.MediaType = ocispec.MediaTypeImageLayerGzip
		mf.Layers = append(mf.Layers, d)
	}
	cdt, _ := json.Marshal(cfg)
	mf.Config = f.PutBlob(repo, cdt)
	mf.Config.MediaType = ocispec.MediaTypeImageConfig
	mdt, _ := json.Marshal(mf)
	return f.PutManifest(repo, "", ocispec.MediaTypeImageManifest, mdt).Digest
}

func TestDiffImagesNamesTheFileAndBothContents(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	epoch := time.Unix(1700000000, 0)
	base := gzipTar(t, tarFile{name: "etc/os", body: "debian", mode: 0o644, mtime: epoch})
	cfgA := ocispec.Image{Config: ocispec.ImageConfig{Env: []string{"A=1"}}}
	cfgB := ocispec.Image{Config: ocispec.ImageConfig{Env: []string{"A=2"}}}
	a := seedLayered(t, f, "app", cfgA, base, gzipTar(t,
		tarFile{name: "built", body: "Mon Dec 7", mode: 0o644, mtime: epoch},
		tarFile{name: "same", body: "x", mode: 0o644, mtime: epoch},
		tarFile{name: "only-a", body: "x", mode: 0o644, mtime: epoch}))
	b := seedLayered(t, f, "app", cfgB, base, gzipTar(t,
		tarFile{name: "built", body: "Tue Dec 8", mode: 0o600, mtime: epoch.Add(time.Second)},
		tarFile{name: "same", body: "x", mode: 0o644, mtime: epoch}))
	d, err := c.DiffImages(context.Background(), strings.TrimSuffix(f.Ref("app", ""), ":"), a, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Config) != 1 || d.Config[0].Field != "env" || !strings.Contains(d.Config[0].A, "A=1") || !strings.Contains(d.Config[0].B, "A=2") {
		t.Fatalf("config diff = %+v, want env A=1 vs A=2", d.Config)
	}
	if len(d.Files) != 2 {
		t.Fatalf("file diff = %+v, want /built and /only-a", d.Files)
	}
	built := d.Files[0]
	if built.Path != "/built" || strings.Join(built.Fields, ",") != "content,mode,mtime" || built.A.Layer != 2 {
		t.Fatalf("/built diff = %+v", built)
	}
	if built.A.Digest != digest.FromString("Mon Dec 7").String() || built.B.Digest != digest.FromString("Tue Dec 8").String() {
		t.Fatalf("/built digests = %s, %s", built.A.Digest, built.B.Digest)
	}
	if o := d.Files[1]; o.Path != "/only-a" || o.B != nil || o.Fields[0] != "missing" {
		t.Fatalf("/only-a diff = %+v", o)
	}
	// The limit keeps the first differences and counts the rest.
	d, err = c.DiffImages(context.Background(), strings.TrimSuffix(f.Ref("app", ""), ":"), a, b, 2)
	if err != nil || len(d.Config)+len(d.Files) != 2 || d.More != 1 {
		t.Fatalf("limited diff = %+v, %v; want 2 listed and 1 more", d, err)
	}
	// The same image twice differs in nothing, and no layer is read.
	d, err = c.DiffImages(context.Background(), strings.TrimSuffix(f.Ref("app", ""), ":"), a, a, 0)
	if err != nil || !d.Empty() {
		t.Fatalf("an image against itself = %+v, %v", d, err)
	}
}

func TestDiffImagesRefusesALayerThatIsNotItsDigest(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	good := gzipTar(t, tarFile{name: "a", body: "1", mode: 0o644})
	a := seedLayered(t, f, "app", ocispec.Image{}, good)
	b := seedLayered(t, f, "app", ocispec.Image{}, gzipTar(t, tarFile{name: "a", body: "2", mode: 0o644}))
	// The registry now answers the second layer with other bytes of the same size.
	var mf ocispec.Manifest
	_ = json.Unmarshal(f.Manifest("app", b), &mf)
	forged := bytes.Clone(good)
	f.SetHook(func(r *fakeReq) action {
		if r.Method == "GET" && strings.Contains(r.Path, mf.Layers[0].Digest.String()) {
			return action{Serve: func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(forged) }}
		}
		return action{}
	})
	_, err := c.DiffImages(context.Background(), strings.TrimSuffix(f.Ref("app", ""), ":"), a, b, 0)
	if err == nil || !strings.Contains(err.Error(), "layer 1") {
		t.Fatalf("a layer that is not its digest: %v, want an error naming layer 1", err)
	}
}

func TestReadLayerQuotesHostileNames(t *testing.T) {
	files, err := readLayer(bytes.NewReader(gzipTar(t, tarFile{name: "../../x\x1b[2J", body: "", mode: 0o644})), 1)
	if err != nil {
		t.Fatal(err)
	}
	for p := range files {
		if strings.ContainsRune(p, 0x1b) || !strings.HasPrefix(p, `"/x`) {
			t.Fatalf("path shown as %q", p)
		}
	}
}

func TestDiffConfigsNamesTheHistoryFieldThatDiffers(t *testing.T) {
	t1, t2 := time.Unix(1700000000, 5), time.Unix(1700000000, 0)
	a := image{config: ocispec.Image{Created: &t1, History: []ocispec.History{{CreatedBy: "FROM x"}, {Created: &t1, CreatedBy: "RUN date"}}}}
	b := image{config: ocispec.Image{Created: &t2, History: []ocispec.History{{CreatedBy: "FROM x"}, {Created: &t2, CreatedBy: "RUN date"}}}}
	var got []string
	for _, f := range diffConfigs(a, b) {
		got = append(got, f.Field)
	}
	if strings.Join(got, ",") != "created,history[1] created" {
		t.Fatalf("fields %v, want created and history[1] created", got)
	}
}
