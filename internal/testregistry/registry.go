// Package testregistry is the one fake registry of the unit tests: an in-memory OCI distribution
// registry over plain HTTP on 127.0.0.1 (blobs, monolithic and chunked uploads, manifests by tag and
// digest, tag deletes, referrers), with a hook that injects faults request by request (a status, a
// hang, a delay, a stall mid-upload, an answer of its own). Tests only: nothing of the product
// imports it.
package testregistry

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Registry is an in-memory OCI distribution registry served over plain HTTP on 127.0.0.1,
// with just what the client uses: manifests by tag or digest, tag deletion, blobs, monolithic and
// chunked uploads, cross-repository mounts. Every request goes through hook first, which may fail
// it, delay it, hang it or run something after it was served.
type Registry struct {
	t    testing.TB
	srv  *httptest.Server
	Host string // 127.0.0.1:PORT, the registry part of every reference

	closing chan struct{} // closed at cleanup: every hung handler returns

	mu          sync.Mutex
	manifests   map[string]map[digest.Digest]storedManifest // repo -> digest -> manifest
	tags        map[string]map[string]digest.Digest         // repo -> tag -> digest
	blobs       map[string]map[digest.Digest][]byte         // repo -> digest -> content
	uploads     map[string]*upload                          // uuid -> upload in progress
	noTagDelete bool                                        // DELETE of a tag answers 405 UNSUPPORTED
	referrers   bool                                        // serve the OCI 1.1 referrers API
	hook        func(*Request) Action
	log         []string // "METHOD /v2/...", every request served or failed
}

type storedManifest struct {
	mediaType string
	dt        []byte
}

type upload struct {
	repo string
	buf  bytes.Buffer
}

// Request is what a hook sees of a request.
type Request struct {
	Method string
	Path   string        // /v2/... without the query
	Repo   string        // "" for /v2/
	Kind   string        // "base", "manifest", "blob", "upload", "referrers", "other"
	Ref    string        // manifest tag or digest, blob digest, upload uuid
	Digest digest.Digest // a manifest PUT: the digest of its body; an upload PUT: its ?digest=
}

// IsTag reports whether the request addresses a manifest by tag.
func (r *Request) IsTag() bool {
	if r.Kind != "manifest" {
		return false
	}
	_, err := digest.Parse(r.Ref)
	return err != nil
}

// Action is what a hook wants done with a request; the zero Action serves it normally.
type Action struct {
	Status int           // fail the request with this status and an error body
	Hang   bool          // answer nothing until the client gives up (or the test ends)
	Delay  time.Duration // wait this long, then serve the request
	After  func()        // run after the request was served (successfully or not)
	// HangAfter reads this many bytes of a request body, then hangs (a registry that stops
	// reading in the middle of an upload).
	HangAfter int64
	// Serve answers the request in place of the fake (a hostile or broken registry's answer).
	Serve func(w http.ResponseWriter, r *http.Request)
}

func New(t testing.TB) *Registry {
	t.Helper()
	f := &Registry{
		t:         t,
		closing:   make(chan struct{}),
		manifests: map[string]map[digest.Digest]storedManifest{},
		tags:      map[string]map[string]digest.Digest{},
		blobs:     map[string]map[digest.Digest][]byte{},
		uploads:   map[string]*upload{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.Host = strings.TrimPrefix(f.srv.URL, "http://")
	t.Cleanup(func() {
		close(f.closing)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

// setHook replaces the fault hook (nil: serve every request normally).
func (f *Registry) SetHook(h func(*Request) Action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *Registry) SetNoTagDelete(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noTagDelete = v
}

// ref is a reference to repo:tag (or repo@digest when tag starts with "sha256:") on the fake.
func (f *Registry) Ref(repo, tag string) string {
	if strings.HasPrefix(tag, "sha256:") {
		return f.Host + "/" + repo + "@" + tag
	}
	return f.Host + "/" + repo + ":" + tag
}

// tagDigest is where a tag points in the registry's real state ("" when it does not exist).
func (f *Registry) TagDigest(repo, tag string) digest.Digest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tags[repo][tag]
}

// manifest is a manifest of a repository by digest, as stored (nil when absent).
func (f *Registry) Manifest(repo string, d digest.Digest) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.manifests[repo][d]
	if !ok {
		return nil
	}
	return m.dt
}

func (f *Registry) HasBlob(repo string, d digest.Digest) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.blobs[repo][d]
	return ok
}

// requests is the log of requests matching method and a path fragment.
func (f *Registry) Requests(method, pathContains string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.log {
		if strings.HasPrefix(l, method+" ") && strings.Contains(l, pathContains) {
			out = append(out, l)
		}
	}
	return out
}

// putManifest stores a manifest by digest (and sets tag, unless empty), as a client's PUT would.
func (f *Registry) PutManifest(repo, tag, mediaType string, dt []byte) ocispec.Descriptor {
	d := digest.FromBytes(dt)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.manifests[repo] == nil {
		f.manifests[repo] = map[digest.Digest]storedManifest{}
	}
	f.manifests[repo][d] = storedManifest{mediaType: mediaType, dt: dt}
	if tag != "" {
		f.setTagLocked(repo, tag, d)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(dt))}
}

// setTag points a tag at a manifest already stored, as another publisher would.
func (f *Registry) SetTag(repo, tag string, d digest.Digest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.manifests[repo][d]; !ok {
		f.t.Errorf("fake registry: setTag %s:%s to unknown manifest %s", repo, tag, d)
	}
	f.setTagLocked(repo, tag, d)
}

func (f *Registry) setTagLocked(repo, tag string, d digest.Digest) {
	if f.tags[repo] == nil {
		f.tags[repo] = map[string]digest.Digest{}
	}
	f.tags[repo][tag] = d
}

func (f *Registry) PutBlob(repo string, dt []byte) ocispec.Descriptor {
	d := digest.FromBytes(dt)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putBlobLocked(repo, d, dt)
	return ocispec.Descriptor{Digest: d, Size: int64(len(dt))}
}

func (f *Registry) putBlobLocked(repo string, d digest.Digest, dt []byte) {
	if f.blobs[repo] == nil {
		f.blobs[repo] = map[digest.Digest][]byte{}
	}
	f.blobs[repo][d] = dt
}

// seedImage stores a single-platform image in repo (config and one layer blob, then its OCI
// manifest by digest) and points tag at it unless tag is empty. The config carries the platform,
// as a manifest source's candidates read it; the returned descriptor has the platform set, as an
// index entry would.
func (f *Registry) SeedImage(repo, tag, platform string) ocispec.Descriptor {
	f.t.Helper()
	p, err := platforms.Parse(platform)
	if err != nil {
		f.t.Fatal(err)
	}
	layer := f.PutBlob(repo, []byte("layer of "+platform+" "+randHex(8)))
	layer.MediaType = ocispec.MediaTypeImageLayer
	cfg := ocispec.Image{Platform: p, RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}}}
	cdt, err := json.Marshal(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	config := f.PutBlob(repo, cdt)
	config.MediaType = ocispec.MediaTypeImageConfig
	mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: []ocispec.Descriptor{layer}}
	mf.SchemaVersion = 2
	mdt, err := json.Marshal(mf)
	if err != nil {
		f.t.Fatal(err)
	}
	desc := f.PutManifest(repo, tag, ocispec.MediaTypeImageManifest, mdt)
	desc.Platform = &p
	return desc
}

// seedIndex stores one image per platform in repo and an OCI index of them (with each entry's
// platform), pointed at by tag unless tag is empty.
func (f *Registry) SeedIndex(repo, tag string, plats ...string) ocispec.Descriptor {
	f.t.Helper()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for _, p := range plats {
		idx.Manifests = append(idx.Manifests, f.SeedImage(repo, "", p))
	}
	dt, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		f.t.Fatal(err)
	}
	return f.PutManifest(repo, tag, ocispec.MediaTypeImageIndex, dt)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Blob is a blob of repo, when the registry holds it.
func (f *Registry) Blob(repo string, d digest.Digest) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.blobs[repo][d]
	return b, ok
}

// ManifestOf is the manifest a reference without its host names (repo:tag or repo@digest), when
// the registry holds it.
func (f *Registry) ManifestOf(ref string) ([]byte, bool) {
	repo, d, ok := strings.Cut(ref, "@")
	if !ok {
		var tag string
		repo, tag, _ = strings.Cut(ref, ":")
		if d = string(f.TagDigest(repo, tag)); d == "" {
			return nil, false
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.manifests[repo][digest.Digest(d)]
	return m.dt, ok
}
