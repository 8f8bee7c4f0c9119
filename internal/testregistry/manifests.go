package testregistry

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The manifest endpoints: read, write (what it references must be there, as distribution
// checks), delete a tag.

func (f *Registry) handleManifest(w http.ResponseWriter, r *http.Request, req *Request, body []byte) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		f.getManifest(w, r, req)
	case http.MethodPut:
		f.putManifest(w, r, req, body)
	case http.MethodDelete:
		f.deleteManifest(w, req)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
	}
}

func (f *Registry) getManifest(w http.ResponseWriter, r *http.Request, req *Request) {
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
}

func (f *Registry) putManifest(w http.ResponseWriter, r *http.Request, req *Request, body []byte) {
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
}

func (f *Registry) deleteManifest(w http.ResponseWriter, req *Request) {
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
