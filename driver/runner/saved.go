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
	"path"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// savedArchive is a `docker save` archive (docker-archive or OCI layout) read into a directory
// without recreating its paths: every regular file is stored under a name of our own, and links
// are resolved inside the archive's own namespace, so nothing in the archive can reach outside dir
// (absolute names, "..", symlinks pointing out or in loops are refused).
type savedArchive struct {
	dir   string
	files map[string]string // archive path -> file in dir
	links map[string]string // archive path -> archive path it points at
}

// saveImage reads `docker save` of an image into dir.
func saveImage(ctx context.Context, api client.APIClient, id, dir string) (*savedArchive, error) {
	rc, err := api.ImageSave(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readSaved(rc, dir)
}

func readSaved(r io.Reader, dir string) (*savedArchive, error) {
	a := &savedArchive{dir: dir, files: map[string]string{}, links: map[string]string{}}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			return nil, err
		}
		if err := a.add(tr, h); err != nil {
			return nil, err
		}
	}
}

// archivePath cleans a name of the archive; it must stay inside the archive.
func archivePath(name string) (string, error) {
	clean := path.Clean("/" + name)[1:]
	if strings.HasPrefix(name, "/") || clean == "" || strings.Contains("/"+name+"/", "/../") {
		return "", fmt.Errorf("unsafe path %q in the saved image", name)
	}
	return clean, nil
}

func (a *savedArchive) add(tr *tar.Reader, h *tar.Header) error {
	name, err := archivePath(h.Name)
	if err != nil {
		if h.Typeflag == tar.TypeDir && strings.Trim(h.Name, "./") == "" {
			return nil // the archive's root
		}
		return err
	}
	switch h.Typeflag {
	case tar.TypeReg:
		f, err := os.CreateTemp(a.dir, "file-*")
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		a.files[name] = f.Name()
		return err
	case tar.TypeSymlink:
		if strings.HasPrefix(h.Linkname, "/") {
			return fmt.Errorf("unsafe link %q -> %q in the saved image", h.Name, h.Linkname)
		}
		target, err := archivePath(path.Join(path.Dir(name), h.Linkname))
		if err != nil {
			return fmt.Errorf("unsafe link %q -> %q in the saved image", h.Name, h.Linkname)
		}
		a.links[name] = target
	case tar.TypeLink:
		target, err := archivePath(h.Linkname)
		if err != nil {
			return fmt.Errorf("unsafe hard link %q -> %q in the saved image", h.Name, h.Linkname)
		}
		a.links[name] = target
	}
	return nil
}

// file is the file in dir holding an archive path, following links (a few hops at most).
func (a *savedArchive) file(name string) (string, error) {
	p, err := archivePath(name)
	if err != nil {
		return "", err
	}
	for range 16 {
		if f, ok := a.files[p]; ok {
			return f, nil
		}
		next, ok := a.links[p]
		if !ok {
			return "", fmt.Errorf("%s is not in the saved image", name)
		}
		p = next
	}
	return "", fmt.Errorf("%s: too many links in the saved image", name)
}

// pushSaved pushes a saved image (docker-archive or OCI layout with a manifest.json) by digest to
// every repository: config, layers (gzip-compressed where they are not), then the manifest.
func pushSaved(ctx context.Context, reg *registry.Client, arch *savedArchive, repos []string) (ocispec.Descriptor, error) {
	var saved []struct {
		Config string
		Layers []string
	}
	mfPath, err := arch.file("manifest.json")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := readJSON(mfPath, "manifest.json", &saved); err != nil {
		return ocispec.Descriptor{}, err
	}
	if len(saved) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("the saved image holds %d images, want 1", len(saved))
	}
	cfgPath, err := arch.file(saved[0].Config)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	cfg, err := blobOf(cfgPath, ocispec.MediaTypeImageConfig)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var img ocispec.Image
	if err := readJSON(cfgPath, saved[0].Config, &img); err != nil {
		return ocispec.Descriptor{}, err
	}
	if len(img.RootFS.DiffIDs) != len(saved[0].Layers) {
		return ocispec.Descriptor{}, fmt.Errorf("the saved image has %d layers for %d in its config", len(saved[0].Layers), len(img.RootFS.DiffIDs))
	}
	blobs := []registry.Blob{cfg}
	mf := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg.Desc}
	mf.SchemaVersion = 2
	for i, l := range saved[0].Layers {
		layerPath, err := arch.file(l)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		b, diffID, err := layerBlob(layerPath, arch.dir)
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

// layerBlob is a saved layer as a compressed blob (gzip or zstd as the engine saved it, else
// compressed with gzip into a file beside it) and the digest of its uncompressed content.
func layerBlob(path, dir string) (registry.Blob, digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return registry.Blob{}, "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if b, diff, ok, err := compressedLayer(path, br); ok || err != nil {
		return b, diff, err
	}
	diff := digest.Canonical.Digester()
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

// readJSON decodes a file of the saved image; errors name it as the archive does.
func readJSON(path, name string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s in the saved image: %w", name, err)
	}
	return nil
}

// compressedLayer reads a layer the engine saved compressed (a containerd image store keeps blobs
// as they were pulled): gzip, or zstd; ok is false for an uncompressed one.
func compressedLayer(path string, br *bufio.Reader) (b registry.Blob, diff digest.Digest, ok bool, err error) {
	magic, _ := br.Peek(4)
	var r io.Reader
	var mediaType string
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return b, "", true, err
		}
		r, mediaType = gz, ocispec.MediaTypeImageLayerGzip
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(br)
		if err != nil {
			return b, "", true, err
		}
		defer zr.Close()
		r, mediaType = zr, ocispec.MediaTypeImageLayerZstd
	default:
		return b, "", false, nil
	}
	d := digest.Canonical.Digester()
	if _, err := io.Copy(d.Hash(), r); err != nil {
		return b, "", true, fmt.Errorf("layer %s: %w", filepath.Base(path), err)
	}
	b, err = blobOf(path, mediaType)
	return b, d.Digest(), true, err
}
