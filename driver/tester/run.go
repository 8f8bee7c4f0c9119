package tester

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/dockerutil"
	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/identity"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// outputLines is how many of a variant's last output lines a result keeps.
const outputLines = 5

// cleanupTimeout bounds removing a test's container (and the image it pulled) after the run,
// also after an interrupt or a timeout.
const cleanupTimeout = 15 * time.Second

// Cleanups are the removals of test containers and images still running after Run returned, so a
// build's tags can move while they finish; Wait before the command ends.
type Cleanups struct{ wg sync.WaitGroup }

// Wait waits for every removal (each is bounded by cleanupTimeout).
func (c *Cleanups) Wait() {
	if c != nil {
		c.wg.Wait()
	}
}

func (c *Cleanups) run(fn func()) {
	if c == nil {
		fn()
		return
	}
	c.wg.Go(fn)
}

// Run runs every assignment on its node's engine, all in parallel, each within c.Timeout, and
// returns the results in the assignments' order; the error lists the variants that failed. The
// containers are removed before Run returns, unless cleanups is given: then in the background.
func Run(ctx context.Context, dockerCli command.Cli, assigns []Assignment, c Criteria, cleanups *Cleanups) ([]Result, error) {
	results := make([]Result, len(assigns))
	var wg sync.WaitGroup
	for i, a := range assigns {
		wg.Go(func() { results[i] = runOne(ctx, dockerCli, a, c, cleanups) })
	}
	wg.Wait()
	return results, check(results)
}

// runOne pulls the variant by digest on its node, runs it and judges it; the container (and the
// image, when the run pulled it) is removed whatever happens.
func runOne(ctx context.Context, dockerCli command.Cli, a Assignment, c Criteria, cleanups *Cleanups) (r Result) {
	start := time.Now()
	r = Result{Assignment: a, ExitCode: -1}
	defer func() {
		r.Duration = time.Since(start)
		r.Seconds = r.Duration.Round(time.Millisecond).Seconds()
	}()
	api, err := dockerutil.NewClientAPI(dockerCli, a.Node)
	if err != nil {
		r.Reason = fmt.Sprintf("node %s: %v", a.Node, redact.Error(err))
		return r
	}
	run := &containerRun{api: api, a: a, c: c, auth: authFor(dockerCli, a.Image)}
	defer cleanups.run(func() {
		run.cleanup(ctx)
		_ = api.Close()
	})
	vctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	output, err := run.do(vctx, &r)
	if err != nil {
		r.Reason = err.Error()
		if vctx.Err() != nil && ctx.Err() == nil {
			r.Reason = fmt.Sprintf("not done within %s (%s)", c.Timeout, err)
		}
		r.Output = lastLines(output, outputLines)
		return r
	}
	r.Output = lastLines(output, outputLines)
	c.judge(&r, output)
	return r
}

func authFor(dockerCli command.Cli, image string) string {
	token, err := command.RetrieveAuthTokenFromImage(dockerCli.ConfigFile(), image)
	if err != nil {
		return ""
	}
	return token
}

// containerRun is one variant's container on its node.
type containerRun struct {
	api    client.APIClient
	a      Assignment
	c      Criteria
	auth   string
	id     string // the container, once created
	name   string // the container's name, chosen before its create is sent
	pulled bool   // the image was not on the node before the run
}

// do pulls, creates, starts and waits for the container (or, for a server, watches it run); it
// returns what the container printed.
func (run *containerRun) do(ctx context.Context, r *Result) (string, error) {
	if err := run.pull(ctx); err != nil {
		return "", err
	}
	if err := run.create(ctx); err != nil {
		return "", err
	}
	if _, err := run.api.ContainerStart(ctx, run.id, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("starting the container: %w", err)
	}
	if run.c.Running > 0 {
		err := run.watch(ctx, r)
		return run.logs(context.WithoutCancel(ctx)), err // what it printed, also when ctx ended
	}
	code, err := run.wait(ctx)
	out := run.logs(context.WithoutCancel(ctx))
	if err != nil {
		return out, err
	}
	r.ExitCode = code
	return out, nil
}

func (run *containerRun) pull(ctx context.Context) error {
	if _, err := run.api.ImageInspect(ctx, run.a.Image); err == nil {
		return nil // already there (by digest: the same image)
	}
	p, err := platforms.Parse(run.a.Platform)
	if err != nil {
		return err
	}
	resp, err := run.api.ImagePull(ctx, run.a.Image, client.ImagePullOptions{Platforms: []ocispec.Platform{p}, RegistryAuth: run.auth})
	if err != nil {
		return fmt.Errorf("pulling %s: %w", run.a.Image, err)
	}
	defer resp.Close()
	run.pulled = true
	if err := resp.Wait(ctx); err != nil {
		return fmt.Errorf("pulling %s: %w", run.a.Image, err)
	}
	return nil
}

func (run *containerRun) create(ctx context.Context) error {
	p, err := platforms.Parse(run.a.Platform)
	if err != nil {
		return err
	}
	cfg := &container.Config{Image: run.a.Image, Labels: map[string]string{"io.docker-multiarch.test": run.a.Platform}}
	if len(run.c.Cmd) > 0 {
		cfg.Cmd = run.c.Cmd
	}
	host := &container.HostConfig{}
	if run.c.Network != "" && run.c.Network != "default" {
		host.NetworkMode = container.NetworkMode(run.c.Network)
	}
	// Named before the create is sent: a create that Ctrl-C or the deadline cut off may still
	// have made the container, and cleanup removes it by this name.
	run.name = "multiarch-test-" + identity.NewID()[:12]
	res, err := run.api.ContainerCreate(ctx, client.ContainerCreateOptions{Name: run.name, Config: cfg, HostConfig: host, Platform: &p})
	if err != nil {
		return fmt.Errorf("creating the container: %w", err)
	}
	run.id = res.ID
	return nil
}

// wait waits for the container to exit and returns its exit code.
func (run *containerRun) wait(ctx context.Context) (int, error) {
	w := run.api.ContainerWait(ctx, run.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case res := <-w.Result:
		if res.Error != nil && res.Error.Message != "" {
			return int(res.StatusCode), fmt.Errorf("waiting for the container: %s", res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-w.Error:
		return -1, fmt.Errorf("waiting for the container: %w", err)
	}
}

// watch lets a server run for c.Running and records whether it still runs (else its exit code).
func (run *containerRun) watch(ctx context.Context, r *Result) error {
	select {
	case <-time.After(run.c.Running):
	case <-ctx.Done():
		return ctx.Err()
	}
	st, err := run.api.ContainerInspect(ctx, run.id, client.ContainerInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspecting the container: %w", err)
	}
	if s := st.Container.State; s != nil {
		r.Running = s.Running
		if !s.Running {
			r.ExitCode = s.ExitCode
		}
	}
	return nil
}

// logs is what the container printed, stdout and stderr together (at most what arrives within
// a few seconds).
func (run *containerRun) logs(ctx context.Context) string {
	out, _ := deadline.Value(ctx, 5*time.Second, func(ctx context.Context) (string, error) {
		rc, err := run.api.ContainerLogs(ctx, run.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
		if err != nil {
			return "", err
		}
		defer rc.Close()
		var buf bytes.Buffer
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
		return buf.String(), err
	})
	return out
}

// cleanup removes the container, and the image when this run pulled it, within cleanupTimeout,
// even when ctx was cancelled (an interrupt) or timed out.
func (run *containerRun) cleanup(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	if ref := cmp.Or(run.id, run.name); ref != "" {
		_ = deadline.Call(ctx, cleanupTimeout, func(ctx context.Context) error {
			_, err := run.api.ContainerRemove(ctx, ref, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if errdefs.IsNotFound(err) {
				return nil // a create that was cut off before it made the container
			}
			return err
		})
	}
	if run.pulled {
		_ = deadline.Call(ctx, cleanupTimeout, func(ctx context.Context) error {
			_, err := run.api.ImageRemove(ctx, run.a.Image, client.ImageRemoveOptions{})
			if errdefs.IsNotFound(err) {
				return nil
			}
			return err
		})
	}
}
