package plugin

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

type nodeRmOptions struct {
	keepContext bool
}

func newNodeRmCommand(dockerCli command.Cli) *cobra.Command {
	var opts nodeRmOptions
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] NAME [NAME...]",
		Aliases: []string{"remove"},
		Short:   "Remove builder nodes",
		Long: `Remove builder nodes. A node's Docker context is removed with it, unless --keep-context
is given or the node adopted a context that existed before it. A node a builder still uses is
refused: drop it from the builder first.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNodeRm(cmd.Context(), dockerCli, args, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.keepContext, "keep-context", false, "Keep the Docker context, remove only its node data")
	return cmd
}

func runNodeRm(ctx context.Context, dockerCli command.Cli, names []string, opts nodeRmOptions) error {
	if err := service(dockerCli).CheckNodesUnused(names); err != nil {
		return err
	}
	removed, err := service(dockerCli).RemoveNodes(ctx, names, contexts.RemoveOptions{
		KeepContext:    opts.keepContext,
		CurrentContext: dockerCli.CurrentContext(),
	})
	if err != nil {
		return err
	}
	for _, res := range removed {
		if !res.ContextRemoved {
			_, _ = fmt.Fprintf(dockerCli.Err(), "node %q removed; its Docker context is kept\n", res.Node.Name)
		}
		_, _ = fmt.Fprintln(dockerCli.Out(), res.Node.Name)
	}
	return nil
}
