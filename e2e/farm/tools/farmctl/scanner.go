package main

import (
	"archive/tar"
	"bytes"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// scanScript speaks BuildKit's SBOM generator protocol (what docker/buildkit-syft-scanner does, in
// small): it lists the scanned root filesystem's files and writes one SPDX document, as an in-toto
// statement, into $BUILDKIT_SCAN_DESTINATION. The farm cannot pull the real scanner, so it serves
// this one under the real scanner's name through a registry mirror.
const scanScript = `#!/bin/sh
set -eu
src=${BUILDKIT_SCAN_SOURCE:?}
out=${BUILDKIT_SCAN_DESTINATION:?}
files=$(cd "$src" && find . -type f | wc -l)
cat >"$out/farm.spdx.json" <<JSON
{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],
 "predicate":{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT",
  "name":"farm-sbom-scan","documentNamespace":"https://farm.invalid/sbom/$(date +%s)",
  "creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: farm-sbom-scan"],"comment":"$files files scanned"},
  "packages":[{"name":"rootfs","SPDXID":"SPDXRef-rootfs","downloadLocation":"NOASSERTION","filesAnalyzed":false}]}}
JSON
`

// scannerImage adds the scanner script to a busybox image and makes it the entrypoint.
func scannerImage(img v1.Image) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	for _, h := range []*tar.Header{
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: "usr/local/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: "usr/local/bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "usr/local/bin/farm-sbom-scan", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(scanScript)), ModTime: epoch}); err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(scanScript)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Entrypoint = []string{"/bin/sh", "/usr/local/bin/farm-sbom-scan"}
	cfg.Config.Cmd = nil
	return mutate.ConfigFile(img, cfg)
}
