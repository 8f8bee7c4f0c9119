package driver

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

	"github.com/containerd/containerd/v2/core/content"
	"github.com/docker/buildx/util/imagetools"
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
func pushSaved(ctx context.Context, r *imagetools.Resolver, dir string, repos []string) (ocispec.Descriptor, error) {
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
	blobs := []blob{cfg}
	mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg.desc}
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
		mf.Layers = append(mf.Layers, b.desc)
	}
	dt, err := json.Marshal(mf)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: mf.MediaType, Digest: digest.FromBytes(dt), Size: int64(len(dt))}
	for _, repo := range repos {
		if err := pushBlobs(ctx, r, repo, blobs, desc, dt); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	return desc, nil
}

type blob struct {
	path string
	desc ocispec.Descriptor
}

func pushBlobs(ctx context.Context, r *imagetools.Resolver, repo string, blobs []blob, desc ocispec.Descriptor, dt []byte) error {
	loc, err := imagetools.ParseLocation(repo)
	if err != nil {
		return err
	}
	ing, err := r.IngesterForLocation(ctx, loc)
	if err != nil {
		return err
	}
	for _, b := range blobs {
		f, err := os.Open(b.path)
		if err != nil {
			return err
		}
		err = content.WriteBlob(ctx, ing, b.desc.Digest.String(), f, b.desc)
		f.Close()
		if err != nil {
			return fmt.Errorf("pushing %s to %s: %w", b.desc.Digest, repo, err)
		}
	}
	byDigest, err := imagetools.ParseLocation(repo + "@" + desc.Digest.String())
	if err != nil {
		return err
	}
	if err := r.Push(ctx, byDigest, desc, dt); err != nil { // by digest: never a tag
		return fmt.Errorf("pushing the manifest to %s: %w", repo, err)
	}
	return nil
}

func blobOf(path, mediaType string) (blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return blob{}, err
	}
	defer f.Close()
	dg := digest.Canonical.Digester()
	n, err := io.Copy(dg.Hash(), f)
	if err != nil {
		return blob{}, err
	}
	return blob{path: path, desc: ocispec.Descriptor{MediaType: mediaType, Digest: dg.Digest(), Size: n}}, nil
}

// layerBlob is a saved layer as a gzip blob (as it is when already compressed, else compressed into
// a file beside it) and the digest of its uncompressed content.
func layerBlob(path, dir string) (blob, digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return blob{}, "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	diff := digest.Canonical.Digester()
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return blob{}, "", err
		}
		if _, err := io.Copy(diff.Hash(), gz); err != nil {
			return blob{}, "", fmt.Errorf("layer %s: %w", filepath.Base(path), err)
		}
		b, err := blobOf(path, ocispec.MediaTypeImageLayerGzip)
		return b, diff.Digest(), err
	}
	out, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		return blob{}, "", err
	}
	gz := gzip.NewWriter(out)
	if _, err := io.Copy(io.MultiWriter(gz, diff.Hash()), br); err != nil {
		out.Close()
		return blob{}, "", err
	}
	if err := gz.Close(); err != nil {
		out.Close()
		return blob{}, "", err
	}
	if err := out.Close(); err != nil {
		return blob{}, "", err
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
