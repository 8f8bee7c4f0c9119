package plugin

import (
	"errors"
	"fmt"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

func newMergeCommand(dockerCli command.Cli) *cobra.Command {
	var opts driver.MergeOptions
	var fromMetadata, annotations []string
	var signKey string
	cmd := &cobra.Command{
		Use:   "merge -t TAG [-t TAG...] [OPTIONS] (SOURCE... | --from-metadata FILE|DIR...)",
		Short: "Combine existing images into one multi-platform tag",
		Long: `Combine images built anywhere (tags or digests, single images or indexes, Windows included)
into one index pushed to every -t tag, then read back and verified. Images from other repositories
of the registry are copied into the tag's repository; no per-platform tag is created. The platform
of a single image comes from its config, os.version and os.features included. Two sources for one
platform is an error unless --prefer names the source to keep.

CI split across runners: each runner builds its platforms with build --push-by-digest
--metadata-file FILE (no tag moves); merge --from-metadata FILE... (or a directory of them)
publishes the one tag, with the same guarantees as build. A platform missing or pushed twice
across the files stops it before anything is written.`,
		Example: `  docker multiarch merge -t registry.example.com/app:1.4 \
    registry.example.com/app@sha256:4f1c... registry.example.com/app-windows:1.4
  docker multiarch merge -t app:1.4 --dry-run app:1.4-amd64 app:1.4-arm64
  docker multiarch merge -t registry.example.com/app:1.4 --from-metadata amd64.json --from-metadata arm64.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Sources = args
			if len(args) == 0 && len(fromMetadata) == 0 {
				return errors.New("merge needs source images, or --from-metadata FILE|DIR of split builds")
			}
			var err error
			if opts.Annotations, err = driver.ParseIndexAnnotations(annotations); err != nil {
				return err
			}
			if opts.Signer, err = loadSignKey(signKey); err != nil {
				return err
			}
			return runMerge(cmd, dockerCli, opts, fromMetadata)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tags, "tag", "t", nil, "Tag to push the combined index to (repeatable)")
	f.StringArrayVar(&opts.Prefer, "prefer", nil, "Source to keep when two give the same platform (repeatable)")
	f.BoolVar(&opts.NoAttestations, "no-attestations", false, "Leave attestation manifests out")
	f.BoolVar(&opts.DryRun, "dry-run", false, "Print the index and stop")
	f.StringArrayVar(&annotations, "annotation", nil, `Annotation of the published index, "[index:]KEY=VALUE" (repeatable)`)
	f.StringArrayVar(&fromMetadata, "from-metadata", nil, "The --metadata-file of split builds (build --push-by-digest), or a directory of them (repeatable)")
	addSignKeyFlag(f, &signKey)
	addTimeoutFlag(cmd, &opts.Timeout, "How long a registry may take to answer (or a copy to make progress)")
	return cmd
}

func runMerge(cmd *cobra.Command, dockerCli command.Cli, opts driver.MergeOptions, fromMetadata []string) error {
	if err := checkTimeout(opts.Timeout); err != nil {
		return err
	}
	res, err := service(dockerCli).Merge(cmd.Context(), opts, fromMetadata)
	if err != nil {
		return err
	}
	if opts.DryRun {
		_, err := fmt.Fprintln(dockerCli.Out(), string(res.JSON))
		return err
	}
	if err := writeList(dockerCli.Out(), formatTable, res.Entries,
		[]string{"PLATFORM", "OS.VERSION", "DIGEST", "SOURCE"},
		func(e driver.MergeEntry) []string {
			return []string{e.Platform, orDash(e.OSVersion), e.Digest, e.Source}
		}); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(dockerCli.Out(), "\n%s pushed to %v: %d platforms, verified\n", res.Index.Digest, opts.Tags, len(res.Entries))
	for _, t := range res.Tags {
		_, _ = fmt.Fprintln(dockerCli.Out(), "  "+t.String())
	}
	writeSigned(dockerCli.Out(), res.Signed)
	return nil
}
