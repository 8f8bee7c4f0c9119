// Command bench measures docker-multiarch against docker-buildx in the same run and prints ratios.
//
//	go run ./bench metadata [-n 40] [-plugin bin/docker-multiarch] [-buildx PATH]
//	go run ./bench build [-n 5] [-plugin bin/docker-multiarch] [-buildx PATH]
//
// metadata: the docker CLI runs a plugin's docker-cli-plugin-metadata subcommand before every call of
// the plugin and on every `docker --help`, so process start is on every user's path. Goal: the
// plugin's median at most 0.3x docker-buildx's.
//
// build (on the farm, make farm): a warm-cache two-platform push with `docker multiarch build`
// against `docker buildx build` on the same builder (goal: at most 0.9x), a warm three-platform
// rebuild after a one-line change against the same with docker buildx build (goal: at most
// 0.85x), and three sleep-bound
// platforms (RUN sleep 3) on three nodes against the slowest platform alone, with one Dockerfile
// and with per-platform Dockerfiles (goal: at most 1.05x, and never behind docker buildx build's fan-out).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 0, "runs (default: 40 for metadata, 5 for build)")
	plugin := fs.String("plugin", "bin/docker-multiarch", "docker-multiarch binary")
	buildx := fs.String("buildx", "/var/lib/multiarch-farm/bin/docker-buildx", "docker-buildx binary")
	only := fs.String("only", "", "build: run only this benchmark (overhead, rebuild, gate, bake, reproduce, pushcheck, fanout)")
	_ = fs.Parse(os.Args[2:])
	var err error
	switch os.Args[1] {
	case "metadata":
		err = metadata(orDefault(*n, 40), *plugin, *buildx)
	case "build":
		err = builds(orDefault(*n, 5), *plugin, *buildx, *only)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bench metadata|build [-n N] [-plugin PATH] [-buildx PATH]")
	os.Exit(2)
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// builds runs the build benchmarks on the farm (only: the one named, "" for all): overhead
// against docker buildx build, the gate, bake, --verify-reproducible, the push check, fan-out.
func builds(runs int, plugin, buildx, only string) error {
	f, err := loadFarm()
	if err != nil {
		return err
	}
	d, err := newDockerEnv(plugin, buildx)
	if err != nil {
		return err
	}
	defer d.close()
	const builder = "bench"
	if err := setupBuilder(d, f, builder); err != nil {
		return err
	}
	defer func() { _ = d.must("multiarch", "rm", builder) }()
	var failed []string
	for _, b := range []struct {
		name string
		run  func() (bool, error)
	}{
		{"overhead", func() (bool, error) { r, err := overhead(d, f, builder, runs); return r <= overheadGoal, err }},
		{"rebuild", func() (bool, error) { r, err := rebuild(d, f, builder, runs); return r <= rebuildGoal, err }},
		{"gate", func() (bool, error) { return true, gate(d, f, builder, runs) }},
		{"bake", func() (bool, error) { r, err := bake(d, f, builder, runs); return r <= bakeGoal, err }},
		{"reproduce", func() (bool, error) { return reproduce(d, f, builder, runs) }},
		{"pushcheck", func() (bool, error) { took, err := pushCheck(d, f, builder, runs); return took <= pushCheckGoal, err }},
		{"fanout", func() (bool, error) {
			ok := true
			for _, per := range []bool{false, true} {
				r, err := fanout(d, f, builder, per)
				if err != nil {
					return false, err
				}
				ok = ok && r <= fanoutGoal
			}
			return ok, nil
		}},
	} {
		if only != "" && only != b.name {
			continue
		}
		ok, err := b.run()
		if err != nil {
			return err
		}
		if !ok {
			failed = append(failed, b.name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("over goal: %v", failed)
	}
	return nil
}

const metadataGoal = 0.3

func metadata(n int, plugin, buildx string) error {
	fmt.Printf("metadata: %s against %s\n", plugin, buildx)
	var pt, bt []time.Duration
	// Interleave the two binaries so machine noise hits both alike; one warm-up run each.
	for i := -1; i < n; i++ {
		p, err := timeRun(plugin, "docker-cli-plugin-metadata")
		if err != nil {
			return err
		}
		b, err := timeRun(buildx, "docker-cli-plugin-metadata")
		if err != nil {
			return err
		}
		if i >= 0 {
			pt, bt = append(pt, p), append(bt, b)
		}
	}
	pm, bm := median(pt), median(bt)
	ratio := float64(pm) / float64(bm)
	verdict := "ok"
	if ratio > metadataGoal {
		verdict = "OVER GOAL"
	}
	fmt.Printf("metadata  runs=%d  docker-multiarch median %v  docker-buildx median %v  ratio %.2fx  (goal <= %.2fx: %s)\n",
		n, pm.Round(time.Microsecond), bm.Round(time.Microsecond), ratio, metadataGoal, verdict)
	if ratio > metadataGoal {
		return fmt.Errorf("metadata ratio %.2f over the goal %.2f", ratio, metadataGoal)
	}
	return nil
}

func timeRun(bin string, args ...string) (time.Duration, error) {
	start := time.Now()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%s %v: %w\n%s", bin, args, err, out)
	}
	return time.Since(start), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
