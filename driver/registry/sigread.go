package registry

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// signatureManifest parses a signature tag's manifest: an image whose layers are all
// simple-signing payloads.
func signatureManifest(dt []byte) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(dt, &m); err != nil {
		return m, err
	}
	if len(m.Layers) == 0 {
		return m, errors.New("no layers")
	}
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType {
			return m, fmt.Errorf("a layer of type %q", l.MediaType)
		}
	}
	return m, nil
}

// sigState is what the signatures of one manifest say for a key.
type sigState struct {
	Valid   bool
	Problem string // why not: no signature tag, none by this key, one for another digest
}

// signatures reads the signature tag of repo@d and checks its signatures with v: valid when one
// verifies and its payload names d. Layers whose payload is prefer (what was just signed) are
// checked first; at most maxSigLayers are; each payload is read by digest, at most maxPayload. A
// layer that cannot be read (gone, too large) is passed over, as cosign passes over a bad
// signature: it hides no valid one.
func (c *Client) signatures(ctx context.Context, repo string, d digest.Digest, v interface{ Verify(p, s []byte) error }, prefer digest.Digest) (sigState, error) {
	tag, err := imagetools.ParseLocation(repo + ":" + SignatureTag(d))
	if err != nil {
		return sigState{}, err
	}
	dt, _, err := c.get(ctx, tag.String())
	if errdefs.IsNotFound(err) {
		return sigState{Problem: "not signed (no " + SignatureTag(d) + ")"}, nil
	}
	if err != nil {
		return sigState{}, err
	}
	m, err := signatureManifest(dt)
	if err != nil {
		return sigState{Problem: SignatureTag(d) + " is not a cosign signature: " + err.Error()}, nil
	}
	return c.checkLayers(ctx, tag, m.Layers, d, v, prefer)
}

// checkLayers checks the signature layers of one signature manifest (see signatures).
func (c *Client) checkLayers(ctx context.Context, loc *imagetools.Location, ls []ocispec.Descriptor, d digest.Digest, v interface{ Verify(p, s []byte) error }, prefer digest.Digest) (sigState, error) {
	layers := slices.Clone(ls)
	slices.SortStableFunc(layers, func(a, b ocispec.Descriptor) int {
		return cmp.Compare(boolRank(a.Digest != prefer), boolRank(b.Digest != prefer))
	})
	problem := "no signature by this key"
	for i, l := range layers {
		if i == maxSigLayers {
			problem = fmt.Sprintf("no signature by this key among the first %d of %d", maxSigLayers, len(layers))
			break
		}
		ok, why, err := c.checkSignature(ctx, loc, l, d, v)
		if err != nil {
			if ctx.Err() != nil {
				return sigState{}, err
			}
			why = "a signature could not be read: " + err.Error()
		}
		if ok {
			return sigState{Valid: true}, nil
		}
		if why != "" {
			problem = why
		}
	}
	return sigState{Problem: problem}, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkSignature checks one signature layer: its payload, by digest, verifies with v and names d.
func (c *Client) checkSignature(ctx context.Context, tag *imagetools.Location, l ocispec.Descriptor, d digest.Digest, v interface{ Verify(p, s []byte) error }) (bool, string, error) {
	sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return false, "", nil
	}
	// what the manifest says that the fetch checks: never its URLs (a fetch elsewhere)
	pl, err := c.getDescriptor(ctx, tag, ocispec.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size}, maxPayload)
	if err != nil {
		return false, "", err
	}
	if v.Verify(pl, sig) != nil {
		return false, "", nil
	}
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(pl, &p); err != nil || p.Critical.Type != payload.CosignSignatureType {
		return false, "a signature by this key whose payload is not cosign's", nil
	}
	if got := p.Critical.Image.DockerManifestDigest; got != d.String() {
		return false, "a signature by this key for another manifest (" + bounded.Cut(got, 80) + ")", nil
	}
	return true, "", nil
}
