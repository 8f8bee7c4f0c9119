package bake

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// extractLayout unpacks an OCI layout archive (what the oci exporter wrote: oci-layout, index.json,
// blobs/sha256/...) into dir, each blob checked against its digest and nothing else of the archive
// written, and returns the digest of the image it holds (the multi-platform index, or the one
// image): what another target names as oci-layout://DIR@DIGEST.
func extractLayout(archive, dir string) (digest.Digest, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return "", err
	}
	var idx []byte
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.ToSlash(filepath.Clean(h.Name))
		switch {
		case name == "index.json":
			if idx, err = io.ReadAll(io.LimitReader(tr, 4<<20)); err != nil {
				return "", err
			}
		case strings.HasPrefix(name, "blobs/sha256/"):
			if err := writeBlob(tr, blobs, strings.TrimPrefix(name, "blobs/sha256/")); err != nil {
				return "", err
			}
		}
	}
	if idx == nil {
		return "", errors.New("the archive has no index.json")
	}
	layout, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err := os.WriteFile(filepath.Join(dir, ocispec.ImageLayoutFile), layout, 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o600); err != nil {
		return "", err
	}
	return layoutImage(idx)
}

// layoutImage is the image index.json names: one digest (named once per tag, or not at all).
func layoutImage(dt []byte) (digest.Digest, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(dt, &idx); err != nil {
		return "", fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) == 0 {
		return "", errors.New("index.json names no image")
	}
	d := idx.Manifests[0].Digest
	for _, m := range idx.Manifests[1:] {
		if m.Digest != d {
			return "", fmt.Errorf("index.json names several images (%s, %s)", d, m.Digest)
		}
	}
	return d, d.Validate()
}

// writeBlob writes one blob, named by its sha256 hex digest, and checks its content against it.
func writeBlob(r io.Reader, blobs, hex string) error {
	want := digest.NewDigestFromEncoded(digest.SHA256, hex)
	if want.Validate() != nil {
		return fmt.Errorf("blob %q is not named by a sha256 digest", hex)
	}
	tmp, err := os.CreateTemp(blobs, ".blob-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	v := want.Verifier()
	_, err = io.Copy(io.MultiWriter(tmp, v), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !v.Verified() {
		return fmt.Errorf("blob %s does not hold that digest", want)
	}
	return os.Rename(tmp.Name(), filepath.Join(blobs, hex))
}
