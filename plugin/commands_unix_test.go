//go:build unix

package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// Ctrl-C (SIGINT) during a build cancels the service's context and exits 130, saying so.
func TestBuildCommandInterrupted(t *testing.T) {
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
		t.Errorf("exit %d, %v", r.exitCode(), r.err)
	}
}
