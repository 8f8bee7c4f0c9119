package bake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/sign"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker/cli/cli/config"
)

// resolveArgs are the arguments of `docker buildx bake --print` for the bake's files, targets
// and the flags that are buildx's to resolve. --push and --load are buildx's too: it turns them
// into each target's outputs by its own rules (a target with a local, tar or oci output is not
// pushed; an image output gets push=true), which the build then follows.
func resolveArgs(o Options) []string {
	args := []string{"buildx", "bake"}
	for _, f := range o.Files {
		args = append(args, "--file", f)
	}
	for _, s := range o.Set {
		args = append(args, "--set", s)
	}
	for _, v := range o.Vars {
		args = append(args, "--var", v)
	}
	for _, a := range o.Allow {
		args = append(args, "--allow", a)
	}
	if o.NoCache {
		args = append(args, "--no-cache")
	}
	if o.Pull {
		args = append(args, "--pull")
	}
	if o.Provenance != "" {
		args = append(args, "--provenance", o.Provenance)
	}
	if o.SBOM != "" {
		args = append(args, "--sbom", o.SBOM)
	}
	if o.Builder != "" {
		args = append(args, "--builder", o.Builder) // only used by buildx to read a remote definition
	}
	if o.Push {
		args = append(args, "--push")
	}
	if o.Load {
		args = append(args, "--load")
	}
	args = append(args, "--progress", "quiet", "--print", "--")
	return append(args, o.Targets...)
}

// stdinFor is standard input for buildx when a file is read from it (-f -), else nothing: an
// unused reader that is not a file would keep the subprocess waiting.
func stdinFor(o Options, in io.Reader) io.Reader {
	if slices.Contains(o.Files, "-") {
		return in
	}
	return nil
}

// runBuildx runs the docker CLI that started the plugin (else `docker` from PATH) with the same
// configuration directory and environment: buildx is the plugin installed beside this one. Its
// standard output is returned as it is; a failure returns buildx's standard error.
// When ctx ends (Ctrl-C, --timeout) it is stopped, and the wait for its output ends soon after
// even when a process it started keeps the pipes open.
// maxDefinitionSize bounds the resolved definition buildx prints (a matrix of thousands of targets
// fits in a few MiB).
const maxDefinitionSize = 32 << 20

func runBuildx(ctx context.Context, configDir string, args []string, stdin io.Reader) ([]byte, error) {
	bin := os.Getenv("DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND")
	if bin == "" {
		bin = "docker"
	}
	env := pluginFreeEnv(os.Environ())
	cmdArgs := args
	if configDir != "" {
		cmdArgs = append([]string{"--config", configDir}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, cmdArgs...)
	if plugin := buildxPlugin(configDir); plugin != "" {
		// The docker CLI runs the plugin so, after starting itself and asking every plugin for its
		// metadata: run it as the CLI would, without the CLI (about 150 ms less before a bake builds).
		cmd = exec.CommandContext(ctx, plugin, args...)
		env = append(env, "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND="+bin)
		if configDir != "" {
			env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "DOCKER_CONFIG=") }), "DOCKER_CONFIG="+configDir)
		}
	}
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = env
	cmd.Stdin = stdin
	stdout := &bounded.Buffer{Limit: maxDefinitionSize, What: "the bake definition (docker buildx bake --print)"}
	stderr := &bounded.Buffer{Limit: 1 << 20, What: "docker buildx bake --print's error output"}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if over := errors.Join(stdout.Err(), stderr.Err()); over != nil {
		return nil, over
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("resolving the bake definition (docker buildx bake --print): %w", context.Cause(ctx))
	}
	msg := strings.TrimSpace(stderr.String())
	var exit *exec.ExitError
	switch {
	case !errors.As(err, &exit):
		return nil, fmt.Errorf("resolving the bake definition: running %s buildx bake --print: %w", bin, err)
	case strings.Contains(msg, "'buildx' is not a docker command") || strings.Contains(msg, "unknown command: docker buildx"):
		return nil, fmt.Errorf("resolving the bake definition needs docker buildx (bake files are read by buildx): install the buildx plugin: %s", msg)
	}
	return nil, fmt.Errorf("resolving the bake definition (docker buildx bake --print): %w: %s", err, strings.TrimPrefix(msg, "ERROR: "))
}

// pluginFreeEnv is the environment without what the docker CLI set for this plugin: the CLI run
// here sets its own for buildx.
func pluginFreeEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		// and never the signing key's password (sign.LoadKey also removes it once read)
		return strings.HasPrefix(kv, "DOCKER_CLI_PLUGIN_") || strings.HasPrefix(kv, sign.PasswordEnv+"=")
	})
}

// buildxPlugin is the docker-buildx plugin the docker CLI would run for `docker buildx`: the first
// regular file named so in the CLI's plugin folders, in its order (the config's
// cliPluginsExtraDirs, CONFIG/cli-plugins, the system's); "" when none is (the CLI is run then).
func buildxPlugin(configDir string) string {
	if configDir == "" {
		configDir = config.Dir()
	}
	var dirs []string
	if cfg, err := config.Load(configDir); err == nil {
		dirs = append(dirs, cfg.CLIPluginsExtraDirs...)
	}
	dirs = append(dirs, filepath.Join(configDir, "cli-plugins"))
	dirs = append(dirs, systemPluginDirs()...)
	name := "docker-buildx"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// systemPluginDirs are the docker CLI's own plugin folders (cli-plugins/manager).
func systemPluginDirs() []string {
	if runtime.GOOS == "windows" {
		return []string{filepath.Join(os.Getenv("ProgramFiles"), "Docker", "cli-plugins")}
	}
	return []string{"/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins", "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins"}
}
