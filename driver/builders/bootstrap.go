package builders

import (
	"context"
	"io"
	"sync"
	"time"

	bxdriver "github.com/docker/buildx/driver"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// BootResult is how one node's BuildKit came up.
type BootResult struct {
	Node     string
	Duration time.Duration
	Err      error
}

// needsBoot tells whether booting starts a node: it loaded, and its BuildKit is not running.
func needsBoot(n builderNode) bool {
	return n.Err == nil && (n.DriverInfo == nil || n.DriverInfo.Status != bxdriver.Running)
}

// bootNodes starts the BuildKit of nodes (loaded with their status) in parallel, each within
// timeout, showing it in BuildKit's progress display on out as buildx's create --bootstrap does
// ("[internal] booting buildkit", prefixed with the node when there are several; mode "auto" also
// reads BUILDKIT_PROGRESS). A nil out shows nothing. It writes nothing to buildx's store: call it
// without the store lock.
func bootNodes(ctx context.Context, nodes []builderNode, timeout time.Duration, out io.Writer, mode string) []BootResult {
	toBoot := 0
	for _, n := range nodes {
		if needsBoot(n) {
			toBoot++
		}
	}
	var printer *progress.Printer
	if toBoot > 0 { // as buildx: no display when nothing boots
		printer = bootPrinter(ctx, out, mode)
	}
	res := make([]BootResult, len(nodes))
	writers := make([]*lateDropped, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			start := time.Now()
			res[i] = BootResult{Node: n.Endpoint, Err: n.Err}
			if needsBoot(n) {
				var pw progress.Writer
				if printer != nil {
					writers[i] = &lateDropped{Writer: progress.WithPrefix(printer, n.Name, toBoot > 1)}
					pw = writers[i]
				}
				res[i].Err = deadline.Call(ctx, timeout, func(ctx context.Context) error {
					_, err := bxdriver.Boot(ctx, ctx, n.Driver, pw)
					return err
				})
			}
			res[i].Err = redact.Error(res[i].Err)
			res[i].Duration = time.Since(start)
		})
	}
	wg.Wait()
	if printer != nil {
		for _, w := range writers {
			w.stop() // a boot cut off at its deadline may still write: dropped, the display is done
		}
		_ = printer.Wait() // the display's own error: each node's is in its result
	}
	return res
}

// lateDropped forwards progress until stop; what a boot that was cut off at its deadline writes
// later is dropped instead of reaching a display that has finished (which would panic).
type lateDropped struct {
	progress.Writer
	mu      sync.Mutex
	stopped bool
}

func (w *lateDropped) Write(s *client.SolveStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.Writer.Write(s)
	}
}

func (w *lateDropped) stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}

// bootPrinter is the progress display for booting, or nil when there is nowhere to show it (or the
// mode cannot be shown: the boot itself is not to fail for its display).
func bootPrinter(ctx context.Context, out io.Writer, mode string) *progress.Printer {
	if out == nil || mode == "none" || mode == "quiet" {
		return nil
	}
	if mode == "" {
		mode = string(progressui.AutoMode)
	}
	printer, err := progress.NewPrinter(context.WithoutCancel(ctx), out, progressui.DisplayMode(mode))
	if err != nil {
		return nil
	}
	return printer
}
