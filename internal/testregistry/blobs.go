package testregistry

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/opencontainers/go-digest"
)

// The blob endpoints: read, and uploads (a mount from another repository, chunks, the last
// checked against its digest).

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
		f.writeUpload(w, r, req, location)
	default:
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
	}
}

// writeUpload takes a chunk (PATCH) or the last of an upload (PUT, checked against its digest).
func (f *Registry) writeUpload(w http.ResponseWriter, r *http.Request, req *Request, location func(string)) {
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
}
