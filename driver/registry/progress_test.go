package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/opencontainers/go-digest"
)

// linkWriter is an upload over a link of rate bytes per second: a write returns once the link
// has carried all of it, as a write into a registry upload's pipe does. It gives up when ctx ends.
type linkWriter struct {
	ctx  context.Context
	rate int
	buf  bytes.Buffer
}

func (w *linkWriter) Write(b []byte) (int, error) {
	select {
	case <-time.After(time.Duration(len(b)) * time.Second / time.Duration(w.rate)):
	case <-w.ctx.Done():
		return 0, w.ctx.Err()
	}
	return w.buf.Write(b)
}

func (w *linkWriter) Close() error              { return nil }
func (w *linkWriter) Digest() digest.Digest     { return digest.FromBytes(w.buf.Bytes()) }
func (w *linkWriter) Truncate(size int64) error { return errors.New("cannot truncate") }

func (w *linkWriter) Status() (content.Status, error) {
	return content.Status{Offset: int64(w.buf.Len())}, nil
}

func (w *linkWriter) Commit(_ context.Context, size int64, expected digest.Digest, _ ...content.Opt) error {
	if int64(w.buf.Len()) != size || w.Digest() != expected {
		return fmt.Errorf("committed %d bytes %s, want %d %s", w.buf.Len(), w.Digest(), size, expected)
	}
	return nil
}

// A blob copied over a link slower than 1 MiB per timeout, but moving, is not cut off: content.Copy
// writes 1 MiB at a time, and each write takes longer than the timeout to go through.
func TestStallWatchLetsASlowMovingTransferGoOn(t *testing.T) {
	const timeout = 200 * time.Millisecond
	dt := make([]byte, 1536<<10)
	_, _ = rand.Read(dt)
	sctx, touch, stop := watchStall(context.Background(), timeout)
	defer stop()
	w := progressWriter{Writer: &linkWriter{ctx: sctx, rate: 2 << 20}, touch: touch}
	start := time.Now()
	err := content.Copy(sctx, w, bytes.NewReader(dt), int64(len(dt)), digest.FromBytes(dt))
	if err = stallError(sctx, err); err != nil {
		t.Fatalf("a transfer moving at 2 MiB/s was cut off after %s: %v", time.Since(start), err)
	}
	if took := time.Since(start); took < 2*timeout {
		t.Errorf("the transfer took %s: not slower than the timeout, proves nothing", took)
	}
}

func TestStallWatchCutsOffAStoppedTransfer(t *testing.T) {
	const timeout = 100 * time.Millisecond
	sctx, touch, stop := watchStall(context.Background(), timeout)
	defer stop()
	w := progressWriter{Writer: &linkWriter{ctx: sctx, rate: 1}, touch: touch} // 1 byte/s: a stopped link
	start := time.Now()
	_, err := w.Write(make([]byte, 64))
	if took := time.Since(start); took > timeout+500*time.Millisecond {
		t.Errorf("the write returned after %s with a %s timeout", took, timeout)
	}
	err = stallError(sctx, err)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no progress for 100ms") {
		t.Fatalf("err = %v, want the stall", err)
	}
}
