package registry

import (
	"context"
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
	for _, b := range blobs {
		if err := c.pushBlob(ctx, loc, b); err != nil {
			return err
		}
	}
	byDigest, err := imagetools.ParseLocation(repo + "@" + manifest.Digest.String())
	if err != nil {
		return err
	}
	return c.put(ctx, byDigest, manifest, dt) // by digest: never a tag
}

// pushBlob uploads one file as a blob; the upload must make progress within the deadline.
func (c *Client) pushBlob(ctx context.Context, loc *imagetools.Location, b Blob) error {
	f, err := os.Open(b.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	sctx, touch, stop := watchStall(ctx, c.timeout)
	defer stop()
	ing, err := c.r.IngesterForLocation(sctx, loc)
	if err == nil {
		err = content.WriteBlob(sctx, progressIngester{Ingester: ing, touch: touch}, b.Desc.Digest.String(), f, b.Desc)
	}
	if err = stallError(sctx, err); err != nil {
		return opError(loc.Name(), "pushing blob "+b.Desc.Digest.String()+" to "+pathOf(loc.Name()), err)
	}
	return nil
}
