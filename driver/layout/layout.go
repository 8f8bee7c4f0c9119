// Package layout reads the OCI layout archives BuildKit's oci exporter writes (oci-layout,
// index.json, blobs/sha256/...), for bake's targets used as contexts and for --load of every
// platform: each blob is copied only when it holds its digest, nothing else of the archive is
// written, and index.json is read within 4 MiB and must name one image by a sha256 digest.
package layout

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

// maxIndex bounds index.json, as registries bound an index.
const maxIndex = 4 << 20

// Unpack copies an archive's blobs into blobs (a folder; a blob already there is kept: content is
// addressed) and returns its index.json.
func Unpack(archive, blobs string) ([]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		return nil, err
	}
	var idx []byte
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := filepath.ToSlash(filepath.Clean(h.Name))
		switch {
		case name == "index.json":
			if idx, err = io.ReadAll(io.LimitReader(tr, maxIndex+1)); err != nil {
				return nil, err
			}
			if len(idx) > maxIndex {
				return nil, fmt.Errorf("index.json is larger than %d MiB", maxIndex>>20)
			}
		case strings.HasPrefix(name, "blobs/sha256/"):
			if err := WriteBlob(tr, blobs, strings.TrimPrefix(name, "blobs/sha256/")); err != nil {
				return nil, err
			}
		}
	}
	if idx == nil {
		return nil, errors.New("the archive has no index.json")
	}
	return idx, nil
}

// Image is the one image an index.json names (once, or once per tag), by a sha256 digest: its
// blob is read by that name, so anything else ("sha256:../..") would read outside the blobs.
func Image(index []byte) (ocispec.Descriptor, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) == 0 {
		return ocispec.Descriptor{}, errors.New("index.json names no image")
	}
	d := idx.Manifests[0]
	for _, m := range idx.Manifests[1:] {
		if m.Digest != d.Digest {
			return ocispec.Descriptor{}, fmt.Errorf("index.json names several images (%s, %s)", d.Digest, m.Digest)
		}
	}
	if d.Digest.Validate() != nil || d.Digest.Algorithm() != digest.SHA256 {
		return ocispec.Descriptor{}, fmt.Errorf("index.json names image %q: not a sha256 digest", d.Digest)
	}
	return d, nil
}

// WriteBlob writes one blob into blobs, named by its sha256 hex digest, when its content holds it.
func WriteBlob(r io.Reader, blobs, hex string) error {
	want := digest.NewDigestFromEncoded(digest.SHA256, hex)
	if want.Validate() != nil {
		return fmt.Errorf("blob %q is not named by a sha256 digest", hex)
	}
	dst := filepath.Join(blobs, hex)
	if _, err := os.Stat(dst); err == nil {
		return nil
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
	return os.Rename(tmp.Name(), dst)
}
