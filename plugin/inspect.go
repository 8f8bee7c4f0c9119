package plugin

import (
	"fmt"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type inspectOptions struct {
	format  string
	timeout time.Duration
}

func newInspectCommand(dockerCli command.Cli) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] REF",
		Short: "Show the platforms behind an image reference",
		Long: `Show the platforms behind a tag or digest: os, architecture, variant, os.version, digest and
size of every image of an index (attestation manifests marked as such), or of a single image.`,
		Example: `  docker multiarch inspect registry.example.com/app:1.4
  docker multiarch inspect registry.example.com/app:1.4 --format json`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd, dockerCli, args[0], opts)
		},
	}
	addFormatFlag(cmd, &opts.format)
	addTimeoutFlag(cmd, &opts.timeout, "How long the registry may take to answer")
	return cmd
}

func runInspect(cmd *cobra.Command, dockerCli command.Cli, ref string, opts inspectOptions) error {
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	tf, err := checkFormat(opts.format)
	if err != nil {
		return err
	}
	info, err := service(dockerCli).Inspect(cmd.Context(), ref, opts.timeout)
	if err != nil {
		return err
	}
	if tf != nil || opts.format == formatJSON {
		return writeFormatted(dockerCli.Out(), opts.format, info, nil)
	}
	kind := "image"
	if info.Index {
		kind = "index"
	}
	_, _ = fmt.Fprintf(dockerCli.Out(), "%s  %s (%s)\n\n", info.Ref, info.Digest, kind)
	return writeList(dockerCli.Out(), formatTable, info.Manifests,
		[]string{"PLATFORM", "OS.VERSION", "DIGEST", "SIZE", "TYPE"},
		func(e driver.ImageEntry) []string {
			platform, typ := e.Platform, "image"
			if e.Attestation {
				platform, typ = "-", "attestation of "+shortDigest(e.AttestsTo)
			}
			return []string{platform, orDash(e.OSVersion), e.Digest, units.HumanSizeWithPrecision(float64(e.Size), 3), typ}
		})
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
