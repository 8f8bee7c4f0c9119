package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
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
	files, err := readLayer(context.Background(), bytes.NewReader(gzipTar(t, tarFile{name: "../../x\x1b[2J", body: "", mode: 0o644})), 1)
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

// sparseTar is a tar whose one file is a PAX GNU sparse 1.0 file claiming 9e18 bytes of holes,
// ~2.5 KB in all: Go's tar reader makes up zeros for it without reading anything.
func sparseTar(t testing.TB) []byte {
	pax := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		n := len(s)
		for l := 0; l != n; {
			l, n = n, len(strconv.Itoa(n))+len(s)
		}
		return strconv.Itoa(n) + s
	}
	body := pax("GNU.sparse.major", "1") + pax("GNU.sparse.minor", "0") + pax("GNU.sparse.name", "holes") + pax("GNU.sparse.realsize", "9000000000000000000")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "pax", Size: int64(len(body)), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
	_, _ = tw.Write([]byte(body))
	_ = tw.WriteHeader(&tar.Header{Name: "holes", Size: 512, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
	_, _ = tw.Write(append([]byte("0\n"), make([]byte, 510)...)) // the sparse map: no data blocks
	_ = tw.Close()
	dt := buf.Bytes()
	dt[156] = 'x' // the first header becomes a PAX one
	sum := 0
	copy(dt[148:156], "        ")
	for _, b := range dt[:512] {
		sum += int(b)
	}
	copy(dt[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return dt
}

func TestReadLayerRefusesSparseFilesAndStopsWithItsContext(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := readLayer(context.Background(), bytes.NewReader(sparseTar(t)), 1)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "sparse") {
			t.Fatalf("a sparse file: %v, want it refused", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a 2.5 KB sparse layer is still being read after 5 s")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := gzipTar(t, tarFile{name: "a", body: strings.Repeat("x", 1<<20), mode: 0o644})
	if _, err := readLayer(ctx, bytes.NewReader(big), 1); err == nil {
		t.Fatal("a layer read on with its context ended")
	}
}

// What the typed config leaves out is compared too: BuildKit's inline cache, a healthcheck.
func TestDiffConfigsComparesKeysTheTypesLeaveOut(t *testing.T) {
	a := image{raw: rawKeys([]byte(`{"config":{"Env":["A=1"],"Healthcheck":{"Test":["CMD","true"]}},"moby.buildkit.cache.v0":"abc"}`))}
	b := image{raw: rawKeys([]byte(`{"config":{"Env":["A=1"]}}`))}
	var got []string
	for _, f := range diffConfigs(a, b) {
		got = append(got, f.Field)
	}
	if strings.Join(got, ",") != "config.Healthcheck,moby.buildkit.cache.v0" {
		t.Fatalf("fields %v", got)
	}
}
