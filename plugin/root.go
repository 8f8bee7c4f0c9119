// Package plugin holds the cobra commands of `docker multiarch`: flag parsing and output only.
// The work is done by the contexts and driver packages; this is the only package that prints.
package plugin

import (
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/internal/pluginmeta"
)

// Plugin identity, shown by `docker --help` and `docker info` (internal/pluginmeta holds it).
const (
	Vendor           = pluginmeta.Vendor
	ShortDescription = pluginmeta.ShortDescription
	URL              = pluginmeta.URL
)

// BuildInfo identifies the plugin binary; main sets it from link-time flags.
type BuildInfo struct {
	Version string
	Commit  string
}

// rootOptions are the flags of the root command, inherited by every command.
type rootOptions struct {
	builder string // --builder, as buildx has it: `docker multiarch --builder NAME build ...`
}

// NewRootCommand returns the `multiarch` command with its subcommands.
func NewRootCommand(dockerCli command.Cli, info BuildInfo) *cobra.Command {
	var opts rootOptions
	cmd := &cobra.Command{
		Use:   "multiarch",
		Short: ShortDescription,
		Long: `docker multiarch builds one image tag that runs on Intel, Arm and Windows machines.

Docker contexts become builder nodes, one Buildx builder spans them with every node
pinned to its native platform, and a build pushes only the combined multi-arch tag.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	builderFlag := addBuilderFlag(cmd, &opts)
	interrupts := handleInterrupts(dockerCli.Err())
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if err := inheritBuilder(c, builderFlag); err != nil {
			return err
		}
		return interrupts(c, args)
	}
	cmd.AddCommand(
		newNodeCommand(dockerCli),
		newBuildCommand(dockerCli),
		newBakeCommand(dockerCli, &opts),
		newCreateCommand(dockerCli),
		newApplyCommand(dockerCli),
		newInspectCommand(dockerCli),
		newMergeCommand(dockerCli),
		newVerifyCommand(dockerCli),
		newRebuildCommand(dockerCli),
		newHistoryCommand(dockerCli),
		newDuCommand(dockerCli, &opts),
		newPruneCommand(dockerCli, &opts),
		newTestCommand(dockerCli, &opts),
		newLsCommand(dockerCli),
		newRmCommand(dockerCli, &opts),
		newVersionCommand(dockerCli, info),
	)
	hideBuilderFlag(cmd, "build", "bake", "test", "rm", "du", "prune")
	registerCompletions(cmd, dockerCli, &opts)
	wrapRunE(cmd)
	return cmd
}
