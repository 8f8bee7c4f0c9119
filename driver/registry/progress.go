package registry

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/containerd/containerd/v2/core/content"
)

// stallWatch cancels a transfer's context when no progress was reported for timeout, so a
// registry that stops answering in the middle of a blob fails the operation instead of hanging it,
// while a slow but moving transfer goes on.
type stallWatch struct {
	timer   *time.Timer
	timeout time.Duration
}

// watchStall returns a context that ends when touch has not been called for timeout (its cause
// says so) and a stop function to call when the transfer is over.
func watchStall(ctx context.Context, timeout time.Duration) (context.Context, func(), func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &stallWatch{timeout: timeout}
	w.timer = time.AfterFunc(timeout, func() {
		cancel(fmt.Errorf("no progress for %s: %w", timeout, context.DeadlineExceeded))
	})
	touch := func() { w.timer.Reset(w.timeout) }
	stop := func() {
		w.timer.Stop()
		cancel(nil)
	}
	return ctx, touch, stop
}

// stallError is the error of a transfer: the stall when the watch cut it off, else err.
func stallError(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
	}
	return err
}

// progressIngester reports every write (and every writer opened) as progress.
type progressIngester struct {
	content.Ingester
	touch func()
}

func (p progressIngester) Writer(ctx context.Context, opts ...content.WriterOpt) (content.Writer, error) {
	w, err := p.Ingester.Writer(ctx, opts...)
	p.touch()
	if err != nil {
		return nil, err
	}
	return progressWriter{Writer: w, touch: p.touch}, nil
}

type progressWriter struct {
	content.Writer
	touch func()
}

// progressChunk is the most written between two progress reports. A write to a registry upload
// returns only once the registry has taken all of it in, and content.Copy writes 1 MiB at a time:
// reported per write, a link slower than 1 MiB per timeout would be cut off while moving.
const progressChunk = 32 << 10

func (p progressWriter) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		m, err := p.Writer.Write(b[:min(len(b), progressChunk)])
		n += m
		if m > 0 {
			p.touch()
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
		b = b[m:]
	}
	return n, nil
}
