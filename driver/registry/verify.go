package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/util/attestation"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Verify reads a tag back: it must be the index dgst, holding exactly the platforms wanted.
func (c *Client) Verify(ctx context.Context, tag string, dgst digest.Digest, want []string) error {
	return c.verify(ctx, tag, dgst, want)
}

// otherIndexError: the tag points at another index than the one just pushed.
type otherIndexError struct {
	tag       string
	got, want digest.Digest
}

func (e *otherIndexError) Error() string {
	return fmt.Sprintf("verifying %s: it points at %s, not at the index just pushed (%s): another publisher wrote it after this one", e.tag, e.got, e.want)
}

// unreadableError: the tag could not be read back.
type unreadableError struct {
	tag string
	err error
}

func (e *unreadableError) Error() string {
	return fmt.Sprintf("verifying %s: reading it back failed: %v", e.tag, e.err)
}

func (e *unreadableError) Unwrap() error { return e.err }

// verify reads a tag back: it must be the index just pushed, holding exactly the platforms wanted
// (attestation manifests aside), each once.
func (c *Client) verify(ctx context.Context, tag string, dgst digest.Digest, want []string) error {
	dt, desc, err := c.get(ctx, tag)
	if err != nil {
		return &unreadableError{tag: tag, err: err}
	}
	if desc.Digest != dgst {
		return &otherIndexError{tag: tag, got: desc.Digest, want: dgst}
	}
	got, err := IndexPlatforms(dt)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", tag, err)
	}
	if !samePlatforms(got, want) {
		return fmt.Errorf("verifying %s: the index holds %s, want exactly %s", tag, strings.Join(got, ", "), strings.Join(want, ", "))
	}
	return nil
}

// IsAttestation reports whether an index entry holds an attestation rather than an image.
func IsAttestation(d ocispec.Descriptor) bool {
	return d.Annotations[attestation.DockerAnnotationReferenceType] == attestation.DockerAnnotationReferenceTypeDefault
}

// IndexPlatforms lists the image platforms of an index, attestation manifests left out.
func IndexPlatforms(dt []byte) ([]string, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range idx.Manifests {
		if IsAttestation(m) {
			continue
		}
		if m.Platform == nil {
			out = append(out, "unknown")
			continue
		}
		out = append(out, platforms.Format(platforms.Normalize(*m.Platform)))
	}
	return out, nil
}

func samePlatforms(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}
