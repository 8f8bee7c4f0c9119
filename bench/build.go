package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

const (
	overheadGoal = 1.02
	fanoutGoal   = 1.05
)

// setupBuilder adds the farm's engines as nodes (a third node reaches engine B again, so three
// BuildKit daemons serve three platforms) and creates one builder across them.
func setupBuilder(d *dockerEnv, f farm, name string) error {
	for _, n := range [][]string{
		{"bench-a", f.engineA}, {"bench-b", f.engineB}, {"bench-c", f.engineB, "--platform", "linux/arm/v7"},
	} {
		if err := d.must(append([]string{"multiarch", "node", "add", n[0], "--host", n[1]}, n[2:]...)...); err != nil {
			return err
		}
	}
	return d.must("multiarch", "create", name, "--emulate", "linux/arm64=bench-b",
		"--driver-opt", "image="+f.buildkitImage, "--driver-opt", "network=host", "--bootstrap")
}

// overhead: `docker multiarch build` against `docker buildx build` on the same builder, warm cache,
// pushing the same two platforms, interleaved runs; the ratio of the medians.
func overhead(d *dockerEnv, f farm, builder string, runs int) (float64, error) {
	ctx, err := writeContext(map[string]string{"Dockerfile": "FROM " + f.busybox + "\nRUN uname -m > /arch\nCOPY . /src\n", "a.txt": "a\n"})
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(ctx)
	plats := "linux/amd64,linux/arm64"
	ma := []string{"multiarch", "build", "--builder", builder, "--platform", plats, "--push", "--progress", "quiet", "-t", f.registry + "/bench/overhead:multiarch", ctx}
	bx := []string{"buildx", "build", "--builder", builder, "--platform", plats, "--push", "--progress", "quiet", "-t", f.registry + "/bench/overhead:buildx", ctx}
	var mt, bt []time.Duration
	for i := -1; i < runs; i++ { // one warm-up round fills the cache
		m, err := d.docker(ma...)
		if err != nil {
			return 0, err
		}
		b, err := d.docker(bx...)
		if err != nil {
			return 0, err
		}
		if i >= 0 {
			mt, bt = append(mt, m), append(bt, b)
		}
	}
	ratio := float64(median(mt)) / float64(median(bt))
	fmt.Printf("build overhead  runs=%d  docker multiarch build median %v  docker buildx build median %v  ratio %.3fx  (goal <= %.2fx: %s)\n",
		runs, median(mt).Round(time.Millisecond), median(bt).Round(time.Millisecond), ratio, overheadGoal, verdict(ratio <= overheadGoal))
	return ratio, nil
}

// fanout: three platforms on three nodes, each a sleep-bound step, against the slowest of the
// platforms built alone; once with one Dockerfile, once with per-platform Dockerfiles.
func fanout(d *dockerEnv, f farm, builder string, perPlatform bool) (float64, error) {
	const sleep = 8 // seconds: long enough that the fixed cost of starting three builds on a 2-core host does not dominate
	files := map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN sleep %d && uname -m > /arch\n", f.busybox, sleep)}
	label := "one Dockerfile"
	if perPlatform {
		label = "per-platform Dockerfiles"
		files = map[string]string{}
		for _, n := range []string{"linux-amd64", "linux-arm64", "linux-arm"} {
			files["Dockerfile."+n] = fmt.Sprintf("FROM %s\nRUN sleep %d && echo %s > /which\n", f.busybox, sleep, n)
		}
	}
	ctx, err := writeContext(files)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(ctx)
	var ratios []float64
	for range fanoutRounds {
		r, err := fanoutRound(d, f, builder, ctx, label)
		if err != nil {
			return 0, err
		}
		ratios = append(ratios, r)
	}
	slices.Sort(ratios)
	ratio := ratios[len(ratios)/2]
	fmt.Printf("fan-out (%s)  median ratio of %d rounds %.3fx  (goal <= %.2fx: %s)\n", label, fanoutRounds, ratio, fanoutGoal, verdict(ratio <= fanoutGoal))
	return ratio, nil
}

const fanoutRounds = 3

// fanoutRound times each platform alone, then all three together; the ratio to the slowest alone.
func fanoutRound(d *dockerEnv, f farm, builder, ctx, label string) (float64, error) {
	build := func(p string) (time.Duration, error) {
		return d.docker("multiarch", "build", "--builder", builder, "--platform", p, "--no-cache", "--push",
			"--progress", "quiet", "-t", f.registry+"/bench/fanout:latest", ctx)
	}
	var singles []time.Duration
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		t, err := build(p)
		if err != nil {
			return 0, err
		}
		singles = append(singles, t)
	}
	all, err := build("linux/amd64,linux/arm64,linux/arm/v7")
	if err != nil {
		return 0, err
	}
	slowest := slices.Max(singles)
	ratio := float64(all) / float64(slowest)
	fmt.Printf("  fan-out (%s)  3 platforms on 3 nodes %v  slowest alone %v (each alone %v)  ratio %.3fx\n",
		label, all.Round(time.Millisecond), slowest.Round(time.Millisecond), roundAll(singles), ratio)
	return ratio, nil
}

func roundAll(d []time.Duration) []time.Duration {
	out := make([]time.Duration, len(d))
	for i, v := range d {
		out[i] = v.Round(time.Millisecond)
	}
	return out
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "OVER GOAL"
}
