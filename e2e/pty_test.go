//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// proc is a process started in its own process group, for tests that interrupt or signal it.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	name   string
	exited chan struct{} // closed once Wait returned
	endAt  time.Time     // when Wait returned

	mu     sync.Mutex
	mark   time.Time // start, or the last interrupt/signal: waitExit measures from it
	stdout lockedBuffer
	stderr lockedBuffer // unused on a tty: everything goes to stdout
}

// lockedBuffer is a bytes.Buffer written by one goroutine while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs cmd, whose SysProcAttr puts it in its own process group, and kills that group at
// the end of the test if it is still running.
func (p *proc) start() {
	p.t.Helper()
	p.name = strings.Join(p.cmd.Args, " ")
	p.exited = make(chan struct{})
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	p.mark = time.Now()
	go func() {
		p.cmd.Wait()
		p.endAt = time.Now()
		close(p.exited)
	}()
	p.t.Cleanup(func() {
		p.killGroup()
		<-p.exited
	})
}

func (p *proc) setMark() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mark = time.Now()
}

// signal sends sig to the process itself (docker, not its plugin child).
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	p.setMark()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: sending %v: %v", p.name, sig, err)
	}
}

// signalGroup sends sig to the whole process group (docker and the plugin it runs), as a shell
// does for a foreground job.
func (p *proc) signalGroup(sig syscall.Signal) {
	p.t.Helper()
	p.setMark()
	if err := unix.Kill(-p.cmd.Process.Pid, sig); err != nil {
		p.t.Fatalf("%s: sending %v to the group: %v", p.name, sig, err)
	}
}

func (p *proc) killGroup() { unix.Kill(-p.cmd.Process.Pid, unix.SIGKILL) }

// output is what the process printed so far (stdout then stderr; on a tty, the terminal's output).
func (p *proc) output() string { return p.stdout.String() + p.stderr.String() }

// waitOutput waits until the output contains s, failing the test after timeout.
func (p *proc) waitOutput(s string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.output(), s) {
		select {
		case <-p.exited:
			if strings.Contains(p.output(), s) {
				return
			}
			p.t.Fatalf("%s exited without printing %q:\n%s", p.name, s, p.output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: no %q after %s:\n%s", p.name, s, timeout, p.output())
		}
	}
}

// waitExit waits for the process to end and returns its exit code (128+N when killed by signal
// N, as shells report it) and how long it took since the last interrupt/signal (or since the
// start). If it still runs after timeout, its process group is killed and the test fails.
func (p *proc) waitExit(timeout time.Duration) (code int, took time.Duration) {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.killGroup()
		<-p.exited
		p.t.Fatalf("%s: still running %s after waiting %s (killed):\n%s", p.name, time.Since(p.mark).Round(time.Millisecond), timeout, p.output())
	}
	p.mu.Lock()
	took = p.endAt.Sub(p.mark)
	p.mu.Unlock()
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), took
	}
	return p.cmd.ProcessState.ExitCode(), took
}

// bgProc is a process run without a terminal, in its own process group, output captured.
type bgProc struct{ proc }

// startBackground runs name with args and env, without a terminal.
func startBackground(t *testing.T, env []string, stdin []byte, name string, args ...string) *bgProc {
	t.Helper()
	p := &bgProc{proc{t: t, cmd: exec.Command(name, args...)}}
	p.cmd.Env = env
	if stdin != nil {
		p.cmd.Stdin = bytes.NewReader(stdin)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 2 * time.Second // do not wait forever on pipes a grandchild keeps open
	p.start()
	return p
}

// startBackground runs `docker ARGS...` like run does, but returns at once.
func (c *cli) startBackground(args ...string) *bgProc {
	c.t.Helper()
	return startBackground(c.t, append(cleanEnv(), c.env...), c.stdin, "docker", args...)
}

// ttyProc is a process run on a pseudo-terminal it has as controlling terminal, as in an
// interactive shell: Ctrl-C there interrupts its foreground process group.
type ttyProc struct {
	proc
	master   *os.File
	readDone chan struct{}
}

// startTTY runs name with args and env as a session leader on a new pseudo-terminal.
func startTTY(t *testing.T, env []string, name string, args ...string) *ttyProc {
	t.Helper()
	master, slave, err := openPTY(40, 120)
	if err != nil {
		t.Fatal(err)
	}
	p := &ttyProc{proc: proc{t: t, cmd: exec.Command(name, args...)}, master: master, readDone: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	// A new session whose controlling terminal is the child's fd 0 (the slave); its process group
	// becomes the terminal's foreground group.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	// Cleanups run last-registered first: this one runs after start's, which kills the group.
	t.Cleanup(func() { master.Close(); slave.Close() })
	p.start()
	slave.Close() // only the child holds it now: the master reads EIO once the child side is gone
	go func() {
		defer close(p.readDone)
		p.stdout.copyFrom(master)
	}()
	return p
}

// copyFrom copies r into the buffer until r fails (EIO on a pty master when the slave closes).
func (l *lockedBuffer) copyFrom(r *os.File) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			l.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// startTTY runs `docker ARGS...` (env and DOCKER_CONFIG as run) on a pseudo-terminal.
func (c *cli) startTTY(args ...string) *ttyProc {
	c.t.Helper()
	env := append(append(cleanEnv(), "TERM=xterm"), c.env...)
	return startTTY(c.t, env, "docker", args...)
}

// interrupt types Ctrl-C: the line discipline sends SIGINT to the foreground process group.
func (p *ttyProc) interrupt() {
	p.t.Helper()
	p.setMark()
	if _, err := p.master.Write([]byte{0x03}); err != nil {
		p.t.Fatalf("%s: typing Ctrl-C: %v", p.name, err)
	}
}

// waitExit is proc.waitExit, then it lets the output reader drain what is left on the terminal.
func (p *ttyProc) waitExit(timeout time.Duration) (int, time.Duration) {
	p.t.Helper()
	code, took := p.proc.waitExit(timeout)
	select {
	case <-p.readDone:
	case <-time.After(time.Second): // a leftover process still holds the terminal
	}
	return code, took
}

// openPTY opens a pseudo-terminal pair of the given size. The master stays non-blocking (its
// ioctls go through SyscallConn, not Fd, which would switch it to blocking mode).
func openPTY(rows, cols uint16) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var n int
	rc, err := master.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err != nil { // unlock the slave
				return
			}
			n, err = unix.IoctlGetInt(int(fd), unix.TIOCGPTN) // its number under /dev/pts
		})
		err = errors.Join(err, cerr)
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("setting up a pty: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	ws := &unix.Winsize{Row: rows, Col: cols}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// The terminal runner itself: Ctrl-C on the pty reaches the foreground group (sh and its sleep),
// which has the terminal, at the size set, as controlling terminal.
func TestPTYCtrlCInterruptsTheForegroundGroup(t *testing.T) {
	p := startTTY(t, cleanEnv(), "sh", "-c", `stty size; trap "echo got-int; exit 130" INT; echo ready; sleep 100`)
	p.waitOutput("ready", 10*time.Second)
	p.interrupt()
	code, took := p.waitExit(5 * time.Second)
	if out := p.output(); code != 130 || took > time.Second || !strings.Contains(out, "got-int") || !strings.Contains(out, "40 120") {
		t.Fatalf("exit %d after %s, want 130 within 1s with got-int and the size 40 120:\n%s", code, took, out)
	}
}

// The background runner: signal reaches the process only, signalGroup the whole group.
func TestBackgroundProcSignals(t *testing.T) {
	p := startBackground(t, cleanEnv(), nil, "sh", "-c", `trap "echo got-term; exit 3" TERM; echo ready; sleep 100 >/dev/null 2>&1 & wait`)
	p.waitOutput("ready", 10*time.Second)
	p.signal(syscall.SIGTERM)
	if code, took := p.waitExit(5 * time.Second); code != 3 || took > time.Second || !strings.Contains(p.output(), "got-term") {
		t.Fatalf("exit %d after %s, want 3 within 1s with got-term:\n%s", code, took, p.output())
	}

	p = startBackground(t, cleanEnv(), nil, "sh", "-c", `echo ready; sleep 100`)
	p.waitOutput("ready", 10*time.Second)
	p.signalGroup(syscall.SIGINT)
	if code, took := p.waitExit(5 * time.Second); code != 130 || took > time.Second {
		t.Fatalf("exit %d after %s, want 130 (SIGINT) within 1s:\n%s", code, took, p.output())
	}
}
