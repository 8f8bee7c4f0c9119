package plugin

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

type nodeInspectOptions struct {
	format  string
	timeout time.Duration
}

func newNodeInspectCommand(dockerCli command.Cli) *cobra.Command {
	var opts nodeInspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME",
		Short: "Show a builder node and probe it",
		Example: `  docker multiarch node inspect arm-box
  docker multiarch node inspect arm-box --format json`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNodeInspect(cmd, dockerCli, args[0], opts)
		},
	}
	addFormatFlag(cmd, &opts.format)
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for the node to answer")
	return cmd
}

func runNodeInspect(cmd *cobra.Command, dockerCli command.Cli, name string, opts nodeInspectOptions) error {
	if _, err := checkFormat(opts.format); err != nil {
		return err
	}
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	svc := service(dockerCli)
	node, err := svc.Node(name)
	if err != nil {
		return err
	}
	st := svc.NodeStatus(cmd.Context(), []contexts.Node{node}, opts.timeout)[0]
	return writeNodeInspect(dockerCli.Out(), opts.format, viewOf(st))
}

// writeNodeInspect prints a node view as `node inspect` does.
func writeNodeInspect(out io.Writer, format string, v nodeView) error {
	return writeFormatted(out, format, v, func(t *table) {
		t.row("Name:", v.Name)
		t.row("Kind:", kindText(v.Kind))
		t.row("Endpoint:", v.Endpoint)
		if v.Description != "" {
			t.row("Description:", v.Description)
		}
		t.row("Platforms:", fmt.Sprintf("%s (%s)", joinOrDash(v.Platforms), sourceText(v.PlatformSource)))
		t.row("Adopted context:", yesNo(v.Adopted))
		t.row("Status:", v.statusText())
		t.row("Running builds:", v.runningText())
		if !v.kind().Engine() {
			t.row("BuildKit:", v.versionText())
			if v.BuildKit != nil {
				t.row("Workers' platforms:", buildKitPlatforms(*v.BuildKit))
			}
			return
		}
		t.row("Engine:", v.engineText())
		if v.Engine.Platform != "" {
			t.row("Engine platform:", v.Engine.Platform+osVersionText(v.Engine.OSVersion))
			t.row("Engine API:", v.Engine.APIVersion)
		}
	})
}

func kindText(name string) string {
	k, ok := contexts.KindNamed(name)
	if !ok {
		return name
	}
	return k.Name() + " (" + k.Describe() + ")"
}

// buildKitPlatforms lists a daemon's platforms, the native one first, the emulated ones marked.
func buildKitPlatforms(info contexts.BuildKitInfo) string {
	var out []string
	for _, p := range info.Platforms {
		if slices.Contains(info.Emulated, p) {
			p += " (emulated)"
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ", ")
}

func sourceText(source string) string {
	switch source {
	case contexts.SourceEngine:
		return "detected from the engine"
	case contexts.SourceBuildKit:
		return "detected from BuildKit's workers"
	}
	return "given with --platform"
}

func osVersionText(v string) string {
	if v == "" {
		return ""
	}
	return " (os.version " + v + ")"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
