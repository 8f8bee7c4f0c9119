package registry

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/docker/buildx/util/imagetools"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Blob is a file to push as one blob of an image.
type Blob struct {
	Path string
	Desc ocispec.Descriptor
}

// PushImage pushes an image's blobs, then its manifest by digest (never a tag), to every repository.
func (c *Client) PushImage(ctx context.Context, repos []string, blobs []Blob, manifest ocispec.Descriptor, dt []byte) error {
	for _, repo := range repos {
		if err := c.pushImage(ctx, repo, blobs, manifest, dt); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) pushImage(ctx context.Context, repo string, blobs []Blob, manifest ocispec.Descriptor, dt []byte) error {
	loc, err := imagetools.ParseLocation(repo)
	if err != nil {
		return err
	}
	ing, err := c.r.IngesterForLocation(ctx, loc)
	if err != nil {
		return err
	}
	for _, b := range blobs {
		f, err := os.Open(b.Path)
		if err != nil {
			return err
		}
		err = content.WriteBlob(ctx, ing, b.Desc.Digest.String(), f, b.Desc)
		f.Close()
		if err != nil {
			return fmt.Errorf("pushing %s to %s: %w", b.Desc.Digest, repo, err)
		}
	}
	byDigest, err := imagetools.ParseLocation(repo + "@" + manifest.Digest.String())
	if err != nil {
		return err
	}
	if err := c.r.Push(ctx, byDigest, manifest, dt); err != nil { // by digest: never a tag
		return fmt.Errorf("pushing the manifest to %s: %w", repo, err)
	}
	return nil
}
