package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/imagetools"
	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Attestation kinds verify can require.
const (
	RequireProvenance = "provenance"
	RequireSBOM       = "sbom"
)

// maxStatement caps an attestation's in-toto statement read to check its subject.
const maxStatement = 16 << 20

// VerifyOptions say what `verify` checks of an image.
type VerifyOptions struct {
	Ref       string
	Key       interface{ Verify(p, s []byte) error } // the public key the signatures must verify with
	Require   []string                               // attestations every platform must have (provenance, sbom)
	Platforms []string                               // only these platforms (normalized); none: all
	Timeout   time.Duration
}

// Verdict is what verify found for one manifest: the index or a platform's image.
type Verdict struct {
	Platform   string   `json:"platform"` // "index" for the index
	Digest     string   `json:"digest"`
	Signed     bool     `json:"signed"`
	Provenance bool     `json:"provenance"`
	SBOM       bool     `json:"sbom"`
	Gaps       []string `json:"gaps,omitempty"` // none: it passes
}

// OK says whether the manifest passed.
func (v Verdict) OK() bool { return len(v.Gaps) == 0 }

// VerifyImage walks ref: the signature of the index (when it is one) and of every platform's
// image, and each image's attestations (signed, of the kinds required, and about that image).
// A gap is a verdict, not an error; an error is a registry that could not be read.
func (c *Client) VerifyImage(ctx context.Context, o VerifyOptions) ([]Verdict, error) {
	c = c.WithTimeout(o.Timeout)
	loc, err := imagetools.ParseLocation(o.Ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Ref, err)
	}
	dt, desc, err := c.get(ctx, o.Ref)
	if err != nil {
		return nil, err
	}
	if !isIndex(desc.MediaType) {
		return c.verifySingle(ctx, loc, desc, o)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, fmt.Errorf("%s: the index: %w", o.Ref, err)
	}
	out := []Verdict{c.verifyIndex(ctx, loc, desc, o)}
	images, attests := splitIndex(idx)
	if len(images) == 0 {
		out[0].Gaps = append(out[0].Gaps, "the index names no image")
	}
	images = slices.DeleteFunc(images, func(d ocispec.Descriptor) bool {
		return len(o.Platforms) > 0 && (d.Platform == nil || !slices.Contains(o.Platforms, platforms.Format(platforms.Normalize(*d.Platform))))
	})
	verdicts := make([]Verdict, len(images))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(signParallel)
	for i, d := range images {
		eg.Go(func() (err error) {
			verdicts[i], err = c.verifyImage(ectx, loc, d, attests[d.Digest], o)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return append(append(out, verdicts...), missingPlatforms(images, o.Platforms)...), nil
}

// verifySingle verifies a reference that is one image: its platform must be one asked for, and
// its attestations, found only through an index, cannot be required.
func (c *Client) verifySingle(ctx context.Context, loc *imagetools.Location, desc ocispec.Descriptor, o VerifyOptions) ([]Verdict, error) {
	v, err := c.verifyImage(ctx, loc, desc, nil, o)
	if err != nil {
		return nil, err
	}
	if len(o.Platforms) > 0 && !slices.Contains(o.Platforms, v.Platform) {
		v.Gaps = append(v.Gaps, "the image is "+v.Platform+", not "+strings.Join(o.Platforms, ", "))
	}
	if len(o.Require) > 0 {
		v.Gaps = append(v.Gaps, "a single image's attestations are found through its index: verify the tag or the index's digest")
	}
	return []Verdict{v}, nil
}

// splitIndex separates an index's images from its attestation manifests, keyed by the image they
// are about.
func splitIndex(idx ocispec.Index) ([]ocispec.Descriptor, map[digest.Digest][]ocispec.Descriptor) {
	var images []ocispec.Descriptor
	attests := map[digest.Digest][]ocispec.Descriptor{}
	for _, d := range idx.Manifests {
		if IsAttestation(d) {
			of := digest.Digest(d.Annotations[attestation.DockerAnnotationReferenceDigest])
			attests[of] = append(attests[of], d)
			continue
		}
		images = append(images, d)
	}
	return images, attests
}

// missingPlatforms are verdicts for the platforms asked for that the index has no image of.
func missingPlatforms(images []ocispec.Descriptor, want []string) []Verdict {
	var out []Verdict
	for _, p := range want {
		if !slices.ContainsFunc(images, func(d ocispec.Descriptor) bool {
			return d.Platform != nil && platforms.Format(platforms.Normalize(*d.Platform)) == p
		}) {
			out = append(out, Verdict{Platform: p, Gaps: []string{"the image has no " + p + " variant"}})
		}
	}
	return out
}

func (c *Client) verifyIndex(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor, o VerifyOptions) Verdict {
	v := Verdict{Platform: "index", Digest: d.Digest.String()}
	v.Signed = c.checkSigned(ctx, loc.Name(), d.Digest, o, &v.Gaps, "")
	return v
}

// checkSigned checks the signature of repo@d, adding a gap (what prefixed) when there is none.
func (c *Client) checkSigned(ctx context.Context, repo string, d digest.Digest, o VerifyOptions, gaps *[]string, what string) bool {
	st, err := c.signatures(ctx, repo, d, o.Key, "")
	if err != nil || !st.Valid {
		// not in cosign's signature tag (or it could not be read): maybe as an OCI 1.1 referrer
		rst, served, rerr := c.referrerSignatures(ctx, repo, d, o.Key, "")
		switch {
		case rerr == nil && rst.Valid:
			st, err = rst, nil
		case err != nil:
		case rerr != nil:
			st.Problem += "; the OCI referrers could not be read: " + rerr.Error()
		case served:
			st.Problem += "; " + rst.Problem
		}
	}
	if err != nil {
		*gaps = append(*gaps, what+"signature unreadable: "+err.Error())
		return false
	}
	if !st.Valid {
		*gaps = append(*gaps, what+st.Problem)
	}
	return st.Valid
}

// verifyImage checks one platform's image: its signature, and its attestations.
func (c *Client) verifyImage(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor, attests []ocispec.Descriptor, o VerifyOptions) (Verdict, error) {
	v := Verdict{Digest: d.Digest.String()}
	if d.Platform != nil {
		v.Platform = platforms.Format(platforms.Normalize(*d.Platform))
	} else {
		e, err := c.describe(ctx, loc, d)
		if err != nil {
			return v, err
		}
		v.Platform = e.Platform
	}
	v.Signed = c.checkSigned(ctx, loc.Name(), d.Digest, o, &v.Gaps, "")
	for _, a := range attests {
		kinds, err := c.attestationKinds(ctx, loc, a, d.Digest)
		if err != nil {
			v.Gaps = append(v.Gaps, fmt.Sprintf("attestation %s: %v", a.Digest, err))
			continue
		}
		v.Provenance = v.Provenance || slices.Contains(kinds, RequireProvenance)
		v.SBOM = v.SBOM || slices.Contains(kinds, RequireSBOM)
		c.checkSigned(ctx, loc.Name(), a.Digest, o, &v.Gaps, "attestation "+a.Digest.String()+": ")
	}
	for _, r := range o.Require {
		if (r == RequireProvenance && !v.Provenance) || (r == RequireSBOM && !v.SBOM) {
			v.Gaps = append(v.Gaps, "no "+r+" attestation")
		}
	}
	return v, nil
}

// attestationKinds reads an attestation manifest: the kinds of its statements (provenance, sbom),
// each checked to be about the image subject.
func (c *Client) attestationKinds(ctx context.Context, loc *imagetools.Location, a ocispec.Descriptor, subject digest.Digest) ([]string, error) {
	dt, err := c.getDescriptor(ctx, loc, a, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(dt, &m); err != nil {
		return nil, err
	}
	var kinds []string
	for _, l := range m.Layers {
		kind := statementKind(l.Annotations["in-toto.io/predicate-type"])
		if kind == "" {
			continue
		}
		if err := c.checkSubject(ctx, loc, l, subject); err != nil {
			return nil, fmt.Errorf("%s statement: %w", kind, err)
		}
		kinds = append(kinds, kind)
	}
	return kinds, nil
}

// statementKind names an in-toto predicate type: provenance (SLSA, any version), sbom (SPDX,
// CycloneDX), else "".
func statementKind(predicateType string) string {
	switch {
	case strings.HasPrefix(predicateType, "https://slsa.dev/provenance/"):
		return RequireProvenance
	case predicateType == "https://spdx.dev/Document", strings.HasPrefix(predicateType, "https://cyclonedx.org/bom"):
		return RequireSBOM
	}
	return ""
}

// checkSubject reads an in-toto statement (by digest, at most maxStatement) and checks that the
// image is one of its subjects.
func (c *Client) checkSubject(ctx context.Context, loc *imagetools.Location, l ocispec.Descriptor, subject digest.Digest) error {
	dt, err := c.getDescriptor(ctx, loc, l, maxStatement)
	if err != nil {
		return err
	}
	return aboutSubject(dt, subject)
}

// aboutSubject checks that an in-toto statement names the image among its subjects.
func aboutSubject(dt []byte, subject digest.Digest) error {
	var st struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(dt, &st); err != nil {
		return fmt.Errorf("not an in-toto statement: %w", err)
	}
	for _, s := range st.Subject {
		if s.Digest[subject.Algorithm().String()] == subject.Encoded() {
			return nil
		}
	}
	return fmt.Errorf("its subject is not %s", subject)
}
