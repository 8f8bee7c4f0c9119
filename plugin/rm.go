package plugin

import (
	"fmt"
	"slices"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

type rmOptions struct {
	timeout time.Duration
}

func newRmCommand(dockerCli command.Cli) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] NAME",
		Aliases: []string{"remove"},
		Short:   "Remove a builder and its BuildKit containers",
		Long: `Remove a multiarch builder and the BuildKit container of each of its nodes. Nodes that
cannot be reached within --timeout are named; their containers may remain.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd, dockerCli, args[0], opts)
		},
	}
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each node")
	return cmd
}

func runRm(cmd *cobra.Command, dockerCli command.Cli, name string, opts rmOptions) error {
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	res, err := driver.NewManager(dockerCli).Remove(cmd.Context(), name, opts.timeout)
	if err != nil {
		return err
	}
	slices.Sort(res.Removed)
	for _, n := range res.Removed {
		_, _ = fmt.Fprintf(dockerCli.Err(), "  %s: BuildKit container removed\n", n)
	}
	for n, err := range res.Unreachable {
		_, _ = fmt.Fprintf(dockerCli.Err(), "WARNING: node %s could not be reached (%v); its BuildKit container may remain\n", n, redact.Error(err))
	}
	_, _ = fmt.Fprintln(dockerCli.Out(), name)
	return nil
}
