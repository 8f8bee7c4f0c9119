package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// farm is the e2e farm's coordinates (e2e/farm/farm.sh env).
type farm struct{ engineA, engineB, registry, buildkitImage, busybox, bin string }

func loadFarm() (farm, error) {
	f, err := os.Open("/run/multiarch-farm/env")
	if err != nil {
		return farm{}, fmt.Errorf("the farm is not up (make farm): %w", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return farm{kv["FARM_ENGINE_A"], kv["FARM_ENGINE_B"], kv["FARM_REGISTRY"], kv["FARM_BUILDKIT_IMAGE"], kv["FARM_BUSYBOX"], kv["FARM_BIN"]}, sc.Err()
}

// dockerEnv is a Docker CLI configuration of the benchmark's own, with both plugins installed.
type dockerEnv struct{ config string }

func newDockerEnv(plugin, buildx string) (*dockerEnv, error) {
	dir, err := os.MkdirTemp("", "multiarch-bench-")
	if err != nil {
		return nil, err
	}
	plugins := filepath.Join(dir, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		return nil, err
	}
	for name, src := range map[string]string{"docker-multiarch": plugin, "docker-buildx": buildx} {
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, err
		}
		if err := os.Symlink(abs, filepath.Join(plugins, name)); err != nil {
			return nil, err
		}
	}
	return &dockerEnv{config: dir}, nil
}

func (d *dockerEnv) close() { _ = os.RemoveAll(d.config) }

// docker runs the docker CLI and returns how long it took; output goes to the error only.
func (d *dockerEnv) docker(args ...string) (time.Duration, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+d.config)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, tailOf(string(out), 2000))
	}
	return took, nil
}

func (d *dockerEnv) must(args ...string) error {
	_, err := d.docker(args...)
	return err
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func writeContext(files map[string]string) (string, error) {
	dir, err := os.MkdirTemp("", "multiarch-bench-ctx-")
	if err != nil {
		return "", err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}
