package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/docker/buildx/util/imagetools"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"golang.org/x/sync/errgroup"
)

// Cosign's signature layout (the `.sig` tag scheme every cosign, policy controller and Kyverno
// reads): the signatures of manifest sha256:HEX live in the tag sha256-HEX.sig of the same
// repository, an OCI image whose every layer is one simple-signing payload with its signature in
// an annotation.
const (
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	SignatureAnnotation    = "dev.cosignproject.cosign/signature"
	maxPayload             = 64 << 10 // a simple-signing payload is a few hundred bytes
	maxSigLayers           = 100      // signatures of one manifest examined at most (a registry's answer is bounded)
	signParallel           = 4
)

// Signer signs what a publish writes, before any tag moves (driver/sign's key signer).
type Signer interface {
	Sign(payload []byte) ([]byte, error)
	Verify(payload, sig []byte) error
	Name() string
}

// WithSigner returns a copy of the client whose publishes sign the index and every manifest it
// names with s, in every tag's repository, before any tag moves.
func (c *Client) WithSigner(s Signer) *Client {
	cp := *c
	cp.signer = s
	return &cp
}

// SignatureTag is the tag cosign keeps the signatures of d in.
func SignatureTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

// signaturePayload is the simple-signing payload cosign signs for repo@d (sigstore's own
// encoding, so docker-reference is what cosign writes: index.docker.io for Docker Hub).
func signaturePayload(repo string, d digest.Digest) ([]byte, error) {
	ref, err := name.NewDigest(repo + "@" + d.String())
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", repo, d, err)
	}
	return payload.Cosign{Image: ref}.MarshalJSON()
}

// toSign are the manifests a publish signs: the index, then every manifest it names.
func toSign(idx MergeResult) ([]ocispec.Descriptor, error) {
	var index ocispec.Index
	if err := json.Unmarshal(idx.JSON, &index); err != nil {
		return nil, err
	}
	for _, d := range index.Manifests {
		if isIndex(d.MediaType) {
			return nil, fmt.Errorf("%s is an index inside the index: its manifests would go unsigned", d.Digest)
		}
	}
	return append([]ocispec.Descriptor{idx.Index}, index.Manifests...), nil
}

// signInto signs, with the client's key (none: nothing), the index and every manifest it names
// in repo, and counts it in s.
func (c *Client) signInto(ctx context.Context, repo string, idx MergeResult, s *Signed) error {
	if c.signer == nil {
		return nil
	}
	served, err := c.referrersServed(ctx, repo, idx.Index.Digest)
	if err != nil {
		return fmt.Errorf("signing in %s: asking whether the registry serves the OCI referrers API: %w", repo, err)
	}
	refs, err := c.signAll(ctx, repo, idx, served)
	if err != nil {
		return err
	}
	referrers := s.Referrers
	if served {
		referrers = append(referrers, repo)
	}
	*s = Signed{Key: c.signer.Name(), Manifests: len(refs), Repos: append(s.Repos, repo), Referrers: referrers, refs: append(s.refs, refs...)}
	return nil
}

// sigRef is one signature a publish made: the manifest repo@digest, and its payload's digest.
type sigRef struct {
	repo    string
	digest  digest.Digest
	payload digest.Digest
}

// recheckSignatures reads every signature the publish made again, just before the first tag
// moves: another machine that rewrote a signature tag since (dropping ours) stops the publish,
// rather than leaving a tag on an index whose signature is gone.
func (c *Client) recheckSignatures(ctx context.Context, refs []sigRef) error {
	if c.signer == nil || len(refs) == 0 {
		return nil
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(signParallel)
	for _, r := range refs {
		eg.Go(func() error {
			res, err := c.signatures(ectx, r.repo, r.digest, c.signer, r.payload)
			if err == nil && !res.Valid {
				err = errors.New(res.Problem)
			}
			if err != nil {
				return fmt.Errorf("the signature of %s@%s was gone before the tags moved (%s:%s rewritten by another publisher?): %w",
					r.repo, r.digest, r.repo, SignatureTag(r.digest), err)
			}
			return nil
		})
	}
	return eg.Wait()
}

// referrersServed says whether the registry of repo serves the OCI 1.1 referrers API (asked
// about d, a manifest just pushed there).
func (c *Client) referrersServed(ctx context.Context, repo string, d digest.Digest) (bool, error) {
	l, err := c.referrersOf(ctx, repo, d)
	return l.served, err
}

// signAll signs, in repo, the index and every manifest it names (platform images and attestation
// manifests), several at once, then reads every signature back and checks it; with referrers,
// each signature is a referrer of its manifest too.
func (c *Client) signAll(ctx context.Context, repo string, idx MergeResult, referrers bool) ([]sigRef, error) {
	descs, err := toSign(idx)
	if err != nil {
		return nil, fmt.Errorf("signing in %s: the index: %w", repo, err)
	}
	refs := make([]sigRef, len(descs))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(signParallel)
	for i, d := range descs {
		eg.Go(func() error {
			payload, err := c.signOne(ectx, repo, d, referrers)
			if err != nil {
				return fmt.Errorf("signing %s@%s with %s: %w", repo, d.Digest, c.signer.Name(), err)
			}
			refs[i] = sigRef{repo: repo, digest: d.Digest, payload: payload}
			return nil
		})
	}
	return refs, eg.Wait()
}

// signOne adds a signature of repo@d to its signature tag (and, with referrers, as a referrer of
// d), then reads it back; it returns the signed payload's digest.
func (c *Client) signOne(ctx context.Context, repo string, desc ocispec.Descriptor, referrers bool) (digest.Digest, error) {
	d := desc.Digest
	pl, err := signaturePayload(repo, d)
	if err != nil {
		return "", err
	}
	sig, err := c.signer.Sign(pl)
	if err != nil {
		return "", err
	}
	layer := ocispec.Descriptor{MediaType: SimpleSigningMediaType, Digest: digest.FromBytes(pl), Size: int64(len(pl)),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)}}
	if err := c.pushBlobBytes(ctx, repo, layer, pl); err != nil {
		return "", err
	}
	if err := c.addSignature(ctx, repo, d, layer, pl); err != nil {
		return "", err
	}
	res, err := c.signatures(ctx, repo, d, c.signer, layer.Digest)
	if err != nil {
		return "", err
	}
	if !res.Valid {
		return "", fmt.Errorf("the signature read back from %s:%s does not verify: %s", repo, SignatureTag(d), res.Problem)
	}
	if referrers {
		if err := c.signReferrer(ctx, repo, desc, layer); err != nil {
			return "", fmt.Errorf("as an OCI 1.1 referrer: %w", err)
		}
	}
	return layer.Digest, nil
}

// addSignature puts layer into the signature tag of d, keeping the signatures already there.
func (c *Client) addSignature(ctx context.Context, repo string, d digest.Digest, layer ocispec.Descriptor, pl []byte) error {
	tag, err := imagetools.ParseLocation(repo + ":" + SignatureTag(d))
	if err != nil {
		return err
	}
	var layers []ocispec.Descriptor
	dt, _, err := c.get(ctx, tag.String())
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return err
	default:
		m, err := signatureManifest(dt)
		if err != nil {
			return fmt.Errorf("%s exists and is not a cosign signature (left as it is): %w", tag, err)
		}
		if c.signedAlready(m, layer, pl) {
			return nil // as cosign's duplicate check: this key signed this very payload already
		}
		if len(m.Layers) >= maxSigLayers {
			return fmt.Errorf("%s holds %d signatures already (at most %d are read): not added to", tag, len(m.Layers), maxSigLayers)
		}
		layers = c.readableLayers(ctx, tag, m.Layers)
	}
	return c.putSignatureImage(ctx, tag, append(layers, layer))
}

// signedAlready: a layer of m is this payload (the same digest) with a signature the client's
// key verifies (ECDSA signatures differ each time they are made: comparing them finds nothing).
func (c *Client) signedAlready(m ocispec.Manifest, layer ocispec.Descriptor, pl []byte) bool {
	for _, l := range m.Layers {
		if l.Digest != layer.Digest {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[SignatureAnnotation])
		if err == nil && c.signer.Verify(pl, sig) == nil {
			return true
		}
	}
	return false
}

// readableLayers are the signatures whose payload the registry still serves: one whose blob is
// gone (or too large to be a payload) verifies for no one, and the registry would refuse a
// signature image that names it, so that digest could never be signed again.
func (c *Client) readableLayers(ctx context.Context, tag *imagetools.Location, layers []ocispec.Descriptor) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	for _, l := range layers {
		if _, err := c.getDescriptor(ctx, tag, l, maxPayload); err == nil {
			out = append(out, l)
		}
	}
	return out
}

// putSignatureImage writes the signature image (its config, then its manifest) to the tag.
func (c *Client) putSignatureImage(ctx context.Context, tag *imagetools.Location, layers []ocispec.Descriptor) error {
	diffIDs := make([]digest.Digest, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.Digest // simple-signing layers are not compressed
	}
	cfg, err := json.Marshal(ocispec.Image{RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs}})
	if err != nil {
		return err
	}
	cfgDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if err := c.pushBlobBytes(ctx, tag.Name(), cfgDesc, cfg); err != nil {
		return err
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: layers}
	m.SchemaVersion = 2
	dt, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.put(ctx, tag, ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}, dt)
}

// pushBlobBytes uploads a small blob to repo.
func (c *Client) pushBlobBytes(ctx context.Context, repo string, d ocispec.Descriptor, dt []byte) error {
	loc, err := imagetools.ParseLocation(repo + "@" + d.Digest.String())
	if err != nil {
		return err
	}
	return c.put(ctx, loc, d, dt)
}
