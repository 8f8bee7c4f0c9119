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
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// ---- the HTTP side ----

func (f *Registry) serve(w http.ResponseWriter, r *http.Request) {
	req := parseRequest(r)
	var body []byte
	if r.Method == http.MethodPut && req.Kind == "manifest" {
		// a manifest is small: read it first, so that the hook knows what is being written
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, 4<<20)); err != nil {
			return
		}
		req.Digest = digest.FromBytes(body)
	}
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	hook := f.hook
	f.mu.Unlock()
	var act Action
	if hook != nil {
		act = hook(req)
	}
	if act.After != nil {
		defer act.After()
	}
	if act.Delay > 0 {
		select {
		case <-time.After(act.Delay):
		case <-r.Context().Done():
			return
		case <-f.closing:
			return
		}
	}
	if act.Hang {
		// take in the body, as a registry does before it answers, then answer nothing
		go func() { _, _ = io.Copy(io.Discard, r.Body) }()
		f.hang(r)
		return
	}
	if act.Status != 0 {
		writeError(w, act.Status, "UNKNOWN", "injected failure")
		return
	}
	if act.Serve != nil {
		act.Serve(w, r)
		return
	}
	if body == nil && r.Body != nil && act.HangAfter > 0 {
		r.Body = io.NopCloser(&stoppingReader{f: f, r: r, body: r.Body, hangAfter: act.HangAfter})
	}
	f.handle(w, r, req, body)
}

// hang answers nothing until the client goes away or the test ends.
func (f *Registry) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-f.closing:
	}
}

// stoppingReader reads a request body up to hangAfter bytes, then hangs.
type stoppingReader struct {
	f         *Registry
	r         *http.Request
	body      io.Reader
	hangAfter int64
	n         int64
}

func (p *stoppingReader) Read(b []byte) (int, error) {
	if p.n >= p.hangAfter {
		p.f.hang(p.r)
		return 0, fmt.Errorf("fake registry: stopped reading")
	}
	if int64(len(b)) > p.hangAfter-p.n {
		b = b[:p.hangAfter-p.n]
	}
	n, err := p.body.Read(b)
	p.n += int64(n)
	return n, err
}

func parseRequest(r *http.Request) *Request {
	p := r.URL.Path
	req := &Request{Method: r.Method, Path: p, Kind: "other"}
	if p == "/v2/" || p == "/v2" {
		req.Kind = "base"
		return req
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return req
	}
	for _, k := range []struct{ sep, kind string }{
		{"/blobs/uploads", "upload"}, {"/manifests/", "manifest"}, {"/blobs/", "blob"}, {"/referrers/", "referrers"},
	} {
		if i := strings.LastIndex(rest, k.sep); i > 0 {
			req.Repo, req.Kind = rest[:i], k.kind
			req.Ref = strings.TrimPrefix(strings.TrimPrefix(rest[i+len(k.sep):], "/"), "/")
			break
		}
	}
	if req.Kind == "upload" && r.Method == http.MethodPut {
		req.Digest = digest.Digest(r.URL.Query().Get("digest"))
	}
	return req
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func (f *Registry) handle(w http.ResponseWriter, r *http.Request, req *Request, body []byte) {
	switch req.Kind {
	case "base":
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.WriteHeader(http.StatusOK)
	case "manifest":
		f.handleManifest(w, r, req, body)
	case "blob":
		f.handleBlob(w, r, req)
	case "upload":
		f.handleUpload(w, r, req)
	default: // referrers and anything else: not here
		writeError(w, http.StatusNotFound, "NOT_FOUND", "not found")
	}
}

// lookup resolves a tag or digest of repo (under f.mu).
func (f *Registry) lookupLocked(repo, ref string) (digest.Digest, storedManifest, bool) {
	d, err := digest.Parse(ref)
	if err != nil {
		var ok bool
		if d, ok = f.tags[repo][ref]; !ok {
			return "", storedManifest{}, false
		}
	}
	m, ok := f.manifests[repo][d]
	return d, m, ok
}

func (f *Registry) handleManifest(w http.ResponseWriter, r *http.Request, req *Request, body []byte) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		f.mu.Lock()
		d, m, ok := f.lookupLocked(req.Repo, req.Ref)
		f.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", d.String())
		w.Header().Set("Content-Length", strconv.Itoa(len(m.dt)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(m.dt)
		}
	case http.MethodPut:
		mt := r.Header.Get("Content-Type")
		if i := strings.IndexByte(mt, ';'); i >= 0 {
			mt = mt[:i]
		}
		d := digest.FromBytes(body)
		if want, err := digest.Parse(req.Ref); err == nil && want != d {
			writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "digest does not match the manifest")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if missing := f.missingLocked(req.Repo, body); missing != "" {
			// as distribution does: what a manifest references must be in the repository
			writeError(w, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN", "unknown "+missing.String())
			return
		}
		if f.manifests[req.Repo] == nil {
			f.manifests[req.Repo] = map[digest.Digest]storedManifest{}
		}
		f.manifests[req.Repo][d] = storedManifest{mediaType: mt, dt: body}
		if _, err := digest.Parse(req.Ref); err != nil {
			f.setTagLocked(req.Repo, req.Ref, d)
		}
		w.Header().Set("Location", "/v2/"+req.Repo+"/manifests/"+d.String())
		w.Header().Set("Docker-Content-Digest", d.String())
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, err := digest.Parse(req.Ref); err == nil {
			writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "deleting manifests by digest is not supported here")
			return
		}
		if f.noTagDelete {
			writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the operation is unsupported")
			return
		}
		if _, ok := f.tags[req.Repo][req.Ref]; !ok {
			writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		delete(f.tags[req.Repo], req.Ref)
		w.WriteHeader(http.StatusAccepted)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
	}
}

// missingLocked is a blob or manifest a manifest references that the repository lacks.
func (f *Registry) missingLocked(repo string, dt []byte) digest.Digest {
	var m struct {
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
		Manifests []ocispec.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(dt, &m); err != nil {
		return "invalid"
	}
	if m.Config != nil {
		if _, ok := f.blobs[repo][m.Config.Digest]; !ok {
			return m.Config.Digest
		}
	}
	for _, l := range m.Layers {
		if _, ok := f.blobs[repo][l.Digest]; !ok {
			return l.Digest
		}
	}
	for _, c := range m.Manifests {
		if _, ok := f.manifests[repo][c.Digest]; !ok {
			return c.Digest
		}
	}
	return ""
}

func (f *Registry) handleBlob(w http.ResponseWriter, r *http.Request, req *Request) {
	d, err := digest.Parse(req.Ref)
	f.mu.Lock()
	dt, ok := f.blobs[req.Repo][d]
	f.mu.Unlock()
	if err != nil || !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", strconv.Itoa(len(dt)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(dt)
	}
}

func (f *Registry) handleUpload(w http.ResponseWriter, r *http.Request, req *Request) {
	location := func(uuid string) {
		w.Header().Set("Location", "/v2/"+req.Repo+"/blobs/uploads/"+uuid)
		w.Header().Set("Docker-Upload-UUID", uuid)
	}
	switch r.Method {
	case http.MethodPost:
		q := r.URL.Query()
		if mount, from := digest.Digest(q.Get("mount")), q.Get("from"); mount != "" && from != "" {
			f.mu.Lock()
			dt, ok := f.blobs[from][mount]
			if ok {
				f.putBlobLocked(req.Repo, mount, dt)
			}
			f.mu.Unlock()
			if ok {
				w.Header().Set("Location", "/v2/"+req.Repo+"/blobs/"+mount.String())
				w.Header().Set("Docker-Content-Digest", mount.String())
				w.WriteHeader(http.StatusCreated)
				return
			}
		}
		uuid := randHex(16)
		f.mu.Lock()
		f.uploads[uuid] = &upload{repo: req.Repo}
		f.mu.Unlock()
		location(uuid)
		w.Header().Set("Range", "0-0")
		w.WriteHeader(http.StatusAccepted)
	case http.MethodPatch, http.MethodPut:
		dt, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away, or a hook stopped reading
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		u, ok := f.uploads[req.Ref]
		if !ok || u.repo != req.Repo {
			writeError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
			return
		}
		u.buf.Write(dt)
		if r.Method == http.MethodPatch {
			location(req.Ref)
			w.Header().Set("Range", fmt.Sprintf("0-%d", max(u.buf.Len()-1, 0)))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		delete(f.uploads, req.Ref)
		got := digest.FromBytes(u.buf.Bytes())
		if req.Digest != got {
			writeError(w, http.StatusBadRequest, "DIGEST_INVALID", fmt.Sprintf("got %s, want %s", got, req.Digest))
			return
		}
		f.putBlobLocked(req.Repo, got, bytes.Clone(u.buf.Bytes()))
		w.Header().Set("Location", "/v2/"+req.Repo+"/blobs/"+got.String())
		w.Header().Set("Docker-Content-Digest", got.String())
		w.WriteHeader(http.StatusCreated)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
	}
}

// ---- a test of the fake itself, through the client ----

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
