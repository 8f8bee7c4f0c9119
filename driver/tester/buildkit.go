package tester

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	gatewayapi "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/solver/pb"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// maxTestOutput is how much of what a variant prints in BuildKit is kept (its end).
const maxTestOutput = 64 << 10

// InBuildKit says whether criteria can be judged by running the variant in a node's BuildKit
// rather than in an engine's container: a command that must exit 0 (BuildKit reports a command
// that could not start as exit code 1 or 255, which only an engine tells apart), not a server kept
// running, in BuildKit's own network or none (host and bridge are an engine's), on Linux.
func (c Criteria) InBuildKit(platform string) bool {
	p, err := platforms.Parse(platform)
	return err == nil && p.OS == "linux" && c.Running == 0 && c.ExpectExit == 0 &&
		(c.Network == "" || c.Network == "default" || c.Network == "none")
}

// RunInBuildKit runs a variant as one step of a solve on node's BuildKit: the image by digest
// (BuildKit holds its layers when it built it), its entrypoint and the command (Criteria.Cmd,
// else the image's), its env, working directory and user, never from cache; then judges it as an
// engine's run would be. Nothing is left behind: BuildKit removes the step's container, and the
// image stays in its cache, as any base does. auth answers the registry's credential requests.
func RunInBuildKit(ctx context.Context, node builder.Node, a Assignment, cfg ocispec.Image, c Criteria, auth session.Attachable) (r Result) {
	start := time.Now()
	r = Result{Assignment: a, ExitCode: -1}
	defer func() {
		r.Duration = time.Since(start)
		r.Seconds = r.Duration.Round(time.Millisecond).Seconds()
	}()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	out := &tailBuffer{limit: maxTestOutput}
	err := solveTest(ctx, node, a, cfg, c, auth, out)
	var exit *gatewayapi.ExitError
	switch {
	case err == nil:
		r.ExitCode = 0
	case errors.As(err, &exit): // it exited (a start that failed too: runc's words are in the output)
		r.ExitCode = int(exit.ExitCode)
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.Reason = fmt.Sprintf("not done within %s", c.Timeout)
	default:
		r.Reason = bounded.Cut(err.Error(), 2000)
	}
	r.Output = lastLines(out.String(), outputLines)
	switch {
	case r.Reason != "":
	case c.ExpectOutput != "" && strings.Contains(out.String(), "[output clipped"):
		r.Reason = "BuildKit clipped the output (its log limit): --expect-output cannot be judged"
	default:
		c.judge(&r, out.String())
	}
	return r
}

// testArgs is what docker run would run: the image's entrypoint, then the command given (else
// the image's own).
func testArgs(cfg ocispec.Image, c Criteria) ([]string, error) {
	cmd := c.Cmd
	if len(cmd) == 0 {
		cmd = cfg.Config.Cmd
	}
	args := append(append([]string{}, cfg.Config.Entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, errors.New("the image has no entrypoint or command to run, and the test gives none")
	}
	return args, nil
}

func solveTest(ctx context.Context, node builder.Node, a Assignment, cfg ocispec.Image, c Criteria, auth session.Attachable, out *tailBuffer) error {
	if node.Driver == nil {
		return fmt.Errorf("node %s is not loaded: %v", a.Node, node.Err)
	}
	args, err := testArgs(cfg, c)
	if err != nil {
		return err
	}
	p, err := platforms.Parse(a.Platform)
	if err != nil {
		return err
	}
	// A hostname of its own, as docker run gives the container's ID: no two tests are the same
	// step, so BuildKit never merges one with another running at the same time.
	opts := []llb.RunOption{llb.Args(args), llb.IgnoreCache, llb.Hostname(identity.NewID()[:12]), llb.WithCustomName("[test] " + a.Platform)}
	for _, kv := range cfg.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			opts = append(opts, llb.AddEnv(k, v))
		}
	}
	if cfg.Config.WorkingDir != "" {
		opts = append(opts, llb.Dir(cfg.Config.WorkingDir))
	}
	if cfg.Config.User != "" {
		opts = append(opts, llb.User(cfg.Config.User))
	}
	so := client.SolveOpt{Session: []session.Attachable{auth}}
	switch c.Network {
	case "none":
		opts = append(opts, llb.Network(pb.NetMode_NONE))
	}
	def, err := llb.Image(a.Image, llb.Platform(p)).Run(opts...).Root().Marshal(ctx, llb.Platform(p))
	if err != nil {
		return err
	}
	// The node's client outlives the test (the command's builds share it), but the wait for it is
	// the test's: a node that stalls while it is dialed ends the test with ctx.
	bk, err := deadline.Value(ctx, c.Timeout, func(ctx context.Context) (*client.Client, error) {
		return bxdriver.Boot(ctx, context.WithoutCancel(ctx), node.Driver, nil)
	})
	if err != nil {
		return fmt.Errorf("node %s: starting BuildKit: %w", a.Node, err)
	}
	ch := make(chan *client.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for st := range ch {
			for _, l := range st.Logs {
				_, _ = out.Write(l.Data)
			}
		}
	}()
	_, err = bk.Solve(ctx, def, so, ch)
	<-done
	return err
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	limit int
	buf   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
