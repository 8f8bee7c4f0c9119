package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BuildRecord is what an image says of how it was built: its platform's image, the config's
// creation time and the request BuildKit's provenance recorded (SLSA v1 or v0.2).
type BuildRecord struct {
	Platform string
	Image    digest.Digest
	Created  *time.Time
	// Provenance is nil when the image has no provenance attestation.
	Provenance *BuildRequest
}

// BuildRequest is the part of a BuildKit provenance statement a rebuild needs. Only
// mode=max records Args (build arguments, target, labels); mode=min records the frontend, the
// Dockerfile and the locals.
type BuildRequest struct {
	Frontend   string            `json:"frontend,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Locals     []string          `json:"locals,omitempty"`
	ConfigURI  string            `json:"configURI,omitempty"`  // a remote context (git), as BuildKit recorded it
	ConfigPath string            `json:"configPath,omitempty"` // the Dockerfile's path
	Commit     string            `json:"commit,omitempty"`     // the remote context's commit (sha1), when recorded
}

// BuildRecords reads, for every image of ref (an index, or one image), its config's creation time
// and the provenance statement whose subject it is.
func (c *Client) BuildRecords(ctx context.Context, ref string) ([]BuildRecord, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference %q: %w", ref, err)
	}
	ref = reference.TagNameOnly(named).String()
	dt, desc, err := c.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	loc, err := imagetools.ParseLocation(ref)
	if err != nil {
		return nil, err
	}
	images, attests := []ocispec.Descriptor{desc}, map[digest.Digest][]ocispec.Descriptor{}
	if isIndex(desc.MediaType) {
		var idx ocispec.Index
		if err := json.Unmarshal(dt, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		images, attests = splitIndex(idx)
	}
	if len(images) > maxRebuildImages {
		return nil, fmt.Errorf("%s: %d images, more than the %d rebuild reads", ref, len(images), maxRebuildImages)
	}
	var out []BuildRecord
	for _, d := range images {
		if len(attests[d.Digest]) > maxAttestations {
			return nil, fmt.Errorf("%s: image %s has %d attestation manifests, more than the %d rebuild reads", ref, d.Digest, len(attests[d.Digest]), maxAttestations)
		}
		rec, err := c.buildRecord(ctx, loc, d, attests[d.Digest])
		if err != nil {
			return nil, fmt.Errorf("%s: image %s: %w", ref, d.Digest, err)
		}
		if slices.ContainsFunc(out, func(o BuildRecord) bool { return o.Platform == rec.Platform }) {
			return nil, fmt.Errorf("%s: two images for %s", ref, rec.Platform)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Caps on what rebuild reads of a reference: its images, and each one's attestation manifests.
const (
	maxRebuildImages = 64
	maxAttestations  = 16
)

func (c *Client) buildRecord(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor, attests []ocispec.Descriptor) (BuildRecord, error) {
	rec := BuildRecord{Image: d.Digest}
	img, err := c.readImage(ctx, loc.Name(), loc, d.Digest)
	if err != nil {
		return rec, err
	}
	p := platforms.Normalize(img.config.Platform)
	if _, err := platforms.Parse(platforms.Format(p)); err != nil || img.config.OS == "" || img.config.Architecture == "" {
		return rec, fmt.Errorf("its config names no valid platform (%q)", bounded.Cut(platforms.Format(p), 80))
	}
	if d.Platform != nil && !platforms.Only(p).Match(platforms.Normalize(*d.Platform)) {
		return rec, fmt.Errorf("the index says %s, its config %s", platforms.Format(platforms.Normalize(*d.Platform)), platforms.Format(p))
	}
	rec.Platform, rec.Created = platforms.Format(p), img.config.Created
	for _, a := range attests {
		if rec.Provenance, err = c.provenanceOf(ctx, loc, a, d.Digest); err != nil || rec.Provenance != nil {
			return rec, err
		}
	}
	return rec, nil
}

// provenanceOf reads the provenance statement of an attestation manifest, checked to be about the
// image; nil when the manifest holds none.
func (c *Client) provenanceOf(ctx context.Context, loc *imagetools.Location, a ocispec.Descriptor, subject digest.Digest) (*BuildRequest, error) {
	dt, err := c.getDescriptor(ctx, loc, a, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(dt, &m); err != nil {
		return nil, fmt.Errorf("attestation %s: %w", a.Digest, err)
	}
	for _, l := range m.Layers {
		if statementKind(l.Annotations["in-toto.io/predicate-type"]) != RequireProvenance {
			continue
		}
		st, err := c.getDescriptor(ctx, loc, l, maxStatement)
		if err != nil {
			return nil, err
		}
		if err := aboutSubject(st, subject); err != nil {
			return nil, fmt.Errorf("provenance %s: %w", l.Digest, err)
		}
		req, err := ParseProvenance(st)
		if err != nil {
			return nil, fmt.Errorf("provenance %s: %w", l.Digest, err)
		}
		return &req, nil
	}
	return nil, nil
}

// ParseProvenance reads the build request of a BuildKit provenance statement, SLSA v1
// (buildDefinition.externalParameters) or v0.2 (invocation).
func ParseProvenance(dt []byte) (BuildRequest, error) {
	type params struct {
		Frontend string            `json:"frontend"`
		Args     map[string]string `json:"args"`
		Locals   []struct {
			Name string `json:"name"`
		} `json:"locals"`
	}
	type source struct {
		URI        string            `json:"uri"`
		Digest     map[string]string `json:"digest"`
		Path       string            `json:"path"`
		EntryPoint string            `json:"entryPoint"`
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			BuildDefinition struct {
				ExternalParameters struct {
					ConfigSource source `json:"configSource"`
					Request      params `json:"request"`
				} `json:"externalParameters"`
			} `json:"buildDefinition"`
			Invocation struct {
				ConfigSource source `json:"configSource"`
				Parameters   params `json:"parameters"`
			} `json:"invocation"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(dt, &st); err != nil {
		return BuildRequest{}, fmt.Errorf("not an in-toto statement: %w", err)
	}
	var src source
	var req params
	switch st.PredicateType {
	case "https://slsa.dev/provenance/v1":
		src, req = st.Predicate.BuildDefinition.ExternalParameters.ConfigSource, st.Predicate.BuildDefinition.ExternalParameters.Request
	case "https://slsa.dev/provenance/v0.2":
		src, req = st.Predicate.Invocation.ConfigSource, st.Predicate.Invocation.Parameters
		src.Path = src.EntryPoint
	default:
		return BuildRequest{}, fmt.Errorf("predicate type %q is not a SLSA provenance this version reads (v1, v0.2)", st.PredicateType)
	}
	out := BuildRequest{Frontend: req.Frontend, Args: req.Args, ConfigURI: src.URI, ConfigPath: src.Path, Commit: src.Digest["sha1"]}
	for _, l := range req.Locals {
		out.Locals = append(out.Locals, l.Name)
	}
	return out, nil
}
