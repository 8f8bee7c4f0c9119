package bake

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/layout"
)

// extractLayout unpacks an OCI layout archive (what the oci exporter wrote: oci-layout, index.json,
// blobs/sha256/...) into dir, each blob checked against its digest and nothing else of the archive
// written, and returns the digest of the image it holds (the multi-platform index, or the one
// image): what another target names as oci-layout://DIR@DIGEST.
func extractLayout(archive, dir string) (digest.Digest, error) {
	idx, err := layout.Unpack(archive, filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		return "", err
	}
	img, err := layout.Image(idx)
	if err != nil {
		return "", err
	}
	imageLayout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err := os.WriteFile(filepath.Join(dir, ocispec.ImageLayoutFile), imageLayout, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o600); err != nil {
		return "", err
	}
	return img.Digest, nil
}
