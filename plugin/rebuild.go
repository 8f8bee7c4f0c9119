package plugin

import (
	"fmt"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type rebuildOptions struct {
	driver.RebuildOptions
	format string
}

func newRebuildCommand(dockerCli command.Cli) *cobra.Command {
	var opts rebuildOptions
	cmd := &cobra.Command{
		Use:   "rebuild [OPTIONS] REF",
		Short: "Rebuild every platform of an image from its provenance and say whether it reproduces",
		Long: `Read the provenance BuildKit recorded for every platform of REF (a tag or digest), rebuild each
platform from it without cache (SOURCE_DATE_EPOCH: the recorded one, else the image's creation
time; timestamps rewritten as --reproducible does), push the result by digest to REF's
repository, and compare it with REF's image: reproduced, or what differs, file by file. No tag
moves. The context is the git URL the provenance recorded, pinned to its commit, or a local
folder given with --context. mode=min provenance (buildx's default) records no build arguments or
target: give them with --build-arg and --target. Exits non-zero when a platform does not reproduce.`,
		Example: `  docker multiarch rebuild registry.example.com/app:1.4 --context .
  docker multiarch rebuild registry.example.com/app:1.4 --platform linux/arm64 --format json`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return runRebuild(cmd, dockerCli, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ContextPath, "context", "", "The local folder the image was built from (default: the git context its provenance recorded)")
	f.StringVarP(&opts.File, "file", "f", "", "The Dockerfile, when it is not where the provenance says")
	f.StringVar(&opts.Builder, "builder", "", "Builder to use (default: the current multiarch builder)")
	f.StringArrayVar(&opts.Platforms, "platform", nil, "Rebuild only this platform (repeatable; it must be in the image)")
	f.StringArrayVar(&opts.BuildArgs, "build-arg", nil, "Build-time variables, KEY=VALUE, added to the recorded ones")
	f.StringVar(&opts.Target, "target", "", "Build stage, when the provenance does not record it")
	f.StringVar(&opts.SourceDateEpoch, "source-date-epoch", "", "SOURCE_DATE_EPOCH, when neither the provenance nor the image's creation time gives it")
	f.IntVar(&opts.DiffLimit, "diff-limit", driver.DefaultDiffLimit, "How many differences to list per platform (0: all)")
	f.StringVar(&opts.Progress, "progress", "auto", `Progress output: auto, tty, plain, rawjson, quiet, none`)
	addFormatFlag(cmd, &opts.format)
	addTimeoutFlag(cmd, &opts.Timeout, "How long a node or the registry may take to answer")
	return cmd
}

func runRebuild(cmd *cobra.Command, dockerCli command.Cli, opts rebuildOptions) error {
	if err := checkTimeout(opts.Timeout); err != nil {
		return err
	}
	if _, err := checkFormat(opts.format); err != nil {
		return err
	}
	res, err := service(dockerCli).Rebuild(cmd.Context(), opts.RebuildOptions, dockerCli.Err())
	if res != nil {
		for _, n := range res.Notes {
			_, _ = fmt.Fprintln(dockerCli.Err(), n)
		}
	}
	if err != nil {
		return err
	}
	if err := writeList(dockerCli.Out(), opts.format, res.Platforms, []string{"PLATFORM", "NODE", "IMAGE", "REBUILT", "RESULT"},
		func(p driver.Rebuilt) []string {
			return []string{p.Platform, orDash(p.Node), shortDigest(p.Image), shortDigest(p.Digest), rebuiltCell(p)}
		}); err != nil {
		return err
	}
	var bad []string
	for _, p := range res.Platforms {
		if p.Reproduced {
			continue
		}
		bad = append(bad, p.Platform)
		if opts.format != formatTable && opts.format != "" {
			continue // the JSON holds the differences
		}
		_, _ = fmt.Fprintf(dockerCli.Out(), "\n%s: %s, rebuilt on node %s as %s\n", p.Platform, p.Image, orDash(p.Node), orDash(p.Digest))
		if p.Error != "" {
			_, _ = fmt.Fprintln(dockerCli.Out(), "  "+p.Error)
		}
		for _, l := range driver.DiffLines(p.Diff, opts.DiffLimit) {
			_, _ = fmt.Fprintln(dockerCli.Out(), "  "+l)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s does not reproduce: %s", opts.Ref, strings.Join(bad, ", "))
	}
	return nil
}

func rebuiltCell(p driver.Rebuilt) string {
	switch {
	case p.Reproduced:
		return "reproduced"
	case p.Error != "" && p.Diff == nil:
		return "NOT CHECKED: " + p.Error
	}
	n := 0
	if p.Diff != nil {
		n = len(p.Diff.Config) + len(p.Diff.Files) + p.Diff.More
	}
	return fmt.Sprintf("DIFFERS (%d)", n)
}
