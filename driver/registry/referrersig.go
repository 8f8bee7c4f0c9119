package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// noReferrersAPI is the problem of a manifest whose registry serves no referrers API.
const noReferrersAPI = "the registry serves no referrers API"

// referrerSignatures checks the signature referrers of repo@d as signatures checks the tag:
// valid when one whose subject is d verifies with v and its payload names d. served says whether
// the registry serves the referrers API. The whole check is bounded by three times the client's
// timeout, and gives up after maxUnreadableReferrers referrers that could not be read.
func (c *Client) referrerSignatures(ctx context.Context, repo string, d digest.Digest, v interface{ Verify(p, s []byte) error }, prefer digest.Digest) (st sigState, served bool, err error) {
	budget := 3 * c.timeout
	ctx, cancel := context.WithTimeoutCause(ctx, budget, fmt.Errorf("the signature referrers of %s@%s were not read within %s", repo, d, budget))
	defer cancel()
	l, err := c.referrersOf(ctx, repo, d)
	switch {
	case err != nil:
		return sigState{}, false, causeOf(ctx, err)
	case !l.served:
		return sigState{Problem: noReferrersAPI}, false, nil
	case len(l.sigs) == 0:
		return sigState{Problem: "not signed (no signature referrer)"}, true, nil
	}
	problem, unreadable := "no signature referrer by this key", 0
	for _, r := range l.sigs {
		st, err := c.checkReferrer(ctx, repo, r, d, v, prefer)
		switch {
		case err != nil && ctx.Err() != nil:
			return sigState{}, true, causeOf(ctx, err)
		case err != nil:
			problem = "a signature referrer could not be read: " + err.Error()
			if unreadable++; unreadable == maxUnreadableReferrers {
				return sigState{Problem: problem}, true, nil
			}
		case st.Valid:
			return st, true, nil
		case st.Problem != "no signature by this key":
			problem = "in a signature referrer: " + st.Problem
		}
	}
	if l.cut {
		problem += fmt.Sprintf(" (among the first %d signature referrers of the list)", len(l.sigs))
	}
	return sigState{Problem: problem}, true, nil
}

// causeOf is err, or the budget's own words when the budget ran out.
func causeOf(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		return cause
	}
	return err
}

// checkReferrer reads one signature referrer by its digest and checks it: its subject must be d
// and one of its signatures verify (see checkLayers).
func (c *Client) checkReferrer(ctx context.Context, repo string, r ocispec.Descriptor, d digest.Digest, v interface{ Verify(p, s []byte) error }, prefer digest.Digest) (sigState, error) {
	loc, err := parseDigestLocation(repo, r.Digest)
	if err != nil {
		return sigState{}, err
	}
	dt, err := c.getDescriptor(ctx, loc, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: r.Digest, Size: r.Size}, maxReferrerManifest)
	if err != nil {
		return sigState{}, err
	}
	m, err := signatureManifest(dt)
	if err != nil {
		return sigState{Problem: "a referrer of the signature type is not a cosign signature: " + err.Error()}, nil
	}
	if m.Subject == nil || m.Subject.Digest != d {
		return sigState{Problem: "a signature referrer listed for it is about another manifest"}, nil
	}
	return c.checkLayers(ctx, loc, m.Layers, d, v, prefer)
}

// signReferrer adds layer (a signature of subject, checked already in the tag layout) as a
// signature referrer of subject, unless the list has one by the same key, then reads it back by
// its digest (a registry's list may lag behind a push, or be paged).
func (c *Client) signReferrer(ctx context.Context, repo string, subject, layer ocispec.Descriptor) error {
	st, _, err := c.referrerSignatures(ctx, repo, subject.Digest, c.signer, layer.Digest)
	if err != nil || st.Valid {
		return err
	}
	desc, err := c.putSignatureReferrer(ctx, repo, subject, layer)
	if err != nil {
		return err
	}
	if st, err = c.checkReferrer(ctx, repo, desc, subject.Digest, c.signer, layer.Digest); err != nil {
		return err
	}
	if !st.Valid {
		return fmt.Errorf("the signature referrer read back from %s@%s does not verify: %s", repo, desc.Digest, st.Problem)
	}
	return nil
}

// putSignatureReferrer writes layer as a cosign signature referrer of subject (its config, then
// its manifest, by digest) and returns the manifest's descriptor.
func (c *Client) putSignatureReferrer(ctx context.Context, repo string, subject, layer ocispec.Descriptor) (ocispec.Descriptor, error) {
	cfg, err := json.Marshal(ocispec.Image{RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layer.Digest}}})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	cfgDesc := ocispec.Descriptor{MediaType: CosignSignatureArtifactType, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if err := c.pushBlobBytes(ctx, repo, cfgDesc, cfg); err != nil {
		return ocispec.Descriptor{}, err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: CosignSignatureArtifactType, Config: cfgDesc,
		Layers: []ocispec.Descriptor{layer}, Subject: &ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}}
	m.SchemaVersion = 2
	dt, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	loc, err := parseDigestLocation(repo, desc.Digest)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return desc, c.put(ctx, loc, desc, dt)
}

// parseDigestLocation is repo@d.
func parseDigestLocation(repo string, d digest.Digest) (*imagetools.Location, error) {
	return imagetools.ParseLocation(repo + "@" + d.String())
}
