package testregistry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

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
