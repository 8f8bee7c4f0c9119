package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// bakeGoal is issue 22's: docker multiarch bake of 3 targets x 2 platforms, no cache, pushed, at
// most this ratio of docker buildx bake of the same file on the same builder.
const bakeGoal = 0.90

// bake measures `docker multiarch bake` against `docker buildx bake` of one bake file (three
// targets, two platforms each, --no-cache, --push), interleaved runs; the ratio of the medians.
func bake(d *dockerEnv, f farm, builder string, runs int) (float64, error) {
	df := "FROM " + f.busybox + "\nARG T\nRUN echo $T > /t && uname -m > /arch\nCOPY . /src\n"
	hcl := `variable "REPO" {}
group "default" { targets = ["a", "b", "c"] }
target "base" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=registry"]
}
target "a" {
  inherits = ["base"]
  args = { T = "a" }
  tags = ["${REPO}:a"]
}
target "b" {
  inherits = ["base"]
  args = { T = "b" }
  tags = ["${REPO}:b"]
}
target "c" {
  inherits = ["base"]
  args = { T = "c" }
  tags = ["${REPO}:c"]
}
`
	ctx, err := writeContext(map[string]string{"Dockerfile": df, "docker-bake.hcl": hcl, "a.txt": "a\n"})
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(ctx)
	run := func(tool, repo string) (runUsage, error) {
		args := []string{tool, "bake", "--builder", builder, "--no-cache", "--progress", "quiet", "--allow", "fs.read=" + ctx, "-f", ctx + "/docker-bake.hcl", "--set", "*.context=" + ctx}
		if tool == "buildx" {
			args = append([]string{"--log-level", "error"}, args...)
		}
		os.Setenv("REPO", f.registry+"/bench/"+repo)
		defer os.Unsetenv("REPO")
		return d.dockerUsage(args...)
	}
	var mu, bu []runUsage
	for i := -1; i < runs; i++ { // a warm-up round: both find the base image pulled
		m, err := run("multiarch", "bake-multiarch")
		if err != nil {
			return 0, err
		}
		b, err := run("buildx", "bake-buildx")
		if err != nil {
			return 0, err
		}
		if i >= 0 {
			mu, bu = append(mu, m), append(bu, b)
		}
	}
	mt, bt := medianUsage(mu), medianUsage(bu)
	ratio := float64(mt.took) / float64(bt.took)
	fmt.Printf("bake  runs=%d  3 targets x 2 platforms, --no-cache, pushed: docker multiarch bake median %v  docker buildx bake median %v  ratio %.3fx  (goal <= %.2fx: %s)\n",
		runs, mt.took.Round(time.Millisecond), bt.took.Round(time.Millisecond), ratio, bakeGoal, verdict(ratio <= bakeGoal))
	// Where the time goes: the client's own CPU (the CLI, the plugin and what it runs), and how busy
	// the machine's CPUs were during the run (the nodes, the registry and QEMU share them).
	fmt.Printf("  bake client CPU median: docker multiarch %v, docker buildx %v; CPUs busy during the run: %.0f%% and %.0f%%\n",
		mt.cpu.Round(time.Millisecond), bt.cpu.Round(time.Millisecond), 100*mt.busy, 100*bt.busy)
	return ratio, nil
}

// medianUsage is the median of each figure apart.
func medianUsage(us []runUsage) runUsage {
	var took, cpu []time.Duration
	var busy []float64
	for _, u := range us {
		took, cpu, busy = append(took, u.took), append(cpu, u.cpu), append(busy, u.busy)
	}
	slices.Sort(busy)
	return runUsage{took: median(took), cpu: median(cpu), busy: busy[len(busy)/2]}
}
