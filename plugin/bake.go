package plugin

import (
	"fmt"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

func newBakeCommand(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts driver.BakeOptions
	var signKey string
	cmd := &cobra.Command{
		Use:   "bake [OPTIONS] [TARGET|GROUP...]",
		Short: "Build the targets of a bake file or compose file, every platform on its own node",
		Long: `Build the targets of a bake definition (docker-bake.hcl, docker-bake.json, compose.yaml: the
files, variables, functions, inheritance, groups, matrix and --set are docker buildx bake's own,
resolved by it) the way build builds one image: every platform of every target on the node
native to it (or the node that emulates it), per-platform Dockerfiles beside the context, the
base images checked first, every platform pushed by digest. Targets build in parallel; a target
whose contexts name another target ("target:base") waits for it and gets its result as an OCI
layout.

With --push nothing is tagged until every target has built: then one transaction moves every
target's tags to its verified index, and a failure (or Ctrl-C) puts back every tag already moved,
of every target. --print prints buildx's resolved definition unchanged (it needs docker buildx).`,
		Example: `  docker multiarch bake --push
  docker multiarch bake -f docker-bake.hcl app worker --set "*.platform=linux/amd64,linux/arm64" --push
  docker multiarch bake -f compose.yaml --dry-run
  docker multiarch bake --print release
  docker multiarch bake --push --metadata-file bake-metadata.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Targets = args
			opts.Builder = selectedBuilder(cmd, root)
			var err error
			if opts.Signer, err = loadSignKey(signKey); err != nil {
				return err
			}
			return runBake(cmd, dockerCli, opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Files, "file", "f", nil, "Build definition file (repeatable; default: buildx's, docker-bake.hcl, compose.yaml, ...)")
	f.StringArrayVar(&opts.Set, "set", nil, `Override target value (e.g., "targetpattern.key=value")`)
	f.StringArrayVar(&opts.Vars, "var", nil, `Set a variable value (e.g., "name=value")`)
	f.BoolVar(&opts.Push, "push", false, "Push every target's platforms by digest, then move every target's tags together")
	f.BoolVar(&opts.Load, "load", false, "Load every target into the current Docker engine, as build --load does")
	f.BoolVar(&opts.Print, "print", false, "Print the options without building (docker buildx bake --print's output)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "Print the plan of every target (platform, node, Dockerfile, native or emulated) and stop")
	f.StringVar(&opts.MetadataFile, "metadata-file", "", `Write every target's build results to this file ({"TARGET": {...}}, as buildx bake)`)
	f.StringVar(&opts.Progress, "progress", "auto", `Progress output: auto, tty, plain, rawjson, quiet, none (several targets: plain lines, prefixed)`)
	f.BoolVar(&opts.NoCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&opts.Pull, "pull", false, "Always attempt to pull all referenced images")
	f.StringVar(&opts.Provenance, "provenance", "", `Shorthand for "--set=*.attest=type=provenance"`)
	f.StringVar(&opts.SBOM, "sbom", "", `Shorthand for "--set=*.attest=type=sbom"`)
	f.StringArrayVar(&opts.Allow, "allow", nil, `Allow build to access specified resources (e.g., "network.host", "security.insecure")`)
	f.StringVar(&opts.Test, "test", "", "Test gate: run this command in every variant of every target before any tag moves (needs --push)")
	f.BoolVar(&opts.TestImageCmd, "test-image-cmd", false, "Test gate: run each image's own entrypoint and command in every variant")
	addSignKeyFlag(f, &signKey)
	addCriteriaFlags(f, &opts.TestCriteria, "bake")
	addTimeoutFlag(cmd, &opts.Timeout, "How long to wait for a node or the registry to answer")
	return cmd
}

func runBake(cmd *cobra.Command, dockerCli command.Cli, opts driver.BakeOptions) error {
	opts.Stdout = dockerCli.Out()
	opts.Warn = warnNow(dockerCli)
	res, err := service(dockerCli).Bake(cmd.Context(), opts, dockerCli.In(), dockerCli.Err())
	if res != nil && res.Print != nil {
		_, werr := dockerCli.Out().Write(res.Print)
		return werr
	}
	if res != nil {
		writeBakeNotes(dockerCli, res)
	}
	if err != nil {
		return err
	}
	if opts.DryRun {
		return forEachTarget(dockerCli, res, writeDryRun)
	}
	if opts.Progress == "none" || opts.Progress == "quiet" {
		return nil
	}
	return forEachTarget(dockerCli, res, func(dockerCli command.Cli, r *driver.BuildResult) error {
		if err := writeSummary(dockerCli, r); err != nil {
			return err
		}
		if r.Index.Digest != "" {
			_, _ = fmt.Fprintf(dockerCli.Out(), "\n%s pushed to %v: %d platforms, verified\n", r.Index.Digest, r.Tags, len(r.Steps))
			for _, t := range r.Published {
				_, _ = fmt.Fprintln(dockerCli.Out(), "  "+t.String())
			}
			writeSigned(dockerCli.Out(), r.Signed)
		}
		return nil
	})
}

// writeBakeNotes prints the bake's warnings, then every target's notes and warnings, named.
func writeBakeNotes(dockerCli command.Cli, res *driver.BakeResult) {
	for _, w := range res.Warnings {
		_, _ = fmt.Fprintln(dockerCli.Err(), "WARNING:", w)
	}
	for _, t := range res.Targets {
		if t.Build == nil {
			continue
		}
		for _, n := range t.Build.Notes {
			if n != "" {
				_, _ = fmt.Fprintf(dockerCli.Err(), "target %s: %s\n", t.Name, n)
			}
		}
		for _, w := range t.Build.Warnings {
			_, _ = fmt.Fprintf(dockerCli.Err(), "WARNING: target %s: %s\n", t.Name, w)
		}
	}
}

// forEachTarget prints every target's part of the output under its name.
func forEachTarget(dockerCli command.Cli, res *driver.BakeResult, write func(command.Cli, *driver.BuildResult) error) error {
	for i, t := range res.Targets {
		if t.Build == nil {
			continue
		}
		if i > 0 {
			_, _ = fmt.Fprintln(dockerCli.Out())
		}
		_, _ = fmt.Fprintf(dockerCli.Out(), "target %s (builder %s)\n", t.Name, t.Build.Builder)
		if err := write(dockerCli, t.Build); err != nil {
			return err
		}
	}
	return nil
}
