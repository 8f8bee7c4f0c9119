package plugin

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

type rmOptions struct {
	timeout time.Duration
}

func newRmCommand(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] [NAME]",
		Aliases: []string{"remove"},
		Short:   "Remove a builder and its BuildKit containers",
		Long: `Remove a multiarch builder and the BuildKit container of each of its nodes. Nodes that
cannot be reached within --timeout are named; their containers may remain. The builder is NAME,
or the one --builder names ("docker multiarch --builder NAME rm"); the current builder is never
removed implicitly.`,
		Args: cli.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := rmTarget(args, root.builder)
			if err != nil {
				return err
			}
			return runRm(cmd, dockerCli, name, opts)
		},
	}
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each node")
	return cmd
}

// rmTarget is the builder rm removes: NAME, else --builder's.
func rmTarget(args []string, builder string) (string, error) {
	switch {
	case len(args) == 1 && builder != "" && builder != args[0]:
		return "", fmt.Errorf("rm: NAME %q and --builder %q name different builders", args[0], builder)
	case len(args) == 1:
		return args[0], nil
	case builder != "":
		return builder, nil
	}
	return "", errors.New(`"docker multiarch rm" requires 1 argument: the builder's name (or --builder NAME)`)
}

func runRm(cmd *cobra.Command, dockerCli command.Cli, name string, opts rmOptions) error {
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	res, err := service(dockerCli).Remove(cmd.Context(), name, opts.timeout)
	if err != nil {
		return err
	}
	slices.Sort(res.Removed)
	for _, n := range res.Removed {
		_, _ = fmt.Fprintf(dockerCli.Err(), "  %s: BuildKit container removed\n", n)
	}
	for _, n := range res.Left {
		_, _ = fmt.Fprintf(dockerCli.Err(), "  %s: left the builder (a BuildKit daemon: it keeps running)\n", n)
	}
	for n, err := range res.Unreachable {
		_, _ = fmt.Fprintf(dockerCli.Err(), "WARNING: node %s could not be reached (%v); its BuildKit container may remain\n", n, redact.Error(err))
	}
	_, _ = fmt.Fprintln(dockerCli.Out(), name)
	return nil
}
