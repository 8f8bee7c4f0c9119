// Command bench measures docker-multiarch against docker-buildx in the same run and prints ratios.
//
//	go run ./bench metadata [-n 40] [-plugin bin/docker-multiarch] [-buildx PATH]
//
// metadata: the docker CLI runs a plugin's docker-cli-plugin-metadata subcommand before every call of
// the plugin and on every `docker --help`, so process start is on every user's path. Goal: the
// plugin's median at most 0.6x docker-buildx's.
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
	if len(os.Args) < 2 || os.Args[1] != "metadata" {
		fmt.Fprintln(os.Stderr, "usage: bench metadata [-n N] [-plugin PATH] [-buildx PATH]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("metadata", flag.ExitOnError)
	n := fs.Int("n", 40, "runs of each binary")
	plugin := fs.String("plugin", "bin/docker-multiarch", "docker-multiarch binary")
	buildx := fs.String("buildx", "/var/lib/multiarch-farm/bin/docker-buildx", "docker-buildx binary")
	_ = fs.Parse(os.Args[2:])
	if err := metadata(*n, *plugin, *buildx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const metadataGoal = 0.6

func metadata(n int, plugin, buildx string) error {
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
