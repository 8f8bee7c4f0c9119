package plugin

import (
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// addBuilderFlag gives the root command buildx's persistent --builder: `docker multiarch
// --builder NAME build ...` and `docker multiarch build --builder NAME ...` are the same.
func addBuilderFlag(root *cobra.Command, opts *rootOptions) *pflag.Flag {
	root.PersistentFlags().StringVar(&opts.builder, "builder", "",
		"Override the configured builder instance")
	return root.PersistentFlags().Lookup("builder")
}

// inheritBuilder hands the root's --builder to a command that declares a --builder of its own
// (build): given before the command's name, the flag is parsed by the root (the docker CLI
// traverses the command tree), after it by the command. The command's own wins when both are given.
func inheritBuilder(cmd *cobra.Command, root *pflag.Flag) error {
	own := cmd.Flags().Lookup("builder")
	if own == nil || own == root || !root.Changed || own.Changed {
		return nil
	}
	return cmd.Flags().Set("builder", root.Value.String())
}

// selectedBuilder is the builder named on the command line, by the command's own --builder or
// the root's; "" when none is.
func selectedBuilder(cmd *cobra.Command, opts *rootOptions) string {
	if own := cmd.Flags().Lookup("builder"); own != nil && own.Changed {
		return own.Value.String()
	}
	return opts.builder
}

// hideBuilderFlag hides the inherited --builder from the commands that do not use a builder, as
// buildx does: a hidden flag of their own shadows it, so their help does not offer it. It runs
// before cobra merges the inherited flags into the commands' own.
func hideBuilderFlag(root *cobra.Command, users ...string) {
	var hide func(*cobra.Command)
	hide = func(c *cobra.Command) {
		used := c.Parent() == root && slices.Contains(users, c.Name())
		if !used && c.Flags().Lookup("builder") == nil {
			c.Flags().String("builder", "", "")
			_ = c.Flags().MarkHidden("builder")
		}
		for _, sub := range c.Commands() {
			hide(sub)
		}
	}
	for _, c := range root.Commands() {
		hide(c)
	}
}
