package testregistry

import (
	"encoding/json"
	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// SetReferrers makes the registry serve the OCI 1.1 referrers API (off: 404, as distribution).
func (f *Registry) SetReferrers(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.referrers = v
}

// handleReferrers lists the manifests of the repository whose subject is the digest asked
// about, as an image index (artifactType: the manifest's, else its config's media type).
func (f *Registry) handleReferrers(w http.ResponseWriter, r *http.Request, req *Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	subject, err := digest.Parse(req.Ref)
	if !f.referrers || r.Method != http.MethodGet || err != nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "not found")
		return
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	for d, m := range f.manifests[req.Repo] {
		var mf ocispec.Manifest
		if json.Unmarshal(m.dt, &mf) != nil || mf.Subject == nil || mf.Subject.Digest != subject {
			continue
		}
		at := mf.ArtifactType
		if at == "" {
			at = mf.Config.MediaType
		}
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: m.mediaType, Digest: d, Size: int64(len(m.dt)), ArtifactType: at, Annotations: mf.Annotations})
	}
	w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(idx)
}

// ServeReferrers answers r as the referrers API (for a hook that rewrites what is asked).
func (f *Registry) ServeReferrers(w http.ResponseWriter, r *http.Request) {
	f.handleReferrers(w, r, parseRequest(r))
}
