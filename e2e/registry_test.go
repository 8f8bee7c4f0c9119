//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// registryClient reads the farm registry back over the Registry HTTP API v2, independently of the
// plugin's own code, so tests check what was really pushed.
type registryClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newRegistryClient(t *testing.T) *registryClient {
	return &registryClient{t: t, base: "http://" + farm.Registry, http: &http.Client{Timeout: 30 * time.Second}}
}

var manifestTypes = strings.Join([]string{
	ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest,
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}, ", ")

func (r *registryClient) get(path, accept string) ([]byte, http.Header) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("registry GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("registry GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("registry GET %s: %s: %s", path, resp.Status, body)
	}
	return body, resp.Header
}

func (r *registryClient) getJSON(path, accept string, v any) http.Header {
	r.t.Helper()
	body, h := r.get(path, accept)
	if err := json.Unmarshal(body, v); err != nil {
		r.t.Fatalf("registry GET %s: %v\n%s", path, err, body)
	}
	return h
}

// tags lists a repository's tags.
func (r *registryClient) tags(repo string) []string {
	var out struct {
		Tags []string `json:"tags"`
	}
	r.getJSON(fmt.Sprintf("/v2/%s/tags/list", repo), "", &out)
	return out.Tags
}

// index reads a tag that must be an image index.
func (r *registryClient) index(repo, ref string) ocispec.Index {
	r.t.Helper()
	var idx ocispec.Index
	h := r.getJSON(fmt.Sprintf("/v2/%s/manifests/%s", repo, ref), manifestTypes, &idx)
	if ct := h.Get("Content-Type"); !strings.Contains(ct, "index") && !strings.Contains(ct, "manifest.list") {
		r.t.Fatalf("%s/%s:%s is %s, not an index", farm.Registry, repo, ref, ct)
	}
	return idx
}

// manifest reads an image manifest by digest or tag.
func (r *registryClient) manifest(repo, ref string) ocispec.Manifest {
	r.t.Helper()
	var m ocispec.Manifest
	r.getJSON(fmt.Sprintf("/v2/%s/manifests/%s", repo, ref), manifestTypes, &m)
	return m
}

// config reads an image's config blob.
func (r *registryClient) config(repo string, m ocispec.Manifest) ocispec.Image {
	r.t.Helper()
	var img ocispec.Image
	r.getJSON(fmt.Sprintf("/v2/%s/blobs/%s", repo, m.Config.Digest), "", &img)
	return img
}

// digest returns the digest a tag points at (the registry's Docker-Content-Digest).
func (r *registryClient) digest(repo, ref string) string {
	r.t.Helper()
	_, h := r.get(fmt.Sprintf("/v2/%s/manifests/%s", repo, ref), manifestTypes)
	return h.Get("Docker-Content-Digest")
}

// imagePlatforms lists the platforms of an index's images, attestation manifests left out.
func imagePlatforms(idx ocispec.Index) []string {
	var out []string
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" || m.Platform == nil {
			continue
		}
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			p += "/" + m.Platform.Variant
		}
		out = append(out, p)
	}
	return out
}

// catalog lists the registry's repositories.
func (r *registryClient) catalog() []string {
	var out struct {
		Repositories []string `json:"repositories"`
	}
	r.getJSON("/v2/_catalog?n=1000", "", &out)
	return out.Repositories
}
