package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
)

// pushWatch follows a solve's progress while BuildKit pushes to a registry: when a push step
// ("pushing layers", "pushing manifest for ...") has started and nothing at all has been reported
// for timeout, the registry stopped answering inside BuildKit, where no client deadline reaches,
// and the solve is cancelled with an error naming the registry and the push. Quiet RUN steps are
// not pushes and are never cut off.
type pushWatch struct {
	progress.Writer
	timeout  time.Duration
	registry string
	cancel   context.CancelCauseFunc
	mu       sync.Mutex
	last     time.Time
	active   map[string]bool // push statuses started and not completed
	stop     chan struct{}
}

func newPushWatch(pw progress.Writer, timeout time.Duration, registry string, cancel context.CancelCauseFunc) *pushWatch {
	w := &pushWatch{Writer: pw, timeout: timeout, registry: registry, cancel: cancel,
		last: time.Now(), active: map[string]bool{}, stop: make(chan struct{})}
	go w.run()
	return w
}

func (w *pushWatch) Write(s *client.SolveStatus) {
	w.observe(s, time.Now())
	w.Writer.Write(s)
}

func (w *pushWatch) observe(s *client.SolveStatus, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = now
	for _, st := range s.Statuses {
		if !strings.HasPrefix(st.ID, "pushing ") {
			continue
		}
		if st.Completed != nil {
			delete(w.active, st.ID)
		} else {
			w.active[st.ID] = true
		}
	}
}

// stalled names the push that made no progress for timeout, if one did.
func (w *pushWatch) stalled(now time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now.Sub(w.last) < w.timeout {
		return ""
	}
	for id := range w.active {
		return id
	}
	return ""
}

func (w *pushWatch) run() {
	t := time.NewTicker(max(w.timeout/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			if push := w.stalled(now); push != "" {
				w.cancel(fmt.Errorf("registry %s: %s: no progress for %s", w.registry, push, w.timeout))
				return
			}
		}
	}
}

func (w *pushWatch) close() { close(w.stop) }
