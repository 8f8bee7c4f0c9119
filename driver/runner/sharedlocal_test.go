package runner

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/tonistiigi/fsutil"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// hangingDial is a node that never answers a session's dial, until the dial is given up.
func hangingDial(ctx context.Context, _ string, _ map[string][]string) (net.Conn, error) {
	<-ctx.Done()
	return nil, context.Cause(ctx)
}

// refusingDial is a node that refuses every session.
func refusingDial(context.Context, string, map[string][]string) (net.Conn, error) {
	return nil, errors.New("connection refused")
}

func localSolve(t *testing.T, dirs localDirs) *client.SolveOpt {
	t.Helper()
	so := &client.SolveOpt{FrontendAttrs: map[string]string{}, LocalMounts: map[string]fsutil.FS{}}
	for name, dir := range dirs {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		so.LocalMounts[name] = fs
	}
	return so
}

// Solves on one node sending the same folders name one session for both mounts; another node,
// or another folder, gets its own. A session outlives its solves (a solve starting later on the
// node still shares it) until closeAll, which does not wait for a dial the node never answers.
func TestLocalSharesOneSessionPerNodeAndFolders(t *testing.T) {
	var ls localShares
	c := session.Dialer(hangingDial)
	ctxDir, otherDir := t.TempDir(), t.TempDir()
	same := localDirs{"context": ctxDir, "dockerfile": ctxDir}
	nop := func(error) {}
	join := func(node string, dirs localDirs) (string, func()) {
		so := localSolve(t, dirs)
		release, err := ls.join(t.Context(), c, node, dirs, so, nop)
		if err != nil {
			t.Fatal(err)
		}
		id := so.FrontendAttrs["local-sessionid:context"]
		if id == "" || so.FrontendAttrs["local-sessionid:dockerfile"] != id {
			t.Fatalf("attrs %v: want both mounts on one session", so.FrontendAttrs)
		}
		return id, release
	}
	a, relA := join("farm/a", same)
	b, relB := join("farm/a", same)
	other, relO := join("farm/b", same)
	folder, relF := join("farm/a", localDirs{"context": otherDir, "dockerfile": ctxDir})
	if a != b {
		t.Errorf("two solves on one node sending the same folders: sessions %s and %s", a, b)
	}
	if other == a || folder == a || other == folder {
		t.Errorf("sessions %s (a), %s (another node), %s (another folder): want three", a, other, folder)
	}
	relA()
	relB()
	relO()
	relF()
	later, relL := join("farm/a", same)
	relL()
	if later != a {
		t.Errorf("a solve starting after the others ended got session %s, not their %s", later, a)
	}
	done := make(chan struct{})
	go func() { ls.closeAll(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("closeAll waits for a dial the node never answers")
	}
	late := localSolve(t, same)
	rel, err := ls.join(t.Context(), c, "farm/a", same, late, nop)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if len(late.FrontendAttrs) != 0 {
		t.Errorf("a solve joining after closeAll got %v: want its own session, no shared one left open", late.FrontendAttrs)
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("given up"))
	if _, err := (&localShares{}).join(ctx, c, "farm/a", same, localSolve(t, same), nop); err == nil || err.Error() != "given up" {
		t.Errorf("a join of a step already given up: %v", err)
	}
}

// A bake target that shares nothing closes, when it ends, only its own sessions: the ones the
// command's sharing targets use stay open until the command closes them.
func TestLocalsForKeepsTheCommandsSharedSessions(t *testing.T) {
	r := &Runner{memo: &memo{}}
	shared := r.localsFor(&parsed{Options: Options{ShareLocals: true}})
	own := r.localsFor(&parsed{})
	if shared != &r.memo.locals || own == shared {
		t.Fatal("a build that shares nothing got the command's shared sessions")
	}
	dir := t.TempDir()
	dirs := localDirs{"context": dir}
	rel, err := shared.join(t.Context(), hangingDial, "farm/a", dirs, localSolve(t, dirs), func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	own.closeAll()
	shared.mu.Lock()
	open := len(shared.m)
	shared.mu.Unlock()
	if open != 1 {
		t.Errorf("%d shared sessions open after another build closed its own: want 1", open)
	}
	r.CloseLocalShares()
}

// A solve without local folders (a remote context) joins nothing and sets nothing.
func TestLocalSharesLeaveRemoteContextsAlone(t *testing.T) {
	var ls localShares
	so := localSolve(t, nil)
	release, err := ls.join(t.Context(), hangingDial, "farm/a", localDirs{}, so, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	release()
	if len(so.FrontendAttrs) != 0 || len(ls.m) != 0 {
		t.Errorf("attrs %v, shares %v", so.FrontendAttrs, ls.m)
	}
}

// The shared session cannot reach the node: every solve on it is stopped, the cause naming the
// node and the folders, within seconds (BuildKit would wait for the session otherwise).
func TestLocalSharesStopTheSolvesWhenTheSessionEnds(t *testing.T) {
	var ls localShares
	c := session.Dialer(refusingDial)
	dir := t.TempDir()
	dirs := localDirs{"context": dir, "dockerfile": dir}
	causes := make(chan error, 2)
	for range 2 {
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		release, err := ls.join(ctx, c, "farm/arm", dirs, localSolve(t, dirs), func(err error) { cancel(err); causes <- err })
		if err != nil {
			t.Fatal(err)
		}
		defer release()
	}
	defer ls.closeAll()
	for range 2 {
		select {
		case err := <-causes:
			if !strings.Contains(err.Error(), "node farm/arm") || !strings.Contains(err.Error(), "context, dockerfile") {
				t.Errorf("cause %q: want the node and the folders named", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the solves were not stopped when their shared session could not reach the node")
		}
	}
	ls.mu.Lock()
	left := len(ls.m)
	ls.mu.Unlock()
	if left != 0 {
		t.Errorf("the ended session is still offered to the next solve: %d", left)
	}
}

// closedDial is a node that takes the session and drops it at once, as BuildKit does with one
// that fails its health checks after its files were sent.
func closedDial(context.Context, string, map[string][]string) (net.Conn, error) {
	a, b := net.Pipe()
	_ = b.Close()
	return a, nil
}

// A session BuildKit closes is not a failure of the solves on it (BuildKit says so to one that
// still needs its files); the next solve gets a new one.
func TestLocalSharesLeaveSolvesRunningWhenBuildKitClosesTheSession(t *testing.T) {
	var ls localShares
	dir := t.TempDir()
	dirs := localDirs{"context": dir}
	cancelled := make(chan error, 1)
	so := localSolve(t, dirs)
	release, err := ls.join(t.Context(), closedDial, "farm/a", dirs, so, func(err error) { cancelled <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	first := so.FrontendAttrs["local-sessionid:context"]
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ls.mu.Lock()
		left := len(ls.m)
		ls.mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the closed session is still offered")
		}
	}
	select {
	case err := <-cancelled:
		t.Fatalf("the solve was stopped: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	next := localSolve(t, dirs)
	rel, err := ls.join(t.Context(), closedDial, "farm/a", dirs, next, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	rel()
	if next.FrontendAttrs["local-sessionid:context"] == first {
		t.Error("a new solve joined the closed session")
	}
	ls.closeAll()
}

// Bake's builds share their sessions; a build shares only between its own steps on one node (its
// emulated platforms), never a step built by an engine.
func TestSharesLocals(t *testing.T) {
	steps := func(nodes ...string) *Result {
		res := &Result{}
		for _, n := range nodes {
			s := StepResult{Step: plan.Step{BuildxNode: strings.TrimPrefix(n, "engine:")}}
			if strings.HasPrefix(n, "engine:") {
				s.Strategy = plan.StrategyEngine
			}
			res.Steps = append(res.Steps, s)
		}
		return res
	}
	for name, tc := range map[string]struct {
		bake bool
		res  *Result
		want bool
	}{
		"bake, one step":           {true, steps("a"), true},
		"one node per step":        {false, steps("a", "b"), false},
		"two steps on one node":    {false, steps("a", "a", "b"), true},
		"one of them on an engine": {false, steps("a", "engine:a"), false},
	} {
		st := &runState{p: &parsed{Options: Options{ShareLocals: tc.bake}}, res: tc.res}
		if got := sharesLocals(st, &tc.res.Steps[0]); got != tc.want {
			t.Errorf("%s: shares %v, want %v", name, got, tc.want)
		}
	}
}
