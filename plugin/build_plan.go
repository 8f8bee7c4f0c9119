package plugin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// writePlan prints where each platform goes. Where a platform had several nodes to choose from,
// the builds the chosen node ran and the alternatives (with theirs, or why they were passed over)
// are shown too.
func writePlan(dockerCli command.Cli, res *driver.BuildResult) error {
	choice := slices.ContainsFunc(res.Steps, func(s driver.StepResult) bool { return len(s.Alternatives) > 0 })
	header := []string{"PLATFORM", "NODE", "DOCKERFILE", "MODE", "STRATEGY"}
	if choice {
		header = []string{"PLATFORM", "NODE", "WHY", "RUNNING", "DOCKERFILE", "MODE", "STRATEGY", "ALTERNATIVES"}
	}
	again := slices.ContainsFunc(res.Steps, func(s driver.StepResult) bool { return s.Reproduced != nil })
	if again {
		header = append(header, "AGAIN ON")
	}
	return writeList(dockerCli.Out(), formatTable, res.Steps, header, func(s driver.StepResult) []string {
		row := []string{s.Platform, s.Node, s.Dockerfile, mode(s.Emulated), s.Strategy}
		if choice {
			running := "-"
			if len(s.Alternatives) > 0 {
				running = fmt.Sprint(s.Running)
			}
			row = []string{s.Platform, s.Node, orDash(s.Reason), running, s.Dockerfile, mode(s.Emulated), s.Strategy, alternativesText(s)}
		}
		if again && s.Reproduced != nil {
			row = append(row, s.Reproduced.Node+": "+s.Reproduced.Why)
		}
		return row
	})
}

// alternativesText is the ALTERNATIVES column: the other nodes of a platform, as routing saw them.
func alternativesText(s driver.StepResult) string {
	var out []string
	for _, a := range s.Alternatives {
		var how []string
		if a.Emulated {
			how = append(how, "emulated")
		}
		if a.Error != "" {
			how = append(how, "did not answer")
		} else {
			how = append(how, fmt.Sprintf("%d running", a.Running))
		}
		out = append(out, a.Node+" ("+strings.Join(how, ", ")+")")
	}
	return orDash(strings.Join(out, ", "))
}
