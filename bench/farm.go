package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	r, err := d.dockerUsage(args...)
	return r.took, err
}

// runUsage is what one docker CLI run took: wall time, the CPU of the CLI and every process it
// waited for (the plugin, and what the plugin ran), and how busy the machine's CPUs were meanwhile
// (0 where /proc/stat is not there to say).
type runUsage struct {
	took, cpu time.Duration
	busy      float64
}

func (d *dockerEnv) dockerUsage(args ...string) (runUsage, error) {
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+d.config)
	busy0, all0 := cpuTicks()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	u := runUsage{took: time.Since(start)}
	if busy1, all1 := cpuTicks(); all1 > all0 {
		u.busy = float64(busy1-busy0) / float64(all1-all0)
	}
	if cmd.ProcessState != nil {
		u.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return u, fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, tailOf(string(out), 2000))
	}
	return u, nil
}

// cpuTicks are the machine's CPU time so far, busy and in all (Linux's /proc/stat; 0 elsewhere).
func cpuTicks() (busy, all uint64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	for i, f := range fields[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0
		}
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all
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
