package testregistry

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
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
	case "referrers":
		f.handleReferrers(w, r, req)
	default: // anything else: not here
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
