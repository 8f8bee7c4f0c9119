package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// seed pushes one small busybox image per platform by digest, then one OCI index of them to --ref.
// Images are built deterministically (fixed times, sorted entries), so re-seeding changes nothing.
//
//	farmctl seed --ref 127.0.0.1:5000/farm/busybox:latest --applets FILE linux/amd64=PATH ...
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	ref := fs.String("ref", "", "tag to push the index to")
	appletsFile := fs.String("applets", "", "file listing busybox applets to link in /bin")
	scanner := fs.Bool("sbom-scanner", false, "make the images an SBOM generator for BuildKit's scanner protocol")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ref == "" || *appletsFile == "" || fs.NArg() == 0 {
		return errors.New("seed: --ref, --applets and PLATFORM=BUSYBOX arguments are required")
	}
	tag, err := name.NewTag(*ref, name.Insecure)
	if err != nil {
		return err
	}
	applets, err := os.ReadFile(*appletsFile)
	if err != nil {
		return err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arg := range fs.Args() {
		plat, path, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("seed: %q is not PLATFORM=BUSYBOX", arg)
		}
		p, err := v1.ParsePlatform(plat)
		if err != nil {
			return err
		}
		img, err := busyboxImage(*p, path, strings.Fields(string(applets)))
		if err == nil && *scanner {
			img, err = scannerImage(img)
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", plat, err)
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		if err := remote.Write(tag.Context().Digest(d.String()), img); err != nil {
			return fmt.Errorf("seed %s: push: %w", plat, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	return remote.WriteIndex(tag, idx)
}

func busyboxImage(p v1.Platform, busybox string, applets []string) (v1.Image, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin, applets)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.Config.Cmd = []string{"sh"}
	return mutate.ConfigFile(img, cfg)
}

// rootfs is a tar of /bin/busybox, a symlink per applet, and the few files a shell expects.
func rootfs(busybox []byte, applets []string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	hdrs := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "root/", Typeflag: tar.TypeDir, Mode: 0o700},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
	}
	for _, h := range hdrs {
		h.ModTime = epoch
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, busybox},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		h := &tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: epoch}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
