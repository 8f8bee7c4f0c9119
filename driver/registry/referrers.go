package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Signatures as OCI 1.1 referrers, where the registry serves the referrers API: cosign's
// layout for them (cosign sign --registry-referrers-mode=oci-1-1, read by cosign verify
// --experimental-oci11), an image manifest whose artifactType and config media type are
// CosignSignatureArtifactType, whose subject is the signed manifest and whose one layer is the
// simple-signing payload with its signature.
const (
	CosignSignatureArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json"
	maxReferrers                = 100     // signature referrers of one manifest examined at most
	maxReferrerManifest         = 1 << 20 // a signature referrer is a few hundred bytes
)

// referrersOf lists the signature referrers of repo@d (the registry's own filter is not relied
// on); served is false when the registry does not serve the referrers API (an answer of 404,
// 400, 405 or 501, or one that is not an image index). At most maxReferrers are returned.
func (c *Client) referrersOf(ctx context.Context, repo string, d digest.Digest) ([]ocispec.Descriptor, bool, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", repo, err)
	}
	if err := d.Validate(); err != nil {
		return nil, false, fmt.Errorf("%q: %w", d, err)
	}
	op := "GET " + reference.Path(named) + "/referrers/" + d.String()
	a, err := c.rawCall(ctx, named, http.MethodGet, "referrers/"+d.String()+"?artifactType="+url.QueryEscape(CosignSignatureArtifactType),
		ocispec.MediaTypeImageIndex, MaxManifestSize)
	if err != nil {
		return nil, false, opError(repo, op, err)
	}
	switch a.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return nil, false, nil
	default:
		return nil, false, opError(repo, op, fmt.Errorf("%d %s", a.status, http.StatusText(a.status)))
	}
	if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != ocispec.MediaTypeImageIndex {
		return nil, false, nil // an answer that is no referrers list (a front page, a proxy's)
	}
	if a.cut {
		return nil, true, opError(repo, op, fmt.Errorf("the referrers list is larger than %d bytes", MaxManifestSize))
	}
	var idx ocispec.Index
	if err := json.Unmarshal(a.body, &idx); err != nil {
		return nil, true, opError(repo, op, fmt.Errorf("the referrers list is not an image index: %w", err))
	}
	var out []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if m.ArtifactType == CosignSignatureArtifactType && m.Digest.Validate() == nil && len(out) < maxReferrers {
			out = append(out, m)
		}
	}
	return out, true, nil
}

// referrerSignatures checks the signature referrers of repo@d as signatures checks the tag:
// valid when one whose subject is d verifies with v and its payload names d.
func (c *Client) referrerSignatures(ctx context.Context, repo string, d digest.Digest, v interface{ Verify(p, s []byte) error }, prefer digest.Digest) (sigState, error) {
	refs, served, err := c.referrersOf(ctx, repo, d)
	switch {
	case err != nil:
		return sigState{}, err
	case !served:
		return sigState{Problem: "the registry serves no referrers API"}, nil
	case len(refs) == 0:
		return sigState{Problem: "not signed (no signature referrer)"}, nil
	}
	problem := "no signature referrer by this key"
	for _, r := range refs {
		loc, err := parseDigestLocation(repo, r.Digest)
		if err != nil {
			return sigState{}, err
		}
		dt, err := c.getDescriptor(ctx, loc, r, maxReferrerManifest)
		if err != nil {
			if ctx.Err() != nil {
				return sigState{}, err
			}
			problem = "a signature referrer could not be read: " + err.Error()
			continue
		}
		m, err := signatureManifest(dt)
		if err != nil || m.Subject == nil || m.Subject.Digest != d {
			continue // not a signature of d, whatever the list said
		}
		st, err := c.checkLayers(ctx, loc, m.Layers, d, v, prefer)
		if err != nil || st.Valid {
			return st, err
		}
	}
	return sigState{Problem: problem}, nil
}

// signReferrer adds layer (a signature of subject, checked already in the tag layout) as a
// signature referrer of subject, unless one by the same key is there, then reads it back.
func (c *Client) signReferrer(ctx context.Context, repo string, subject, layer ocispec.Descriptor) error {
	st, err := c.referrerSignatures(ctx, repo, subject.Digest, c.signer, layer.Digest)
	if err != nil || st.Valid {
		return err
	}
	if err := c.putSignatureReferrer(ctx, repo, subject, layer); err != nil {
		return err
	}
	if st, err = c.referrerSignatures(ctx, repo, subject.Digest, c.signer, layer.Digest); err != nil {
		return err
	}
	if !st.Valid {
		return fmt.Errorf("the signature referrer read back from %s does not verify: %s", repo, st.Problem)
	}
	return nil
}

// putSignatureReferrer writes layer as a cosign signature referrer of subject (its config, then
// its manifest, by digest).
func (c *Client) putSignatureReferrer(ctx context.Context, repo string, subject, layer ocispec.Descriptor) error {
	cfg, err := json.Marshal(ocispec.Image{RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}}})
	if err != nil {
		return err
	}
	cfgDesc := ocispec.Descriptor{MediaType: CosignSignatureArtifactType, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if err := c.pushBlobBytes(ctx, repo, cfgDesc, cfg); err != nil {
		return err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: CosignSignatureArtifactType, Config: cfgDesc,
		Layers: []ocispec.Descriptor{layer}, Subject: &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}}
	m.SchemaVersion = 2
	dt, err := json.Marshal(m)
	if err != nil {
		return err
	}
	desc := ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	loc, err := parseDigestLocation(repo, desc.Digest)
	if err != nil {
		return err
	}
	return c.put(ctx, loc, desc, dt)
}

// parseDigestLocation is repo@d.
func parseDigestLocation(repo string, d digest.Digest) (*imagetools.Location, error) {
	return imagetools.ParseLocation(repo + "@" + d.String())
}
