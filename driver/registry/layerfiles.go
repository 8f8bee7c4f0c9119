package registry

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
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
	"unicode/utf8"

	"github.com/docker/buildx/util/imagetools"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Caps on reading a layer to compare it: its size, the entries it lists and the bytes its files
// hold (hashed as they stream, never held; sparse files refused), so a hostile layer is an error
// naming it, not the machine's memory or an endless read.
const (
	maxLayerSize     = 8 << 30
	maxLayerFiles    = 100_000
	maxLayerUnpacked = 16 << 30
	maxZstdMemory    = 256 << 20
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
	if d.Size > maxLayerSize || d.Size < 0 {
		return nil, fmt.Errorf("the layer is %d bytes, more than the %s docker multiarch reads to compare", d.Size, bounded.Size(maxLayerSize))
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
	files, err := readLayer(ctx, io.TeeReader(counted, verifier), layer)
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

// readLayer lists a layer's files (gzip, zstd or plain tar), the content of each regular file
// hashed; it stops when ctx ends.
func readLayer(ctx context.Context, r io.Reader, layer int) (map[string]FileState, error) {
	ds, err := decompress(r)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	tr := tar.NewReader(ds)
	files := map[string]FileState{}
	budget := &hashBudget{ctx: ctx, left: maxLayerUnpacked}
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if entries >= maxLayerFiles {
			return nil, fmt.Errorf("more than %d entries: not compared", maxLayerFiles)
		}
		if h.Typeflag == tar.TypeGNUSparse || sparsePAX(h) {
			return nil, fmt.Errorf("%s is a sparse file, which docker multiarch does not compare", layerPath(h.Name))
		}
		st := FileState{Layer: layer, Type: fileType(h.Typeflag), Size: h.Size, Mode: fmt.Sprintf("%04o", h.Mode&0o7777),
			Owner: strconv.Itoa(h.Uid) + ":" + strconv.Itoa(h.Gid), Mtime: h.ModTime.UTC().Format(time.RFC3339Nano), Link: printable(h.Linkname)}
		if h.Typeflag == tar.TypeReg {
			sum := sha256.New()
			if _, err := io.Copy(io.MultiWriter(sum, budget), tr); err != nil {
				return nil, err
			}
			st.Digest = digest.NewDigest(digest.SHA256, sum).String()
		}
		files[layerPath(h.Name)] = st
	}
}

// sparsePAX: a PAX header of GNU's sparse formats, whose holes the tar reader makes up.
func sparsePAX(h *tar.Header) bool {
	for k := range h.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// decompress reads a layer as gzip, zstd (its window and memory capped) or a plain tar, by its
// first bytes, in this process.
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxZstdMemory), zstd.WithDecoderMaxWindow(maxZstdMemory))
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// hashBudget counts the bytes hashed against the cap, and stops when the context ends (a read
// that never touches the network is not cut off by the stall watch).
type hashBudget struct {
	ctx  context.Context
	left int64
}

func (b *hashBudget) Write(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, context.Cause(b.ctx)
	}
	b.left -= int64(len(p))
	if b.left < 0 {
		return 0, fmt.Errorf("its files hold more than %s: not compared", bounded.Size(maxLayerUnpacked))
	}
	return len(p), nil
}

// layerPath is a tar entry's name as a path in the image, shown safely ("/etc/passwd").
func layerPath(name string) string {
	return printable(path.Join("/", strings.TrimSuffix(name, "/")))
}

// printable cuts a name a layer gave and quotes it when it holds what a terminal would act on.
func printable(s string) string {
	s = bounded.Cut(s, 512)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
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
