package runner

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// saveImage writes `docker save` of an image into dir: regular files and symlinks (duplicate
// layers), never a path outside dir.
func saveImage(ctx context.Context, api client.APIClient, id, dir string) error {
	rc, err := api.ImageSave(ctx, []string{id})
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := extract(tr, h, dir); err != nil {
			return err
		}
	}
}

func extract(tr *tar.Reader, h *tar.Header, dir string) error {
	name := filepath.Clean(filepath.FromSlash(h.Name))
	if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
		return fmt.Errorf("unsafe path %q in the saved image", h.Name)
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeReg:
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		target := filepath.Join(filepath.Dir(path), h.Linkname)
		if rel, err := filepath.Rel(dir, target); err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("unsafe link %q in the saved image", h.Name)
		}
		return os.Symlink(h.Linkname, path)
	}
	return nil
}

// pushSaved pushes a saved image (docker-archive or OCI layout with a manifest.json) by digest to
// every repository: config, layers (gzip-compressed where they are not), then the manifest.
func pushSaved(ctx context.Context, reg *registry.Client, dir string, repos []string) (ocispec.Descriptor, error) {
	var saved []struct {
		Config string
		Layers []string
	}
	if err := readJSON(filepath.Join(dir, "manifest.json"), &saved); err != nil {
		return ocispec.Descriptor{}, err
	}
	if len(saved) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("the saved image holds %d images, want 1", len(saved))
	}
	cfgPath := filepath.Join(dir, filepath.FromSlash(saved[0].Config))
	cfg, err := blobOf(cfgPath, ocispec.MediaTypeImageConfig)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var img ocispec.Image
	if err := readJSON(cfgPath, &img); err != nil {
		return ocispec.Descriptor{}, err
	}
	if len(img.RootFS.DiffIDs) != len(saved[0].Layers) {
		return ocispec.Descriptor{}, fmt.Errorf("the saved image has %d layers for %d in its config", len(saved[0].Layers), len(img.RootFS.DiffIDs))
	}
	blobs := []registry.Blob{cfg}
	mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg.Desc}
	mf.SchemaVersion = 2
	for i, l := range saved[0].Layers {
		b, diffID, err := layerBlob(filepath.Join(dir, filepath.FromSlash(l)), dir)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		// Engines have been seen saving another platform's blob for a layer: never push an
		// image whose layers do not match its config.
		if diffID != img.RootFS.DiffIDs[i] {
			return ocispec.Descriptor{}, fmt.Errorf("the engine saved layer %d as %s, which is not the layer its config names (%s)", i, diffID, img.RootFS.DiffIDs[i])
		}
		blobs = append(blobs, b)
		mf.Layers = append(mf.Layers, b.Desc)
	}
	dt, err := json.Marshal(mf)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mf.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	return desc, reg.PushImage(ctx, repos, blobs, desc, dt)
}

func blobOf(path, mediaType string) (registry.Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return registry.Blob{}, err
	}
	defer f.Close()
	dg := digest.Canonical.Digester()
	n, err := io.Copy(dg.Hash(), f)
	if err != nil {
		return registry.Blob{}, err
	}
	return registry.Blob{Path: path, Desc: ocispec.Descriptor{MediaType: mediaType, Digest: dg.Digest(), Size: n}}, nil
}

// layerBlob is a saved layer as a gzip blob (as it is when already compressed, else compressed into
// a file beside it) and the digest of its uncompressed content.
func layerBlob(path, dir string) (registry.Blob, digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return registry.Blob{}, "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	diff := digest.Canonical.Digester()
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return registry.Blob{}, "", err
		}
		if _, err := io.Copy(diff.Hash(), gz); err != nil {
			return registry.Blob{}, "", fmt.Errorf("layer %s: %w", filepath.Base(path), err)
		}
		b, err := blobOf(path, ocispec.MediaTypeImageLayerGzip)
		return b, diff.Digest(), err
	}
	out, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return registry.Blob{}, "", err
	}
	gz := gzip.NewWriter(out)
	if _, err := io.Copy(io.MultiWriter(gz, diff.Hash()), br); err != nil {
		out.Close()
		return registry.Blob{}, "", err
	}
	if err := gz.Close(); err != nil {
		out.Close()
		return registry.Blob{}, "", err
	}
	if err := out.Close(); err != nil {
		return registry.Blob{}, "", err
	}
	b, err := blobOf(out.Name(), ocispec.MediaTypeImageLayerGzip)
	return b, diff.Digest(), err
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
