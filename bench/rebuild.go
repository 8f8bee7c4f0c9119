package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// rebuildGoal (issue 22): a warm 3-platform rebuild after a one-line change at most 0.85x
// `docker buildx build` of the same on the same builder.
const rebuildGoal = 0.85

// rebuild: three platforms pushed, warm, each run after a one-line change of a file the last step
// copies (so every platform redoes that step and pushes a new image), docker multiarch build and
// docker buildx build interleaved on the same builder; the ratio of the medians.
func rebuild(d *dockerEnv, f farm, builder string, runs int) (float64, error) {
	ctx, err := writeContext(map[string]string{
		"Dockerfile": "FROM " + f.busybox + "\nRUN uname -m > /arch\nCOPY app.txt /app.txt\n",
		"app.txt":    "0\n",
	})
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(ctx)
	change := func(i int, tool string) error { // a new line before each build: its last step runs again
		return os.WriteFile(filepath.Join(ctx, "app.txt"), fmt.Appendf(nil, "%s %d %d\n", tool, i, time.Now().UnixNano()), 0o644)
	}
	plats := "linux/amd64,linux/arm64,linux/arm/v7"
	ma := []string{"multiarch", "build", "--builder", builder, "--platform", plats, "--push", "--progress", "quiet", "-t", f.registry + "/bench/rebuild:multiarch", ctx}
	bx := []string{"buildx", "build", "--builder", builder, "--platform", plats, "--push", "--progress", "quiet", "-t", f.registry + "/bench/rebuild:buildx", ctx}
	mm, bm, err := interleaved(d, runs, ma, bx, change)
	if err != nil {
		return 0, err
	}
	ratio := float64(mm) / float64(bm)
	fmt.Printf("rebuild after a one-line change, 3 platforms pushed  runs=%d  docker multiarch build median %v  docker buildx build median %v  ratio %.3fx  (goal <= %.2fx: %s)\n",
		runs, mm.Round(time.Millisecond), bm.Round(time.Millisecond), ratio, rebuildGoal, verdict(ratio <= rebuildGoal))
	return ratio, nil
}
