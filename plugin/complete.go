package plugin

import (
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// flagCompletion is the completion of one flag's values on one command.
type flagCompletion struct {
	path []string // the command under the root: {"node", "rm"}
	flag string
	fn   cobra.CompletionFunc
}

// registerCompletions gives the commands' arguments and flag values their shell completions
// (`docker __complete multiarch ...`, which the docker CLI's completion scripts call): builders
// and nodes by name, the platforms the nodes serve, the enums, directories for build's context
// and files where a flag takes a file. Everything is read from the context and buildx stores; no
// engine is asked. A flag a command does not have (any more) is skipped.
func registerCompletions(root *cobra.Command, dockerCli command.Cli, opts *rootOptions) {
	c := &completer{dockerCli: dockerCli, opts: opts}
	_ = root.RegisterFlagCompletionFunc("builder", c.builders)
	for _, fc := range flagCompletions(c) {
		if cmd := subcommand(root, fc.path...); cmd != nil && cmd.LocalFlags().Lookup(fc.flag) != nil {
			_ = cmd.RegisterFlagCompletionFunc(fc.flag, fc.fn)
		}
	}
	walk(root, func(cmd *cobra.Command) {
		if cmd.LocalFlags().Lookup("format") != nil {
			_ = cmd.RegisterFlagCompletionFunc("format", fixed("table", "json"))
		}
	})
	args := map[string]cobra.CompletionFunc{
		"build": firstArg(dirs), "rm": firstArg(c.builders), "create": firstArg(c.builders),
		"node inspect": firstArg(c.nodes), "node rm": c.nodes,
	}
	for path, fn := range args {
		if cmd := subcommand(root, strings.Fields(path)...); cmd != nil && cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = fn
		}
	}
}

func flagCompletions(c *completer) []flagCompletion {
	files := func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return []flagCompletion{
		{[]string{"build"}, "builder", c.builders},
		{[]string{"build"}, "platform", c.platforms},
		{[]string{"build"}, "progress", fixed("auto", "plain", "tty", "quiet", "rawjson", "none")},
		{[]string{"build"}, "strategy", fixed("buildkit", "engine")},
		{[]string{"build"}, "network", fixed("default", "host", "none")},
		{[]string{"build"}, "file", files},
		{[]string{"build"}, "metadata-file", files},
		{[]string{"build"}, "iidfile", files},
		{[]string{"test"}, "platform", c.platforms},
		{[]string{"test"}, "network", fixed("default", "host", "none", "bridge")},
		{[]string{"create"}, "node", c.nodes},
		{[]string{"create"}, "emulate", c.emulate},
		{[]string{"apply"}, "file", files},
		{[]string{"merge"}, "from-metadata", files},
	}
}

// fixed completes an enum's values.
func fixed(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// dirs lets the shell complete directories (build's context).
func dirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// firstArg completes the first positional argument with fn, and nothing after it.
func firstArg(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

func subcommand(root *cobra.Command, path ...string) *cobra.Command {
	cmd, _, err := root.Find(path)
	if err != nil || cmd == root {
		return nil
	}
	return cmd
}

func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		walk(c, fn)
	}
}
