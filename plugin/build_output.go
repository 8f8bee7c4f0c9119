package plugin

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
)

func mode(emulated bool) string {
	if emulated {
		return "emulated"
	}
	return "native"
}

// writeSummary is the table of a build: platform, node, digest, duration, emulated, and the test
// gate's result when there was one.
func writeSummary(dockerCli command.Cli, res *driver.BuildResult) error {
	header := []string{"PLATFORM", "NODE", "DIGEST", "DURATION", "CACHED", "EMULATED"}
	tested := len(res.Steps) > 0 && res.Steps[0].Test != nil
	if tested {
		header = append(header, "TEST", "OUTPUT")
	}
	verified := len(res.Steps) > 0 && res.Steps[0].Reproduced != nil
	if verified {
		header = append(header, "REPRODUCED")
	}
	return writeList(dockerCli.Out(), formatTable, res.Steps, header, func(s driver.StepResult) []string {
		row := []string{s.Platform, s.Node, orDash(s.Digest), s.Duration.Round(100 * time.Millisecond).String(), cachedCell(s), yesNo(s.Emulated)}
		if tested {
			row = append(row, testCell(s.Test), testOutput(s.Test))
		}
		if verified {
			row = append(row, reproducedCell(s.Reproduced))
		}
		return row
	})
}

// reproducedCell says how a platform's second build compared: "reproduced on NODE" (with how it
// was built there when not natively on another node), else what went wrong.
func reproducedCell(r *driver.Reproduction) string {
	how := ""
	switch {
	case r.SameNode:
		how = " (same node, no cache)"
	case r.Emulated:
		how = " (emulated)"
	}
	switch {
	case r.Reproduced:
		return "reproduced on " + r.Node + how
	case r.Error != "":
		return "NOT CHECKED on " + r.Node + how
	case r.Digest == "":
		return "-"
	}
	return "DIFFERS on " + r.Node + how
}

// cachedCell is the steps of a platform's build that came from the cache, of its steps.
func cachedCell(s driver.StepResult) string {
	if s.Steps == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", s.Cached, s.Steps)
}

// testOutput is the last line a variant printed in the test gate, as `docker multiarch test`
// shows it (every line is in --metadata-file).
func testOutput(r *driver.TestResult) string {
	if r == nil {
		return "-"
	}
	return (&testContext{r: *r}).Output()
}

func testCell(r *driver.TestResult) string {
	switch {
	case r == nil:
		return "-"
	case r.Passed:
		return fmt.Sprintf("pass on %s (%s)", r.Node, r.Duration.Round(100*time.Millisecond))
	}
	return "FAIL on " + r.Node + ": " + r.Reason
}

// writeDryRun prints the plan, then every external base per platform and whether its registry has
// it for that platform.
func writeDryRun(dockerCli command.Cli, res *driver.BuildResult) error {
	if err := writePlan(dockerCli, res); err != nil {
		return err
	}
	type baseRow struct {
		step driver.StepResult
		base driver.BaseCheck
	}
	var rows []baseRow
	for _, s := range res.Steps {
		for _, b := range s.Bases {
			rows = append(rows, baseRow{s, b})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	_, _ = fmt.Fprintln(dockerCli.Out())
	return writeList(dockerCli.Out(), formatTable, rows, []string{"PLATFORM", "LINE", "BASE", "PULLED FOR", "AVAILABLE"},
		func(r baseRow) []string {
			avail := "yes"
			switch {
			case !r.base.Checked:
				avail = "unknown: " + r.base.Problem
			case !r.base.Available:
				avail = "NO: " + r.base.Problem
				if len(r.base.Has) > 0 {
					avail += " (has " + strings.Join(r.base.Has, ", ") + ")"
				}
			}
			line := fmt.Sprintf("%s:%d %s", filepath.Base(r.step.Dockerfile), r.base.Line, r.base.Instruction)
			return []string{r.step.Platform, line, r.base.Ref, r.base.Platform, avail}
		})
}

// addBuildxFlags adds the flags of `docker buildx build` v0.38 that Options does not name, with

// writeCallResults prints what --call found on every platform (buildx's rendering, a header per
// platform when there are several); a method that reports a problem sets the exit status.
func writeCallResults(dockerCli command.Cli, res *driver.BuildResult) error {
	status := 0
	for _, c := range res.Checks {
		if len(res.Checks) > 1 && res.CallFormat != "json" {
			_, _ = fmt.Fprintf(dockerCli.Out(), "%s (node %s, %s):\n", c.Platform, c.Node, c.Dockerfile)
		}
		report := c.Report
		if res.Call == "lint" && res.CallFormat != "json" {
			if c.Warnings == 0 && c.Error == "" {
				report += "Check complete, no warnings found.\n"
			} else if c.Warnings > 0 {
				report = fmt.Sprintf("Check complete, %d warning(s) found!\n", c.Warnings) + report
			}
		}
		_, _ = fmt.Fprint(dockerCli.Out(), report)
		if c.StatusCode != 0 && status == 0 {
			status = c.StatusCode
		}
	}
	if status != 0 && !res.CallIgnoreStatus {
		return cli.StatusError{StatusCode: status}
	}
	return nil
}
