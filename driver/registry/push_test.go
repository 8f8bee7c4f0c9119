package registry

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// blobFile writes size random bytes to a file and describes it as a layer.
func blobFile(t *testing.T, size int) Blob {
	t.Helper()
	dt := make([]byte, size)
	_, _ = rand.Read(dt)
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, dt, 0o600); err != nil {
		t.Fatal(err)
	}
	return Blob{Path: path, Desc: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(dt), Size: int64(size)}}
}

// imageFiles is an image to push: a layer of layerSize bytes, its config, and its manifest.
func imageFiles(t *testing.T, layerSize int) ([]Blob, ocispec.Descriptor, []byte) {
	t.Helper()
	layer := blobFile(t, layerSize)
	cdt, _ := json.Marshal(ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Desc.Digest}}})
	cpath := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cpath, cdt, 0o600); err != nil {
		t.Fatal(err)
	}
	config := Blob{Path: cpath, Desc: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cdt), Size: int64(len(cdt))}}
	mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config.Desc, Layers: []ocispec.Descriptor{layer.Desc}}
	mf.SchemaVersion = 2
	mdt, _ := json.Marshal(mf)
	return []Blob{layer, config}, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mdt), Size: int64(len(mdt))}, mdt
}

func TestPushBlobStalls(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name string
		size int
		act  func(*fakeReq) action
	}{
		{"the upload is never started", 64 << 10, func(r *fakeReq) action {
			return action{Hang: r.Kind == "upload" && r.Method == http.MethodPost}
		}},
		{"the upload is never answered", 64 << 10, func(r *fakeReq) action {
			return action{Hang: r.Kind == "upload" && r.Method == http.MethodPut}
		}},
		{"the registry stops reading in the middle of the blob", 16 << 20, func(r *fakeReq) action {
			if r.Kind == "upload" && r.Method == http.MethodPut {
				return action{HangAfter: 256 << 10}
			}
			return action{}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			c := newTestClient(t, timeout)
			b := blobFile(t, tc.size)
			f.SetHook(tc.act)
			loc, err := imagetools.ParseLocation(f.Host + "/app")
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = c.pushBlob(context.Background(), loc, b)
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("pushBlob returned after %s with a %s timeout", took, timeout)
			}
			if err == nil {
				t.Fatal("pushBlob succeeded while the registry hung")
			}
			wantLines(t, err, "registry "+f.Host+": pushing blob "+b.Desc.Digest.String()+" to app: ", "no progress for 300ms")
			if f.HasBlob("app", b.Desc.Digest) {
				t.Error("the blob is in the registry")
			}
		})
	}
}

func TestPushImageSlowButSteady(t *testing.T) {
	// A second of allowed silence, each answer a third of it late: a loaded CI machine running
	// -race moves 512 KiB over loopback well within the other two thirds.
	const timeout = time.Second
	f := newFakeRegistry(t)
	c := newTestClient(t, timeout)
	blobs, mf, mdt := imageFiles(t, 512<<10)
	// every answer takes a third of the timeout: the push as a whole takes several timeouts, each
	// step well within one (over loopback the kernel takes a blob in at once; a link slower than
	// the writes is TestStallWatchLetsASlowMovingTransferGoOn)
	f.SetHook(func(r *fakeReq) action { return action{Delay: timeout / 3} })
	start := time.Now()
	if err := c.PushImage(context.Background(), []string{f.Host + "/app", f.Host + "/mirror/app"}, blobs, mf, mdt); err != nil {
		t.Fatalf("a slow but steady push failed after %s: %v", time.Since(start), err)
	}
	if took := time.Since(start); took < 2*timeout {
		t.Errorf("the push took %s: not slow enough to prove anything", took)
	}
	for _, repo := range []string{"app", "mirror/app"} {
		for _, b := range blobs {
			if !f.HasBlob(repo, b.Desc.Digest) {
				t.Errorf("%s lacks blob %s", repo, b.Desc.Digest)
			}
		}
		if f.Manifest(repo, mf.Digest) == nil {
			t.Errorf("%s lacks the manifest", repo)
		}
	}
	if puts := f.Requests("PUT", "/manifests/sha256:"); len(puts) != 2 {
		t.Errorf("manifest PUTs %v, want one by digest per repository", puts)
	}
	if tags := f.Requests("PUT", "/manifests/"); len(tags) != 2 {
		t.Errorf("PushImage wrote a tag: %v", tags)
	}
}

func TestPushImageManifestPutHangs(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := newFakeRegistry(t)
	c := newTestClient(t, timeout)
	blobs, mf, mdt := imageFiles(t, 4<<10)
	f.SetHook(func(r *fakeReq) action { return action{Hang: r.Kind == "manifest" && r.Method == http.MethodPut} })
	start := time.Now()
	err := c.PushImage(context.Background(), []string{f.Host + "/app"}, blobs, mf, mdt)
	if took := time.Since(start); took > timeout+time.Second {
		t.Errorf("PushImage returned after %s with a %s timeout", took, timeout)
	}
	if err == nil || !strings.Contains(err.Error(), "registry "+f.Host+": PUT app@"+mf.Digest.String()+": no answer within 300ms") {
		t.Fatalf("err = %v", err)
	}
	if f.Manifest("app", mf.Digest) != nil {
		t.Error("the manifest is in the registry")
	}
}
