//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// registryClient reads the farm registry back over the Registry HTTP API v2, independently of the
// plugin's own code, so tests check what was really pushed.
type registryClient struct {
	t          *testing.T
	base       string
	http       *http.Client
	user, pass string
}

func newRegistryClient(t *testing.T) *registryClient {
	return &registryClient{t: t, base: "http://" + farm.Registry, http: &http.Client{Timeout: 30 * time.Second}}
}

// newAuthRegistryClient reads the registry that needs a login, with the farm's credentials.
func newAuthRegistryClient(t *testing.T, user, pass string) *registryClient {
	return &registryClient{t: t, base: "http://" + farm.AuthRegistry, http: &http.Client{Timeout: 30 * time.Second}, user: user, pass: pass}
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
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
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

// tagsIfAny lists a repository's tags, none when the registry holds no tag of it (distribution
// answers NAME_UNKNOWN for a repository with manifests by digest only).
func (r *registryClient) tagsIfAny(repo string) []string {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.base+fmt.Sprintf("/v2/%s/tags/list", repo), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatalf("registry tags of %s: %v", repo, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return r.tags(repo)
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

// pushBlob uploads a blob in one request and returns its descriptor.
func (r *registryClient) pushBlob(repo, mediaType string, data []byte) ocispec.Descriptor {
	r.t.Helper()
	d := digest.FromBytes(data)
	resp, err := r.http.Post(fmt.Sprintf("%s/v2/%s/blobs/uploads/", r.base, repo), "", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusAccepted || err != nil {
		r.t.Fatalf("starting a blob upload to %s: %s (%v)", repo, resp.Status, err)
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodPut, loc.String(), bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	if resp, err = r.http.Do(req); err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("uploading blob %s to %s: %s", d, repo, resp.Status)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// pushImage pushes a one-layer image by digest (no tag) and returns its manifest's descriptor.
func (r *registryClient) pushImage(repo string, config ocispec.Image, file string) ocispec.Descriptor {
	r.t.Helper()
	var layer bytes.Buffer
	gz := gzip.NewWriter(&layer)
	tw := tar.NewWriter(gz)
	body := []byte(file + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		r.t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	gz.Close()
	uncompressed := new(bytes.Buffer)
	utw := tar.NewWriter(uncompressed)
	utw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	utw.Write(body)
	utw.Close()
	config.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(uncompressed.Bytes())}}
	cfg, err := json.Marshal(config)
	if err != nil {
		r.t.Fatal(err)
	}
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    r.pushBlob(repo, ocispec.MediaTypeImageConfig, cfg),
		Layers:    []ocispec.Descriptor{r.pushBlob(repo, ocispec.MediaTypeImageLayerGzip, layer.Bytes())},
	}
	m.SchemaVersion = 2
	dt, err := json.Marshal(m)
	if err != nil {
		r.t.Fatal(err)
	}
	d := digest.FromBytes(dt)
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/v2/%s/manifests/%s", r.base, repo, d), bytes.NewReader(dt))
	req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("pushing manifest to %s: %s", repo, resp.Status)
	}
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(dt))}
}
