package plugin

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type testOptions struct {
	platforms []string
	list      listFlags
	timeout   time.Duration
	criteria  driver.TestCriteria
}

func newTestCommand(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts testOptions
	cmd := &cobra.Command{
		Use:   "test [OPTIONS] REF [-- COMMAND [ARG...]]",
		Short: "Run every variant of an image on a node that runs its platform",
		Long: `Run each variant of an image (every image of an index, or the one image) on a node native
to its platform, else on a node that emulates it, all in parallel, pulled by digest. Without a
command the image's own entrypoint and command run. A variant passes when it exits with
--expect-exit (default 0) and its output matches --expect-output, or, with --running, when it is
still running after that long (a server; it is then stopped). Containers are removed afterwards,
also on Ctrl-C and on timeout. The exit status is non-zero when any variant fails. The nodes are
those of the builder --builder names (default: the one build uses). --format json prints one
JSON object per variant and line.

This catches what a build cannot: an arm variant whose entrypoint is an amd64 binary builds fine
and fails here, on an Arm machine, before anyone pulls it.`,
		Example: `  docker multiarch test registry.example.com/app:1.4 -- app --version
  docker multiarch test registry.example.com/app:1.4 --expect-output 'aarch64|x86_64|armv7l' -- uname -m
  docker multiarch test registry.example.com/web:1.4 --running 5s
  docker multiarch test registry.example.com/app:1.4 --platform linux/arm/v7 --format json`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, command, err := refAndCommand(cmd, args)
			if err != nil {
				return err
			}
			opts.criteria.Cmd = command
			return runTest(cmd, dockerCli, ref, root.builder, opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.platforms, "platform", nil, "Platforms to test (default: every platform of the image)")
	addCriteriaFlags(f, &opts.criteria, "")
	addListFlags(cmd, &opts.list, "")
	addTimeoutFlag(cmd, &opts.timeout, "How long a node or the registry may take to answer")
	return cmd
}

// addCriteriaFlags adds the pass criteria shared by `test` and `build --test`.
func addCriteriaFlags(f *pflag.FlagSet, c *driver.TestCriteria, network string) {
	f.IntVar(&c.ExpectExit, "expect-exit", 0, "Exit code a variant must exit with")
	f.StringVar(&c.ExpectOutput, "expect-output", "", "Regular expression the output of every variant must match")
	f.DurationVar(&c.Running, "running", 0, "A server: pass when still running after this long (then stopped)")
	f.DurationVar(&c.Timeout, "test-timeout", 2*time.Minute, "How long each variant may take: pull, run and judge")
	if network == "" {
		f.StringVar(&c.Network, "network", "", `Network of the test containers: "default", "host", "none" or "bridge"`)
	}
}

// refAndCommand splits `REF [-- COMMAND ARGS...]`.
func refAndCommand(cmd *cobra.Command, args []string) (string, []string, error) {
	dash := cmd.ArgsLenAtDash()
	switch {
	case dash == 0:
		return "", nil, errors.New("test needs an image reference before --")
	case dash > 1 || dash < 0 && len(args) > 1:
		return "", nil, fmt.Errorf("one image reference, then -- and the command: got %q", strings.Join(args, " "))
	}
	return args[0], args[1:], nil
}

func runTest(cmd *cobra.Command, dockerCli command.Cli, ref, builder string, opts testOptions) error {
	format, err := listFormat(opts.list, testTable, dockerCli.Err())
	if err != nil {
		return err
	}
	results, err := service(dockerCli).Test(cmd.Context(), driver.TestOptions{
		Ref: ref, Platforms: opts.platforms, Builder: builder, Criteria: opts.criteria, NodeTimeout: opts.timeout,
	})
	if results == nil {
		return err
	}
	if werr := writeRows(dockerCli.Out(), format, testHeader, results, testRow); werr != nil {
		return werr
	}
	return err
}
