package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// verifyGoal is issue 23's: --verify-reproducible on a warm build costs at most its slowest second
// build plus this.
const verifyGoal = 500 * time.Millisecond

// reproduce measures what --verify-reproducible adds to a warm two-platform push: the same
// --reproducible build with and without the check, interleaved runs. The check's second builds run
// without cache beside the first, so its cost is judged against the slowest second build (read
// from the metadata file) plus verifyGoal.
func reproduce(d *dockerEnv, f farm, builder string, runs int) (bool, error) {
	ctx, err := writeContext(map[string]string{"Dockerfile": "FROM " + f.busybox + "\nRUN uname -m > /arch\nCOPY . /src\n", "a.txt": "a\n"})
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(ctx)
	md := filepath.Join(ctx, "..", filepath.Base(ctx)+".json")
	defer os.Remove(md)
	base := []string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", "--push", "--progress", "quiet",
		"--source-date-epoch", "1700000000", "-t", f.registry + "/bench/reproduce:latest"}
	var plain, checked, seconds []time.Duration
	for i := -1; i < runs; i++ { // one warm-up round fills the cache
		p, err := d.docker(append(base, ctx)...)
		if err != nil {
			return false, err
		}
		c, err := d.docker(append(base, "--verify-reproducible", "--metadata-file", md, ctx)...)
		if err != nil {
			return false, err
		}
		slowest, err := slowestSecond(md)
		if err != nil {
			return false, err
		}
		if i >= 0 {
			plain, checked, seconds = append(plain, p), append(checked, c), append(seconds, slowest)
		}
	}
	added, budget := median(checked)-median(plain), median(seconds)+verifyGoal
	ok := added <= budget
	fmt.Printf("verify-reproducible  runs=%d  warm 2-platform push median %v  with the check %v  added %v  slowest second build %v  (goal: added <= slowest second + %v: %s)\n",
		runs, median(plain).Round(time.Millisecond), median(checked).Round(time.Millisecond), added.Round(time.Millisecond),
		median(seconds).Round(time.Millisecond), verifyGoal, verdict(ok))
	return ok, nil
}

// slowestSecond is the longest second build a --verify-reproducible metadata file records.
func slowestSecond(path string) (time.Duration, error) {
	dt, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var md struct {
		Platforms []struct {
			Reproduced *struct {
				Reproduced bool
				Seconds    float64 `json:"durationSeconds"`
			}
		} `json:"multiarch.platforms"`
	}
	if err := json.Unmarshal(dt, &md); err != nil {
		return 0, err
	}
	var slowest time.Duration
	for _, p := range md.Platforms {
		if p.Reproduced == nil || !p.Reproduced.Reproduced {
			return 0, fmt.Errorf("%s: a platform did not reproduce", path)
		}
		slowest = max(slowest, time.Duration(p.Reproduced.Seconds*float64(time.Second)))
	}
	return slowest, nil
}
