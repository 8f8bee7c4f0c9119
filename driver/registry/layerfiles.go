package registry

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/containerd/containerd/v2/pkg/archive/compression"
	"github.com/docker/buildx/util/imagetools"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Caps on reading a layer to compare it: the files it lists and the bytes it unpacks to (hashed
// as they stream, never held), so a hostile layer is an error naming it, not the machine's memory
// or an endless read.
const (
	maxLayerFiles    = 200_000
	maxLayerUnpacked = 64 << 30
)

// FileState is what a layer says of one file: everything that makes two images differ.
type FileState struct {
	Layer  int    `json:"layer"` // 1-based, in the manifest's order
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	Owner  string `json:"owner"` // uid:gid
	Mtime  string `json:"mtime"` // RFC 3339, UTC
	Digest string `json:"digest,omitempty"`
	Link   string `json:"link,omitempty"`
}

// layerFiles reads a layer blob of loc, checked against its digest and size, and returns its files
// by path ("/etc/passwd"); the transfer fails when it makes no progress for the client's timeout.
func (c *Client) layerFiles(ctx context.Context, loc *imagetools.Location, d ocispec.Descriptor, layer int) (map[string]FileState, error) {
	if err := d.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("the registry gave an invalid digest %q: %w", bounded.Cut(string(d.Digest), 80), err)
	}
	ctx, touch, stop := watchStall(ctx, c.timeout)
	defer stop()
	fetcher, err := c.r.Fetcher(ctx, loc.String())
	if err != nil {
		return nil, stallError(ctx, err)
	}
	rc, err := fetcher.Fetch(ctx, d)
	if err != nil {
		return nil, stallError(ctx, err)
	}
	defer rc.Close()
	verifier := d.Digest.Verifier()
	counted := &countingReader{r: io.LimitReader(rc, d.Size+1), touch: touch}
	files, err := readLayer(io.TeeReader(counted, verifier), layer)
	if err != nil {
		return nil, stallError(ctx, err)
	}
	if _, err := io.Copy(io.Discard, io.TeeReader(counted, verifier)); err != nil { // what follows the tar's end
		return nil, stallError(ctx, err)
	}
	if counted.n != d.Size || !verifier.Verified() {
		return nil, fmt.Errorf("the registry sent %d bytes that do not hold the layer's digest", counted.n)
	}
	return files, nil
}

// readLayer lists a layer's files (gzip, zstd or plain tar), the content of each regular file hashed.
func readLayer(r io.Reader, layer int) (map[string]FileState, error) {
	ds, err := compression.DecompressStream(r)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	tr := tar.NewReader(&limitedUnpack{r: ds, left: maxLayerUnpacked})
	files := map[string]FileState{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if len(files) >= maxLayerFiles {
			return nil, fmt.Errorf("more than %d files: not compared", maxLayerFiles)
		}
		st := FileState{Layer: layer, Type: fileType(h.Typeflag), Size: h.Size, Mode: fmt.Sprintf("%04o", h.Mode&0o7777),
			Owner: strconv.Itoa(h.Uid) + ":" + strconv.Itoa(h.Gid), Mtime: h.ModTime.UTC().Format(time.RFC3339Nano), Link: printable(h.Linkname)}
		if h.Typeflag == tar.TypeReg {
			sum := sha256.New()
			if _, err := io.Copy(sum, tr); err != nil {
				return nil, err
			}
			st.Digest = digest.NewDigest(digest.SHA256, sum).String()
		}
		files[layerPath(h.Name)] = st
	}
}

// layerPath is a tar entry's name as a path in the image, shown safely ("/etc/passwd").
func layerPath(name string) string {
	return printable(path.Join("/", strings.TrimSuffix(name, "/")))
}

// printable cuts a name a layer gave and quotes it when it holds what a terminal would act on.
func printable(s string) string {
	s = bounded.Cut(s, 1024)
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

func fileType(t byte) string {
	switch t {
	case tar.TypeReg:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	default:
		return "type " + strconv.Quote(string(t))
	}
}

// countingReader counts what a transfer read, each read counting as progress.
type countingReader struct {
	r     io.Reader
	n     int64
	touch func()
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 {
		c.touch()
	}
	return n, err
}

// limitedUnpack fails a layer that unpacks to more than it may.
type limitedUnpack struct {
	r    io.Reader
	left int64
}

func (l *limitedUnpack) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("unpacks to more than %s: not compared", bounded.Size(maxLayerUnpacked))
	}
	return n, err
}
