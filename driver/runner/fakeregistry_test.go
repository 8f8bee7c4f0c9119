package runner

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/opencontainers/go-digest"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// miniRegistry is an in-memory OCI distribution registry over plain HTTP on 127.0.0.1, with what
// a push by digest uses: blob HEAD/GET, monolithic uploads, manifest HEAD/GET/PUT.
type miniRegistry struct {
	host string

	mu        sync.Mutex
	blobs     map[string][]byte // repo@digest -> content
	manifests map[string][]byte // repo@digest or repo:tag -> content
	types     map[string]string // manifest digest -> media type
	uploads   map[string]*bytes.Buffer
	log       []string // "METHOD path"
}

func newMiniRegistry(t *testing.T) *miniRegistry {
	t.Helper()
	m := &miniRegistry{blobs: map[string][]byte{}, manifests: map[string][]byte{}, types: map[string]string{}, uploads: map[string]*bytes.Buffer{}}
	srv := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(srv.Close)
	m.host = strings.TrimPrefix(srv.URL, "http://")
	return m
}

// client is a registry client with an empty Docker config (and its publish locks in a temp dir).
func (m *miniRegistry) client(t *testing.T) *registry.Client {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	return registry.New(configfile.New(filepath.Join(t.TempDir(), "config.json")))
}

func (m *miniRegistry) blob(repo string, d digest.Digest) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[repo+"@"+d.String()]
	return b, ok
}

func (m *miniRegistry) manifest(ref string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.manifests[ref]
	return b, ok
}

func (m *miniRegistry) tag(repo, tag string) ([]byte, bool) { return m.manifest(repo + ":" + tag) }

func (m *miniRegistry) requests() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.log...)
}

func (m *miniRegistry) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log = append(m.log, r.Method+" "+r.URL.Path)
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok || rest == "" {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		return
	}
	switch {
	case strings.Contains(rest, "/blobs/uploads/"):
		repo, id, _ := strings.Cut(rest, "/blobs/uploads/")
		switch r.Method {
		case http.MethodPost:
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
			m.uploads[id] = &bytes.Buffer{}
			w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id)
			w.Header().Set("Range", "0-0")
			w.WriteHeader(http.StatusAccepted)
		case http.MethodPatch, http.MethodPut:
			up, ok := m.uploads[id]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			_, _ = io.Copy(up, r.Body)
			if r.Method == http.MethodPatch {
				w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id)
				w.Header().Set("Range", "0-"+strconv.Itoa(up.Len()-1))
				w.WriteHeader(http.StatusAccepted)
				return
			}
			d := digest.Digest(r.URL.Query().Get("digest"))
			if digest.FromBytes(up.Bytes()) != d {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			m.blobs[repo+"@"+d.String()] = up.Bytes()
			delete(m.uploads, id)
			w.Header().Set("Docker-Content-Digest", d.String())
			w.WriteHeader(http.StatusCreated)
		}
	case strings.Contains(rest, "/blobs/"):
		repo, d, _ := strings.Cut(rest, "/blobs/")
		b, ok := m.blobs[repo+"@"+d]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Header().Set("Docker-Content-Digest", d)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	case strings.Contains(rest, "/manifests/"):
		repo, ref, _ := strings.Cut(rest, "/manifests/")
		key := repo + ":" + ref
		if strings.HasPrefix(ref, "sha256:") {
			key = repo + "@" + ref
		}
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			m.manifests[key] = b
			m.manifests[repo+"@"+digest.FromBytes(b).String()] = b
			m.types[digest.FromBytes(b).String()] = r.Header.Get("Content-Type")
			w.Header().Set("Docker-Content-Digest", digest.FromBytes(b).String())
			w.WriteHeader(http.StatusCreated)
			return
		}
		b, ok := m.manifests[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", m.types[digest.FromBytes(b).String()])
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(b).String())
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}
