package registry

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/cli/cli/config/configfile"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/testregistry"
)

// fakeRegistry is the unit tests' one fake registry (internal/testregistry), with this package's
// helpers on it.
type fakeRegistry struct {
	*testregistry.Registry
	t *testing.T
}

type (
	fakeReq = testregistry.Request
	action  = testregistry.Action
)

func newFakeRegistry(t *testing.T) *fakeRegistry {
	return &fakeRegistry{Registry: testregistry.New(t), t: t}
}

// newTestClient is a client with an empty Docker config, a private lock directory and timeout.
func newTestClient(t *testing.T, timeout time.Duration) *Client {
	t.Helper()
	c := New(configfile.New(filepath.Join(t.TempDir(), "config.json"))).WithTimeout(timeout)
	c.lockDir = t.TempDir()
	return c
}

func TestFakeRegistryRoundTrip(t *testing.T) {
	f := newFakeRegistry(t)
	c := newTestClient(t, 5*time.Second)
	ctx := context.Background()
	idx := f.SeedIndex("app", "v1", "linux/amd64", "linux/arm64")
	dt, desc, err := c.get(ctx, f.Ref("app", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != idx.Digest || desc.MediaType != ocispec.MediaTypeImageIndex || !bytes.Equal(dt, f.Manifest("app", idx.Digest)) {
		t.Fatalf("GET app:v1 = %s %s", desc.Digest, desc.MediaType)
	}
	if _, _, err := c.get(ctx, f.Ref("app", "nope")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("GET of a missing tag: %v", err)
	}
	info, err := c.Inspect(ctx, f.Ref("app", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Manifests) != 2 || info.Manifests[0].Platform != "linux/amd64" || info.Manifests[1].Platform != "linux/arm64" {
		t.Fatalf("Inspect = %+v", info)
	}
	img := f.SeedImage("app", "single", "linux/arm/v7")
	cs, err := c.candidates(ctx, f.Ref("app", "single"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].desc.Digest != img.Digest || platforms.Format(*cs[0].desc.Platform) != "linux/arm/v7" {
		t.Fatalf("candidates of a single manifest = %+v", cs)
	}
}
