package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/opencontainers/go-digest"
)

type discard struct{}

func (discard) Write(*client.SolveStatus)                 {}
func (discard) WriteBuildRef(string, string)              {}
func (discard) ValidateLogSource(digest.Digest, any) bool { return true }
func (discard) ClearLogSource(any)                        {}

func TestPushWatchCutsOffAStalledPushOnly(t *testing.T) {
	now := time.Now()
	started := now
	w := &pushWatch{timeout: time.Second, last: now, active: map[string]bool{}}
	// A quiet RUN step is not a push.
	w.observe(&client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "extracting sha256:aa"}}}, now)
	if got := w.stalled(now.Add(5 * time.Second)); got != "" {
		t.Fatalf("a quiet non-push step was cut off: %q", got)
	}
	w.observe(&client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "pushing manifest for 127.0.0.1:5000/app@sha256:bb", Started: &started}}}, now)
	if got := w.stalled(now.Add(500 * time.Millisecond)); got != "" {
		t.Fatalf("cut off before the deadline: %q", got)
	}
	if got := w.stalled(now.Add(2 * time.Second)); !strings.Contains(got, "pushing manifest") {
		t.Fatalf("a push stalled for 2s with a 1s deadline: %q", got)
	}
	done := now.Add(2 * time.Second)
	w.observe(&client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "pushing manifest for 127.0.0.1:5000/app@sha256:bb", Started: &started, Completed: &done}}}, done)
	if got := w.stalled(done.Add(time.Hour)); got != "" {
		t.Fatalf("a completed push was cut off: %q", got)
	}
}

func TestPushWatchCancelsWithTheRegistryNamed(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	w := newPushWatch(discard{}, 200*time.Millisecond, "127.0.0.1:5000", cancel)
	defer w.close()
	started := time.Now()
	w.Write(&client.SolveStatus{Statuses: []*client.VertexStatus{{ID: "pushing layers", Started: &started}}})
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("a stalled push was not cancelled")
	}
	if err := context.Cause(ctx); err == nil || !strings.Contains(err.Error(), "registry 127.0.0.1:5000: pushing layers: no progress") {
		t.Fatalf("cause %v", err)
	}
}
