package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// pushCheckGoal bounds the push check of one repository on the farm's registry (issue 25).
const pushCheckGoal = 50 * time.Millisecond

var pushAllowed = regexp.MustCompile(`push access: \S+: push allowed \((\S+)\)`)

// pushCheck measures the push access check of one repository on the farm's registry, as
// build --dry-run reports it (the check's own time, without the plugin's start), median of runs.
func pushCheck(d *dockerEnv, f farm, builder string, runs int) (time.Duration, error) {
	ctx, err := writeContext(map[string]string{"Dockerfile": "FROM " + f.busybox + "\n"})
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(ctx)
	var took []time.Duration
	for i := 0; i < runs; i++ {
		cmd := exec.Command("docker", "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--push", "--dry-run",
			"-t", f.registry+"/bench/pushcheck:1", ctx)
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+d.config)
		out, err := cmd.CombinedOutput()
		m := pushAllowed.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			return 0, fmt.Errorf("build --dry-run --push: %v\n%s", err, tailOf(string(out), 2000))
		}
		t, err := time.ParseDuration(strings.TrimSpace(m[1]))
		if err != nil {
			return 0, err
		}
		took = append(took, t)
	}
	m := median(took)
	fmt.Printf("push check  runs=%d  one repository on the farm's registry median %v  (goal <= %v: %s)\n", runs, m, pushCheckGoal, verdict(m <= pushCheckGoal))
	return m, nil
}
