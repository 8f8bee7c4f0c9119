//go:build unix

package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// Ctrl-C (SIGINT) during a build cancels the service's context and exits 130, saying so. The
// signal goes to a process of its own (this test binary again), so that it reaches only the
// command under test.
func TestBuildCommandInterrupted(t *testing.T) {
	if os.Getenv("MULTIARCH_TEST_INTERRUPT_CHILD") == "1" {
		interruptedBuild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildCommandInterrupted$", "-test.v")
	cmd.Env = append(os.Environ(), "MULTIARCH_TEST_INTERRUPT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "exit 130: interrupted by SIGINT: nothing built") {
		t.Errorf("the interrupted build: %v\n%s", err, out)
	}
}

func interruptedBuild(t *testing.T) {
	svc := &fakeService{buildCtx: func(ctx context.Context) (*driver.BuildResult, error) {
		go func() { _ = syscall.Kill(os.Getpid(), syscall.SIGINT) }()
		select {
		case <-ctx.Done():
			return &driver.BuildResult{}, fmt.Errorf("nothing built: %w", context.Cause(ctx))
		case <-time.After(10 * time.Second):
			return nil, errors.New("the interrupt did not cancel the build")
		}
	}}
	r := run(t, svc, "build", "--push", "-t", "reg.example/app:1", t.TempDir())
	if r.exitCode() != 130 || !strings.Contains(r.err.Error(), "nothing built") {
		t.Fatalf("exit %d, %v", r.exitCode(), r.err)
	}
	t.Logf("exit %d: %s", r.exitCode(), r.err)
}
