package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// The standing goals: a warm build at most 0.9x `docker buildx build` on the same builder; N
// platforms on N nodes at most 1.05x the slowest platform alone, and never behind buildx's own
// fan-out of the same platforms on the same builder.
const (
	overheadGoal      = 0.90
	fanoutGoal        = 1.05
	fanoutBuildxGoal  = 1.00
	fanoutStepSeconds = 3 // short steps: the fixed cost of a build shows
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
	mm, bm, err := interleaved(d, runs, ma, bx, nil)
	if err != nil {
		return 0, err
	}
	ratio := float64(mm) / float64(bm)
	fmt.Printf("build overhead  runs=%d  docker multiarch build median %v  docker buildx build median %v  ratio %.3fx  (goal <= %.2fx: %s)\n",
		runs, mm.Round(time.Millisecond), bm.Round(time.Millisecond), ratio, overheadGoal, verdict(ratio <= overheadGoal))
	return ratio, nil
}

// interleaved runs the docker multiarch command ma and the docker buildx command bx in turn, a
// warm-up round (it fills the cache) then runs rounds, before (when not nil) called ahead of each
// command with the round and "multiarch" or "buildx"; it returns the medians.
func interleaved(d *dockerEnv, runs int, ma, bx []string, before func(round int, tool string) error) (time.Duration, time.Duration, error) {
	var mt, bt []time.Duration
	for i := -1; i < runs; i++ {
		var took [2]time.Duration
		for k, c := range []struct {
			tool string
			args []string
		}{{"multiarch", ma}, {"buildx", bx}} {
			if before != nil {
				if err := before(i, c.tool); err != nil {
					return 0, 0, err
				}
			}
			t, err := d.docker(c.args...)
			if err != nil {
				return 0, 0, err
			}
			took[k] = t
		}
		if i >= 0 {
			mt, bt = append(mt, took[0]), append(bt, took[1])
		}
	}
	return median(mt), median(bt), nil
}

// fanout: three platforms on three nodes, each a sleep-bound step, against the slowest of the
// platforms built alone (and, with one Dockerfile, against docker buildx build of the same three
// platforms on the same builder); once with one Dockerfile, once with per-platform Dockerfiles.
func fanout(d *dockerEnv, f farm, builder string, perPlatform bool) (float64, error) {
	const sleep = fanoutStepSeconds
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
	var ratios, vsBuildx []float64
	for range fanoutRounds {
		r, err := fanoutRound(d, f, builder, ctx, label)
		if err != nil {
			return 0, err
		}
		ratios = append(ratios, r.slowest)
		if !perPlatform {
			vsBuildx = append(vsBuildx, r.buildx)
		}
	}
	ratio := medianRatio(ratios)
	fmt.Printf("fan-out (%s)  median ratio of %d rounds to the slowest alone %.3fx  (goal <= %.2fx: %s)\n", label, fanoutRounds, ratio, fanoutGoal, verdict(ratio <= fanoutGoal))
	if len(vsBuildx) > 0 {
		b := medianRatio(vsBuildx)
		fmt.Printf("fan-out (%s)  median ratio of %d rounds to docker buildx build's fan-out %.3fx  (goal <= %.2fx: %s)\n", label, fanoutRounds, b, fanoutBuildxGoal, verdict(b <= fanoutBuildxGoal))
		if b > fanoutBuildxGoal {
			return b / fanoutBuildxGoal * fanoutGoal, nil // report as over the fan-out goal
		}
	}
	return ratio, nil
}

func medianRatio(r []float64) float64 {
	r = slices.Clone(r)
	slices.Sort(r)
	return r[len(r)/2]
}

type fanoutResult struct{ slowest, buildx float64 }

const fanoutRounds = 3

// fanoutRound times each platform alone, then all three together, then docker buildx build of the
// three; the ratios of all three together to the slowest alone and to buildx's.
func fanoutRound(d *dockerEnv, f farm, builder, ctx, label string) (fanoutResult, error) {
	build := func(p string) (time.Duration, error) {
		return d.docker("multiarch", "build", "--builder", builder, "--platform", p, "--no-cache", "--push",
			"--progress", "quiet", "-t", f.registry+"/bench/fanout:latest", ctx)
	}
	var singles []time.Duration
	for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
		t, err := build(p)
		if err != nil {
			return fanoutResult{}, err
		}
		singles = append(singles, t)
	}
	all, err := build("linux/amd64,linux/arm64,linux/arm/v7")
	if err != nil {
		return fanoutResult{}, err
	}
	res := fanoutResult{slowest: float64(all) / float64(slices.Max(singles))}
	line := fmt.Sprintf("  fan-out (%s)  3 platforms on 3 nodes %v  slowest alone %v (each alone %v)  ratio %.3fx",
		label, all.Round(time.Millisecond), slices.Max(singles).Round(time.Millisecond), roundAll(singles), res.slowest)
	if _, err := os.Stat(ctx + "/Dockerfile"); err == nil { // buildx builds one Dockerfile only
		bx, err := d.docker("buildx", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64,linux/arm/v7", "--no-cache",
			"--push", "--progress", "quiet", "-t", f.registry+"/bench/fanout:buildx", ctx)
		if err != nil {
			return fanoutResult{}, err
		}
		res.buildx = float64(all) / float64(bx)
		line += fmt.Sprintf("  docker buildx build %v  ratio %.3fx", bx.Round(time.Millisecond), res.buildx)
	}
	fmt.Println(line)
	return res, nil
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
