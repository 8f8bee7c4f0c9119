// Package registry is everything that talks to a registry: inspecting references, merging images
// into one index, pushing images by digest, publishing an index to tags and verifying them. Every
// operation is bounded: a manifest call must answer within the client's timeout, a blob transfer
// must make progress at least that often; the error names the registry and the operation.
package registry

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/moby/buildkit/session/auth/authprovider"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// DefaultTimeout bounds each registry operation unless WithTimeout says otherwise.
const DefaultTimeout = 10 * time.Second

// Client reads and writes images with the credentials of the Docker config (and its helpers).
type Client struct {
	r       *imagetools.Resolver
	auth    authprovider.AuthConfigProvider
	creds   *creds // what auth reads
	timeout time.Duration
	lockDir string
	signer  Signer // nil: publishes sign nothing (WithSigner)
}

// New returns a registry client that authenticates with the Docker config's credentials, read
// when they are needed (Credentials).
func New(cfg *configfile.ConfigFile) *Client {
	cr := newCredsOf(cfg)
	return &Client{r: imagetools.New(imagetools.Opt{Auth: cr.load}), auth: cr.load, creds: cr, timeout: DefaultTimeout, lockDir: defaultLockDir()}
}

// WithTimeout returns a copy of the client whose operations are bounded by d. The copy starts
// with no registry session of its own: each stage of a build (the push check, the bases, a push,
// the publish, a revert) takes one and so authenticates with the credentials of that moment,
// not with a token or login from the start of a long build.
func (c *Client) WithTimeout(d time.Duration) *Client {
	cp := *c
	if d > 0 {
		cp.timeout = d
	}
	cp.r = imagetools.New(imagetools.Opt{Auth: c.auth})
	return &cp
}

// Auth is the credentials provider the client uses, for a build's BuildKit session to share.
func (c *Client) Auth() authprovider.AuthConfigProvider { return c.auth }

// opError names the registry and the operation that failed.
func opError(ref, op string, err error) error {
	return fmt.Errorf("registry %s: %s: %w", domainOf(ref), op, err)
}

// domainOf is the registry host of a reference ("docker.io" for short names).
func domainOf(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.Domain(named)
}

// pathOf is a reference without its registry host, as operations are named ("e2e/app:v1").
func pathOf(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.Path(named) + ref[len(named.Name()):]
}

// Caps on what is read from a registry into memory: a manifest or index is at most what
// registries accept (distribution and Docker Hub refuse larger ones; containerd's resolver too),
// an image config at most MaxConfigSize. Content read by digest must match its digest and size.
const (
	MaxManifestSize = 4 << 20
	MaxConfigSize   = 8 << 20
)

// get reads a manifest (or index) by tag or digest within the deadline, at most MaxManifestSize,
// checked against its digest.
func (c *Client) get(ctx context.Context, ref string) ([]byte, ocispec.Descriptor, error) {
	type got struct {
		dt   []byte
		desc ocispec.Descriptor
	}
	g, err := deadline.Value(ctx, c.timeout, func(ctx context.Context) (got, error) {
		name, desc, err := c.r.Resolve(ctx, ref)
		if err != nil {
			return got{}, err
		}
		dt, err := c.fetch(ctx, name, desc, MaxManifestSize)
		return got{dt, desc}, err
	})
	if err != nil {
		return nil, ocispec.Descriptor{}, opError(ref, "GET "+pathOf(ref), err)
	}
	return g.dt, g.desc, nil
}

// getDescriptor reads a manifest of a location within the deadline (see get); limit caps it.
func (c *Client) getDescriptor(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor, limit int64) ([]byte, error) {
	dt, err := deadline.Value(ctx, c.timeout, func(ctx context.Context) ([]byte, error) {
		return c.fetch(ctx, loc.String(), d, limit)
	})
	if err != nil {
		return nil, opError(loc.String(), "GET "+pathOf(loc.Name())+"@"+d.Digest.String(), err)
	}
	return dt, nil
}

// fetch reads d from ref's repository: refused before reading when it says it is larger than
// limit, cut off past limit when it does not say, and checked against its size and digest.
func (c *Client) fetch(ctx context.Context, ref string, d ocispec.Descriptor, limit int64) ([]byte, error) {
	if err := d.Digest.Validate(); err != nil { // before it goes into a URL
		return nil, fmt.Errorf("the registry gave an invalid digest %q: %w", bounded.Cut(string(d.Digest), 80), err)
	}
	if d.Size > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the %s docker multiarch reads", d.Digest, d.Size, bounded.Size(limit))
	}
	fetcher, err := c.r.Fetcher(ctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := fetcher.Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	dt, err := io.ReadAll(io.LimitReader(rc, limit+1))
	switch {
	case err != nil:
		return nil, err
	case int64(len(dt)) > limit:
		return nil, fmt.Errorf("%s: the registry sent more than the %s docker multiarch reads", d.Digest, bounded.Size(limit))
	case d.Size > 0 && int64(len(dt)) != d.Size:
		return nil, fmt.Errorf("%s: the registry sent %d bytes, not the %d it announced", d.Digest, len(dt), d.Size)
	}
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("the registry gave an invalid digest %q: %w", d.Digest, err)
	}
	if got := d.Digest.Algorithm().FromBytes(dt); got != d.Digest {
		return nil, fmt.Errorf("%s: the registry sent content whose digest is %s", d.Digest, got)
	}
	return dt, nil
}

// put writes a manifest to a tag or digest location within the deadline.
func (c *Client) put(ctx context.Context, loc *imagetools.Location, desc ocispec.Descriptor, dt []byte) error {
	err := deadline.Call(ctx, c.timeout, func(ctx context.Context) error { return c.r.Push(ctx, loc, desc, dt) })
	if err != nil {
		return opError(loc.String(), "PUT "+pathOf(loc.String()), err)
	}
	return nil
}
