package runner

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// stdinContext turns `build -` into a local context, as docker buildx does: stdin is either a tar
// archive (plain or gzip) holding the context, or a Dockerfile for an empty context. The returned
// directory is the caller's to remove.
func stdinContext(in io.Reader) (string, error) {
	if in == nil {
		return "", errors.New("build context from stdin: no standard input")
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return "", fmt.Errorf("reading the build context from stdin: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "", errors.New("build context from stdin: standard input is empty")
	}
	dir, err := os.MkdirTemp("", "multiarch-stdin-")
	if err != nil {
		return "", err
	}
	if err := fillContext(dir, data); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func fillContext(dir string, data []byte) error {
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("build context from stdin: %w", err)
		}
		if data, err = io.ReadAll(gz); err != nil {
			return fmt.Errorf("build context from stdin: %w", err)
		}
	}
	if len(data) > 262 && string(data[257:262]) == "ustar" {
		return untar(dir, data)
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), data, 0o644)
}

func untar(dir string, data []byte) error {
	tr := tar.NewReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("build context from stdin: %w", err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if err := extract(tr, h, dir); err != nil {
			return fmt.Errorf("build context from stdin: %w", err)
		}
	}
}
