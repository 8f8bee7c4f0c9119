package runner

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/util/archiveutil"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/moby/go-archive/compression"
)

// stdinInput is what a build read from standard input, as docker buildx reads it: the context as
// an archive (kept in a temp file as it is, streamed to each node's BuildKit, never extracted on
// this machine, never held in memory), or a Dockerfile (for `build -` with an empty context, `-f
// -` or `--file-for PLATFORM=-`, at most maxStdinDockerfile).
type stdinInput struct {
	tar   string   // the context archive's file (tar, plain or compressed); "" when stdin held none
	names []string // the regular files at the archive's root (nil when they cannot be listed)
	dir   string   // the temp dir holding what was read from stdin; the caller removes it
}

// maxStdinDockerfile bounds a Dockerfile read from standard input.
const maxStdinDockerfile = 16 << 20

// openTar opens the context archive read from stdin.
func (s *stdinInput) openTar() (io.ReadCloser, error) {
	return os.Open(s.tar)
}

// readStdin takes what the options ask of standard input and rewrites them to point at it. It
// refuses two readers of standard input, as buildx does.
func readStdin(o *Options, in io.Reader) (*stdinInput, error) {
	var readers []string
	if o.ContextPath == "-" {
		readers = append(readers, "the build context (-)")
	}
	if o.File == "-" {
		readers = append(readers, "-f -")
	}
	for _, f := range o.FileFor {
		if plat, p, ok := strings.Cut(f, "="); ok && p == "-" {
			readers = append(readers, "--file-for "+plat+"=-")
		}
	}
	switch {
	case len(readers) == 0:
		return &stdinInput{}, nil
	case len(readers) > 1:
		return nil, fmt.Errorf("standard input can be read only once, but %s all ask for it", strings.Join(readers, " and "))
	}
	if in == nil {
		return nil, errors.New("build input from stdin: no standard input")
	}
	br := bufio.NewReaderSize(in, 1024)
	head, _ := br.Peek(1024) // buildx's test: an archive's magic, or a tar header
	s := &stdinInput{}
	if o.ContextPath == "-" && archiveutil.IsArchive(head) {
		return s, s.archive(br)
	}
	data, err := readAll(br)
	if err != nil {
		return nil, err
	}
	if o.ContextPath == "-" && o.File != "" {
		return nil, fmt.Errorf("standard input holds a Dockerfile, and -f %s gives another: give one of them", o.File)
	}
	return s, s.dockerfile(o, data)
}

// archive keeps the context archive on stdin in a temp file, and lists its root.
func (s *stdinInput) archive(in io.Reader) error {
	dir, err := os.MkdirTemp("", "multiarch-stdin-")
	if err != nil {
		return err
	}
	s.dir, s.tar = dir, filepath.Join(dir, "context.tar")
	f, err := os.OpenFile(s.tar, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return fmt.Errorf("reading standard input: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	rc, err := s.openTar()
	if err != nil {
		return err
	}
	defer rc.Close()
	s.names = rootFiles(rc)
	return nil
}

// dockerfile writes a Dockerfile read from stdin into a temp dir and points the option that asked
// for it there; `build -` then builds with that empty directory as its context.
func (s *stdinInput) dockerfile(o *Options, data []byte) error {
	dir, err := os.MkdirTemp("", "multiarch-stdin-")
	if err != nil {
		return err
	}
	s.dir = dir
	file := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return err
	}
	switch {
	case o.ContextPath == "-":
		o.ContextPath = dir
	case o.File == "-":
		o.File = file
	default:
		o.FileFor = slices.Clone(o.FileFor)
		for i, f := range o.FileFor {
			if plat, p, _ := strings.Cut(f, "="); p == "-" {
				o.FileFor[i] = plat + "=" + file
			}
		}
	}
	return nil
}

func readAll(in io.Reader) ([]byte, error) {
	data, err := bounded.Read(in, maxStdinDockerfile, "the Dockerfile on standard input")
	if err != nil {
		return nil, fmt.Errorf("reading standard input: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("build input from stdin: standard input is empty")
	}
	return data, nil
}

// rootFiles lists the regular files at the root of a context archive (so a per-platform
// Dockerfile in it is found); nil when the archive cannot be read here.
func rootFiles(archive io.Reader) []string {
	rc, err := compression.DecompressStream(archive)
	if err != nil {
		return nil
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			return nil
		}
		name := path.Clean("/" + h.Name)[1:]
		if strings.Contains("/"+h.Name+"/", "/../") {
			continue // not inside the context: BuildKit will not see it either
		}
		if (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink) && name != "" && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
}

// cleanup removes what reading stdin left on disk.
func (s *stdinInput) cleanup() {
	if s != nil && s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}
