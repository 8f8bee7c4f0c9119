package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Issue 19, case 8: what a registry answers is read within a cap and checked against its digest:
// a manifest larger than 4 MiB (announced or not), one whose bytes are not its digest's, or one
// shorter than announced is an error naming the reference, never read whole into memory.
func TestRegistryReadsAreBoundedAndChecked(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	idx := f.SeedIndex("app", "v1", "linux/amd64")
	real := f.Manifest("app", idx.Digest)
	huge := bytes.Repeat([]byte(" "), MaxManifestSize+10)
	forged := bytes.Replace(real, []byte("amd64"), []byte("arm64"), 1)
	answer := func(head http.Header, body []byte, length int) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			for k, v := range head {
				w.Header()[k] = v
			}
			if length >= 0 {
				w.Header().Set("Content-Length", strconv.Itoa(length))
			}
			w.WriteHeader(http.StatusOK)
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
		}
	}
	honest := http.Header{"Content-Type": {idx.MediaType}, "Docker-Content-Digest": {idx.Digest.String()}}
	for name, tc := range map[string]struct {
		get  func(w http.ResponseWriter, r *http.Request) // the GET's answer (the HEAD is honest)
		want string
	}{
		"more than 4 MiB, unannounced": {answer(honest, huge, -1), ""}, // containerd holds it to the HEAD's size
		"more than announced":          {answer(honest, append(bytes.Clone(real), huge...), len(real)), ""},
		"not its digest":               {answer(honest, forged, len(forged)), "digest is " + digest.FromBytes(forged).String()},
		"shorter than announced":       {answer(honest, real[:len(real)-1], len(real)-1), "not the " + strconv.Itoa(len(real))},
	} {
		t.Run(name, func(t *testing.T) {
			f.SetHook(func(r *fakeReq) action {
				if r.Kind == "manifest" && r.Method == http.MethodGet {
					return action{Serve: tc.get}
				}
				return action{}
			})
			_, _, err := c.get(context.Background(), f.Ref("app", "v1"))
			if err == nil || !strings.Contains(err.Error(), "GET app:v1") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming app:v1 and %q", err, tc.want)
			}
		})
	}
	t.Run("announced larger than 4 MiB", func(t *testing.T) {
		f.SetHook(func(r *fakeReq) action {
			if r.Kind == "manifest" {
				return action{Serve: answer(honest, nil, MaxManifestSize+1)}
			}
			return action{}
		})
		_, _, err := c.get(context.Background(), f.Ref("app", "v1"))
		if err == nil || !strings.Contains(err.Error(), "app:v1") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("a descriptor a hostile index sizes at 1 GiB", func(t *testing.T) {
		f.SetHook(func(r *fakeReq) action {
			if r.Kind == "manifest" && r.Method == http.MethodGet {
				return action{Serve: answer(honest, huge, -1)}
			}
			return action{}
		})
		before := len(f.Requests("GET", "/app/manifests/"))
		d := idx
		d.Size = 1 << 30
		_, err := c.getDescriptor(context.Background(), f.locs("app", "v1")[0], d, MaxManifestSize)
		if err == nil || !strings.Contains(err.Error(), "more than the 4 MiB") || !strings.Contains(err.Error(), "app@"+idx.Digest.String()) {
			t.Errorf("err = %v", err)
		}
		if after := len(f.Requests("GET", "/app/manifests/")); after != before {
			t.Errorf("%d GETs were sent for it, want none", after-before)
		}
		d.Size = 0 // a size of 0: nothing read, and nothing is not its digest
		if _, err := c.getDescriptor(context.Background(), f.locs("app", "v1")[0], d, MaxManifestSize); err == nil {
			t.Error("a descriptor of size 0 gave content")
		}
	})
	f.SetHook(nil)
	if dt, _, err := c.get(context.Background(), f.Ref("app", "v1")); err != nil || !bytes.Equal(dt, real) {
		t.Errorf("an honest registry: %v", err)
	}
}

// A source index that sizes a platform's manifest at 64 GiB (or 0) is refused, naming the source,
// before anything is copied: a copy allocates the size an index claims (found by review).
func TestMergeRefusesAChildSizedPastAManifest(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	amd64 := f.SeedImage("src", "", "linux/amd64")
	for name, size := range map[string]int64{"64 GiB": 64 << 30, "zero": 0, "negative": -1} {
		t.Run(name, func(t *testing.T) {
			d := amd64
			d.Size = size
			idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{d}}
			dt, err := json.Marshal(idx)
			if err != nil {
				t.Fatal(err)
			}
			f.PutManifest("src", "hostile", ocispec.MediaTypeImageIndex, dt)
			_, err = c.Merge(context.Background(), MergeOptions{Tags: []string{f.Ref("app", "v1")}, Sources: []string{f.Ref("src", "hostile")}})
			if err == nil || !strings.Contains(err.Error(), "source "+f.Ref("src", "hostile")) || !strings.Contains(err.Error(), "a manifest is 1 byte to 4 MiB") {
				t.Errorf("err = %v", err)
			}
			if got := f.TagDigest("app", "v1"); got != "" {
				t.Errorf("app:v1 was written: %s", got)
			}
		})
	}
}

// An image config is read within 8 MiB: a manifest that sizes its config past that is refused
// before the config is fetched, naming the config (a single image's platform comes from it).
func TestImageConfigIsReadWithin8MiB(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	cfg := f.PutBlob("app", []byte(`{"os":"windows","architecture":"amd64","os.version":"10.0.20348.1"}`))
	cfg.MediaType, cfg.Size = ocispec.MediaTypeImageConfig, MaxConfigSize+1
	mf := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest, Config: cfg}
	dt, err := json.Marshal(mf)
	if err != nil {
		t.Fatal(err)
	}
	f.PutManifest("app", "win", ocispec.MediaTypeImageManifest, dt)
	before := len(f.Requests("GET", "/app/blobs/"))
	_, err = c.Inspect(context.Background(), f.Ref("app", "win"))
	if err == nil || !strings.Contains(err.Error(), "config "+cfg.Digest.String()) || !strings.Contains(err.Error(), "more than the 8 MiB") {
		t.Errorf("err = %v", err)
	}
	if after := len(f.Requests("GET", "/app/blobs/")); after != before {
		t.Errorf("the config was fetched (%d GETs)", after-before)
	}
}
