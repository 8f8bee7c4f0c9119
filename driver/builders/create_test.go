package builders

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

const testTimeout = 5 * time.Second

// noUnexpected fails on a Docker API call the fake engine does not know.
func noUnexpected(t *testing.T, engines ...*fakeEngine) {
	t.Helper()
	for _, e := range engines {
		if len(e.unexpected) > 0 {
			t.Errorf("unexpected engine calls: %v", e.unexpected)
		}
	}
}

// initStore makes buildx's store with a current builder for the CLI's endpoint, so that a
// rollback of --use has a file to put back.
func initStore(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Use("previous"); err != nil {
		t.Fatal(err)
	}
}

func TestCreateFailedBootOfANewBuilderLeavesNothing(t *testing.T) {
	a, b := &fakeEngine{}, &fakeEngine{pullFails: true}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a), "b": startFakeEngine(t, b)})
	initStore(t, m)
	before := storeState(t, dir)

	var display bytes.Buffer
	res, err := m.Create(t.Context(), testSpec("t", "a", "b"), CreateOptions{Use: true, Bootstrap: true, Progress: &display, ProgressMode: "plain"}, testTimeout)
	if err == nil || !strings.Contains(err.Error(), `builder "t" left as it was: nodes a, b did not boot`) {
		t.Fatalf("create with nodes that do not boot: %v", err)
	}
	// Booting is in BuildKit's progress display, per node, as buildx create --bootstrap shows it.
	for _, want := range []string{"[t-a internal] booting buildkit", "[t-b internal] booting buildkit", "ERROR"} {
		if !strings.Contains(display.String(), want) {
			t.Errorf("the progress display lacks %q:\n%s", want, display.String())
		}
	}
	if !res.Apply.Created || len(res.Boot) != 2 || res.Boot[0].Err == nil || res.Boot[1].Err == nil {
		t.Errorf("result %+v", res)
	}
	sameState(t, "buildx store after the rollback", storeState(t, dir), before)
	// a's container was created before its start failed: it goes again, with its state volume.
	if !slices.Equal(a.created, []string{"buildx_buildkit_t-a"}) || !slices.Equal(a.removed, a.created) ||
		!slices.Equal(a.volumesRm, []string{"buildx_buildkit_t-a_state"}) || len(a.containers) != 0 {
		t.Errorf("engine a: created %v, removed %v, volumes removed %v, left %v", a.created, a.removed, a.volumesRm, a.containers)
	}
	if len(b.created)+len(b.removed) != 0 {
		t.Errorf("engine b: created %v, removed %v", b.created, b.removed)
	}
	noUnexpected(t, a, b)
}

func TestCreateFailedBootKeepsAnExistingBuilder(t *testing.T) {
	a := &fakeEngine{containers: map[string]bool{"buildx_buildkit_t-a": false}} // stopped
	b := &fakeEngine{}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a), "b": startFakeEngine(t, b)})
	initStore(t, m)
	if res, err := m.Create(t.Context(), testSpec("t", "a"), CreateOptions{}, testTimeout); err != nil || !res.Apply.Created {
		t.Fatalf("create: %+v, %v", res, err)
	}
	// An old activity stamp, so that the update's new one differs from it.
	if err := os.WriteFile(filepath.Join(dir, "activity", "t"), []byte("2001-02-03T04:05:06Z"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := storeState(t, dir)

	res, err := m.Create(t.Context(), testSpec("t", "a", "b"), CreateOptions{Use: true, Bootstrap: true}, testTimeout)
	if err == nil || !strings.Contains(err.Error(), `builder "t" left as it was: nodes a, b did not boot`) {
		t.Fatalf("update with nodes that do not boot: %v", err)
	}
	if res.Apply.Created || !res.Apply.Changed || !slices.Equal(res.Apply.Added, []string{"b"}) {
		t.Errorf("result %+v", res.Apply)
	}
	sameState(t, "buildx store after the rollback", storeState(t, dir), before)
	if _, ok := a.containers["buildx_buildkit_t-a"]; !ok || len(a.removed) != 0 {
		t.Errorf("the existing node's container was removed: %v, removed %v", a.containers, a.removed)
	}
	if !slices.Equal(b.removed, []string{"buildx_buildkit_t-b"}) || len(b.containers) != 0 {
		t.Errorf("engine b: created %v, removed %v, left %v", b.created, b.removed, b.containers)
	}
	noUnexpected(t, a, b)
}

// Ctrl-C while BuildKit boots puts everything back; the store lock is not held while booting.
func TestCreateInterruptedWhileBooting(t *testing.T) {
	a := &fakeEngine{}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a)})
	initStore(t, m)
	before := storeState(t, dir)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	lockFree := make(chan bool, 1)
	a.onStart = func() {
		l := flock.New(filepath.Join(dir, ".lock"))
		ok, err := l.TryLock()
		if ok {
			_ = l.Unlock()
		}
		lockFree <- ok && err == nil
		cancel()
	}
	_, err := m.Create(ctx, testSpec("t", "a"), CreateOptions{Use: true, Bootstrap: true}, testTimeout)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `builder "t" left as it was`) {
		t.Fatalf("interrupted create: %v", err)
	}
	if !<-lockFree {
		t.Error("the buildx store lock was held while BuildKit booted")
	}
	sameState(t, "buildx store after the interrupt", storeState(t, dir), before)
	if len(a.containers) != 0 || !slices.Equal(a.removed, []string{"buildx_buildkit_t-a"}) {
		t.Errorf("engine a: left %v, removed %v", a.containers, a.removed)
	}
	noUnexpected(t, a)
}

// An up-to-date builder writes nothing; --use without --bootstrap writes only the current builder.
func TestCreateUpToDateWritesNothing(t *testing.T) {
	a := &fakeEngine{}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a)})
	initStore(t, m)
	if res, err := m.Create(t.Context(), testSpec("t", "a"), CreateOptions{}, testTimeout); err != nil || !res.Apply.Created {
		t.Fatalf("create: %+v, %v", res, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "activity", "t"), []byte("2001-02-03T04:05:06Z"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := storeState(t, dir)
	res, err := m.Create(t.Context(), testSpec("t", "a"), CreateOptions{}, testTimeout)
	if err != nil || res.Apply.Changed || res.Apply.Created {
		t.Fatalf("second create: %+v, %v", res, err)
	}
	sameState(t, "buildx store after a no-op create", storeState(t, dir), before)

	res, err = m.Create(t.Context(), testSpec("t", "a"), CreateOptions{Use: true}, testTimeout)
	if err != nil || res.Apply.Changed {
		t.Fatalf("create --use: %+v, %v", res, err)
	}
	after := storeState(t, dir)
	if after["current"] == before["current"] || !strings.Contains(after["current"], `"Name":"t"`) {
		t.Errorf("create --use: current = %q", after["current"])
	}
	delete(after, "current")
	delete(before, "current")
	sameState(t, "buildx store after create --use", after, before)
	if len(a.created) != 0 {
		t.Errorf("create without --bootstrap created containers %v", a.created)
	}
	noUnexpected(t, a)
}

// Apply's own failure (buildx rejects a driver option once the builder is written) puts it back.
func TestCreateRejectedDriverOptionLeavesTheBuilder(t *testing.T) {
	a := &fakeEngine{}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a)})
	initStore(t, m)
	if _, err := m.Create(t.Context(), testSpec("t", "a"), CreateOptions{}, testTimeout); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "activity", "t"), []byte("2001-02-03T04:05:06Z"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := storeState(t, dir)
	spec := testSpec("t", "a")
	spec.DriverOpts = []string{"bogus-option=1"}
	if _, err := m.Create(t.Context(), spec, CreateOptions{Use: true, Bootstrap: true}, testTimeout); err == nil ||
		!strings.Contains(err.Error(), `builder "t" unchanged`) || !strings.Contains(err.Error(), "bogus-option") {
		t.Fatalf("create with a bad driver option: %v", err)
	}
	sameState(t, "buildx store after a rejected update", storeState(t, dir), before)

	spec.Name = "never"
	if _, err := m.Create(t.Context(), spec, CreateOptions{}, testTimeout); err == nil {
		t.Fatal("a new builder with a bad driver option was created")
	}
	sameState(t, "buildx store after a rejected create", storeState(t, dir), before)
	noUnexpected(t, a)
}

// A boot cut off by Ctrl-C may write progress later, once create has returned and its display
// has finished: that progress is dropped (a write to the finished display would panic).
func TestCreateBootProgressAfterTheDisplayEnds(t *testing.T) {
	a := &fakeEngine{}
	m, _ := testCLI(t, map[string]string{"a": startFakeEngine(t, a)})
	initStore(t, m)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	release, answered := make(chan struct{}), make(chan struct{})
	a.onStart = func() { // called holding the engine's lock: let the rollback's calls through meanwhile
		cancel()
		a.mu.Unlock()
		<-release
		a.mu.Lock()
		close(answered)
	}
	var display bytes.Buffer
	_, err := m.Create(ctx, testSpec("t", "a"), CreateOptions{Bootstrap: true, Progress: &display, ProgressMode: "plain"}, testTimeout)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted create: %v", err)
	}
	close(release) // the start is refused now: the abandoned boot reports it to its writer
	<-answered
	time.Sleep(200 * time.Millisecond) // the boot reads the answer and writes its progress
	if !strings.Contains(display.String(), "booting buildkit") {
		t.Errorf("the display showed no boot:\n%s", display.String())
	}
}
