package main

import (
	"fmt"
	"os"
	"time"
)

// gate measures what the test gate adds to a warm three-platform build: the same push with and
// without `--test true` (each variant pulled by digest and run on its node before the tag moves),
// interleaved runs; the difference of the medians. It is reported, not judged against a goal.
func gate(d *dockerEnv, f farm, builder string, runs int) error {
	ctx, err := writeContext(map[string]string{"Dockerfile": "FROM " + f.busybox + "\nCOPY . /src\n", "a.txt": "a\n"})
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctx)
	base := []string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64,linux/arm/v7",
		"--push", "--progress", "quiet", "--network", "none", "-t", f.registry + "/bench/gate:latest"}
	var plain, tested []time.Duration
	for i := -1; i < runs; i++ { // one warm-up round fills the cache
		p, err := d.docker(append(base, ctx)...)
		if err != nil {
			return err
		}
		t, err := d.docker(append(base, "--test", "true", ctx)...)
		if err != nil {
			return err
		}
		if i >= 0 {
			plain, tested = append(plain, p), append(tested, t)
		}
	}
	fmt.Printf("test gate  runs=%d  warm 3-platform push median %v  with --test true %v  added %v\n",
		runs, median(plain).Round(time.Millisecond), median(tested).Round(time.Millisecond), (median(tested) - median(plain)).Round(time.Millisecond))
	return nil
}
