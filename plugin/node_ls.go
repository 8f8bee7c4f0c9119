package plugin

import (
	"io"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type nodeLsOptions struct {
	format  string
	timeout time.Duration
}

func newNodeLsCommand(dockerCli command.Cli) *cobra.Command {
	var opts nodeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List builder nodes and probe their engines",
		Long: `List builder nodes. Every node's engine is probed in parallel, each within --timeout;
a node that does not answer is listed with its error.`,
		Example: `  docker multiarch node ls
  docker multiarch node ls --format json
  docker multiarch node ls --format '{{.Name}} {{.Status}}'`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNodeLs(cmd, dockerCli, opts)
		},
	}
	addFormatFlag(cmd, &opts.format)
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each engine to answer")
	return cmd
}

func runNodeLs(cmd *cobra.Command, dockerCli command.Cli, opts nodeLsOptions) error {
	if _, err := checkFormat(opts.format); err != nil {
		return err
	}
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	svc := nodeService(dockerCli)
	nodes, err := svc.List()
	if err != nil {
		return err
	}
	var views []nodeView
	for _, st := range svc.ProbeAll(cmd.Context(), nodes, opts.timeout) {
		views = append(views, viewOf(st))
	}
	return writeNodeList(dockerCli.Out(), opts.format, views)
}

// writeNodeList prints node views as `node ls` does.
func writeNodeList(out io.Writer, format string, views []nodeView) error {
	return writeList(out, format, views,
		[]string{"NAME", "ENDPOINT", "PLATFORMS", "STATUS", "ENGINE"},
		func(v nodeView) []string {
			return []string{v.Name, v.Endpoint, joinOrDash(v.Platforms), v.statusText(), v.engineText()}
		})
}
