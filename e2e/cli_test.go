//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs the real docker CLI with an isolated DOCKER_CONFIG in which the plugin under test is installed.
type cli struct {
	t      *testing.T
	config string
	env    []string
	stdin  []byte
	dir    string // working directory of the commands ("": the test's)
}

type result struct {
	Stdout, Stderr string
	ExitCode       int
}

func (r result) Combined() string { return r.Stdout + r.Stderr }

// newCLI gives a test its own DOCKER_CONFIG with cli-plugins/docker-multiarch installed.
func newCLI(t *testing.T) *cli {
	t.Helper()
	config := t.TempDir()
	plugins := filepath.Join(config, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := install(pluginPath, filepath.Join(plugins, "docker-multiarch")); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, config: config, env: []string{"DOCKER_CONFIG=" + config}}
}

// install hard-links the binary, or copies it where a link cannot be made.
func install(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// withBuildx installs the farm's docker-buildx (built from the pinned module) beside the plugin.
func (c *cli) withBuildx() *cli {
	c.t.Helper()
	if err := install(filepath.Join(farm.Bin, "docker-buildx"), filepath.Join(c.config, "cli-plugins", "docker-buildx")); err != nil {
		c.t.Fatal(err)
	}
	return c
}

// withStdin returns a copy of the CLI whose commands read data on standard input.
func (c *cli) withStdin(data []byte) *cli {
	cp := *c
	cp.stdin = data
	return &cp
}

// inDir returns a copy of the CLI whose commands run in dir, as a CI job's steps run in its checkout.
func (c *cli) inDir(dir string) *cli {
	cp := *c
	cp.dir = dir
	return &cp
}

// withHost returns a copy of the CLI that talks to the given engine.
func (c *cli) withHost(host string) *cli {
	cp := *c
	cp.env = append(append([]string{}, c.env...), "DOCKER_HOST="+host)
	return &cp
}

// run executes `docker ARGS...` and returns what it printed and its exit code; it fails the test
// only when docker cannot be started or runs past the timeout.
func (c *cli) run(timeout time.Duration, args ...string) result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(cleanEnv(), c.env...)
	cmd.Dir = c.dir
	if c.stdin != nil {
		cmd.Stdin = bytes.NewReader(c.stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		c.t.Fatalf("docker %s: still running after %s\n%s", strings.Join(args, " "), timeout, res.Combined())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		c.t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// ok runs docker and fails the test unless it exits 0.
func (c *cli) ok(timeout time.Duration, args ...string) result {
	c.t.Helper()
	res := c.run(timeout, args...)
	if res.ExitCode != 0 {
		c.t.Fatalf("docker %s: exit %d\n%s", strings.Join(args, " "), res.ExitCode, res.Combined())
	}
	return res
}

// cleanEnv is the test process environment without Docker client settings that would leak the
// developer's own configuration into a test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DOCKER_CONFIG", "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "BUILDX_BUILDER":
			continue
		}
		env = append(env, kv)
	}
	return env
}
