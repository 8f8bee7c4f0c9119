package runner

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// localShares gives the command's solves on one node that send the same local folders one
// session serving them, as buildx bake does for its targets (build.detectSharedMounts): every
// such solve names that session for its local inputs (local-sessionid:NAME), BuildKit's solver
// merges their equal local sources, and each folder crosses to the node once instead of once
// per solve. A solve keeps its own session for the rest (registry auth, secrets, ssh). The
// sessions last until their owner closes them all (closeAll: a build's end, or bake's once every
// target is built), so a solve that starts after another on its node ended still shares.
type localShares struct {
	mu     sync.Mutex
	m      map[string]*localShare
	closed bool // closeAll ran: its owner is done, and a solve still joining shares nothing
}

// localShare is one shared session and the solves using it: each one's cancel, called when the
// session could not reach the node.
type localShare struct {
	s       *session.Session
	stop    context.CancelFunc // ends the session's dial and run
	users   map[int]context.CancelCauseFunc
	next    int
	closing bool // its owner closed it: its end is not a failure
}

// localDirs are the local folders a solve sends: its mount name ("context", "dockerfile") to the
// folder on this machine.
type localDirs map[string]string

func (d localDirs) key(node string) string {
	var b strings.Builder
	b.WriteString(node)
	for _, name := range slices.Sorted(maps.Keys(d)) {
		dir := d[name]
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		b.WriteString("\x00" + name + "=" + dir)
	}
	return b.String()
}

// localDirsOf is what s's solve sends from this machine (setInputs mounts exactly these): the
// context when it is a local folder (not a tar from stdin), and the Dockerfile's folder unless
// the Dockerfile is read from a remote context.
func localDirsOf(p *parsed, s *StepResult) localDirs {
	d := localDirs{}
	local := plan.IsLocalDir(p.ContextPath)
	if local && (p.stdin == nil || p.stdin.tar == "") {
		d["context"] = p.ContextPath
	}
	if local || p.File != "" || p.fileFor[s.Platform] != "" {
		d["dockerfile"] = filepath.Dir(s.Dockerfile)
	}
	return d
}

// join points so's local mounts (dirs, sent to node through dial: its BuildKit client's) at the
// session the command's solves sending the same folders there share, starting it when so is the
// first. cancel ends the solve when that session cannot reach the node; release is the solve
// done with it.
func (ls *localShares) join(ctx context.Context, dial session.Dialer, node string, dirs localDirs, so *client.SolveOpt, cancel context.CancelCauseFunc) (release func(), err error) {
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	if len(dirs) == 0 || len(so.LocalMounts) != len(dirs) {
		return func() {}, nil
	}
	key := dirs.key(node)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closed { // a step its build gave up on (the watchdog) arriving late: its own session serves it
		return func() {}, nil
	}
	sh, ok := ls.m[key]
	if !ok {
		if sh, err = ls.start(ctx, dial, node, key, so); err != nil {
			return nil, err
		}
	}
	id := sh.next
	sh.next++
	sh.users[id] = cancel
	for name := range so.LocalMounts {
		so.FrontendAttrs["local-sessionid:"+name] = sh.s.ID()
	}
	return func() { ls.leave(sh, id) }, nil
}

// start opens the shared session for key and runs it through dial until closeAll ends it; ls.mu
// is held.
func (ls *localShares) start(ctx context.Context, dial session.Dialer, node, key string, so *client.SolveOpt) (*localShare, error) {
	s, err := newLocalSession(ctx, so)
	if err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx)) // ended by closeAll, not by one solve's end
	sh := &localShare{s: s, stop: stop, users: map[int]context.CancelCauseFunc{}}
	if ls.m == nil {
		ls.m = map[string]*localShare{}
	}
	ls.m[key] = sh
	folders := strings.Join(slices.Sorted(maps.Keys(so.LocalMounts)), ", ")
	go func() {
		err := s.Run(rctx, dial)
		if err != nil {
			err = fmt.Errorf("the session sending the local folders (%s) to node %s could not reach it: %w", folders, node, err)
		}
		ls.ended(key, sh, err)
		stop()
	}()
	return sh, nil
}

// ended is sh's session over: the next solve starts a new one. When it could not reach the node
// (err), every solve using it stops with err, as BuildKit would wait for it; one BuildKit closed
// later (its files sent) is left to BuildKit, which says so to a solve that still needs them.
func (ls *localShares) ended(key string, sh *localShare, err error) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if sh.closing {
		return
	}
	if ls.m[key] == sh {
		delete(ls.m, key)
	}
	if err == nil {
		return
	}
	for _, cancel := range sh.users {
		cancel(err)
	}
}

// leave is one solve done with sh: its failure no longer stops that solve.
func (ls *localShares) leave(sh *localShare, id int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	delete(sh.users, id)
}

// closeAll ends every shared session, a dial still waiting first (Close would wait for it).
func (ls *localShares) closeAll() {
	ls.mu.Lock()
	shares := slices.Collect(maps.Values(ls.m))
	ls.m, ls.closed = nil, true
	for _, sh := range shares {
		sh.closing = true
	}
	ls.mu.Unlock()
	for _, sh := range shares {
		sh.stop()
		_ = sh.s.Close()
	}
}

// newLocalSession is a session serving so's local mounts, their owners reset as BuildKit's client
// sends them (client.prepareSyncedFiles).
func newLocalSession(ctx context.Context, so *client.SolveOpt) (*session.Session, error) {
	src := filesync.StaticDirSource{}
	for name, fs := range so.LocalMounts {
		f, err := fsutil.NewFilterFS(fs, &fsutil.FilterOpt{Map: resetOwner})
		if err != nil {
			return nil, err
		}
		src[name] = f
	}
	s, err := session.NewSession(ctx, so.SharedKey)
	if err != nil {
		return nil, err
	}
	s.Allow(filesync.NewFSSyncProvider(src))
	return s, nil
}

func resetOwner(_ string, st *fstypes.Stat) fsutil.MapResult {
	st.Uid, st.Gid = 0, 0
	return fsutil.MapResultKeep
}

// sharesLocals says whether s's solve shares its local folders' session: a bake's (its other
// targets run at once) or one of several steps of this build on s's node.
func sharesLocals(st *runState, s *StepResult) bool {
	if st.p.ShareLocals {
		return true
	}
	n := 0
	for i := range st.res.Steps {
		o := &st.res.Steps[i]
		if o.BuildxNode == s.BuildxNode && o.Strategy != plan.StrategyEngine {
			n++
		}
	}
	return n > 1
}
