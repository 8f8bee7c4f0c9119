package plugin

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

const buildLong = `Build every platform on the node native to it (or the node that emulates it), all in
parallel, and with --push publish only the combined multi-platform tag: each platform is pushed
by digest, then the index goes to every -t tag, which is read back and verified. No
per-architecture tag is ever created, and a failed build leaves the tags as they were.

A platform no node builds stops the build before it starts. Per-platform Dockerfiles next to the
context (Dockerfile.linux-amd64, Dockerfile.linux-arm64, Dockerfile.linux-arm, ...) or given with
--file-for are used for their platforms. Without a multiarch builder, the current Docker context
builds every platform, emulating the ones it does not run natively. With "-" the context (a tar
archive) or a Dockerfile is read from standard input.

Every external base image is checked first: a base that lacks a platform stops the build before
any node builds, naming the Dockerfile line (--dry-run lists the bases). With --test (or
--test-image-cmd) every variant is run, after it is pushed by digest and before any tag moves, on
a node native to its platform (else one that emulates it): one failing variant and no tag is
written.`

func newBuildCommand(dockerCli command.Cli) *cobra.Command {
	var opts driver.BuildOptions
	var signKey, reportFile string
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | URL | -",
		Short: "Build every platform on its own node and push one multi-platform tag",
		Long:  buildLong,
		Example: `  docker multiarch build -t registry.example.com/app:1.4 --push .
  docker multiarch build --platform linux/amd64,linux/arm64 -t app:dev --load .
  docker multiarch build --file-for linux/arm/v7=docker/Dockerfile.armhf -t app:1.4 --push .
  docker multiarch build --dry-run .
  docker multiarch build --platform linux/arm64 --push-by-digest -t registry.example.com/app --metadata-file arm64.json .
  docker multiarch build -t registry.example.com/app:1.4 --push --test "app --version" .
  docker multiarch build -t registry.example.com/web:1.4 --push --test-image-cmd --running 5s .`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ContextPath = args[0]
			return runBuildCommand(cmd, dockerCli, opts, signKey, reportFile)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&opts.Tags, "tag", "t", nil, `Image name and tag, "NAME:TAG" (repeatable)`)
	f.StringVarP(&opts.File, "file", "f", "", `Dockerfile for every platform without its own (default: "PATH/Dockerfile")`)
	f.StringArrayVar(&opts.FileFor, "file-for", nil, "Dockerfile for one platform, as PLATFORM=PATH (repeatable)")
	f.StringSliceVar(&opts.Platforms, "platform", defaultPlatforms(), "Platforms to build (default: $DOCKER_DEFAULT_PLATFORM, else every platform of the builder's nodes)")
	f.StringArrayVar(&opts.BuildArgs, "build-arg", nil, "Build-time variables, KEY=VALUE")
	f.StringArrayVar(&opts.Labels, "label", nil, "Image labels, KEY=VALUE")
	f.StringVar(&opts.Target, "target", "", "Build stage to build")
	f.BoolVar(&opts.Push, "push", false, "Push the platforms by digest and the combined index to the tags")
	f.BoolVar(&opts.PushByDigest, "push-by-digest", false, "Push the platforms by digest to the -t repositories and move no tag (CI split builds: merge --from-metadata publishes)")
	f.BoolVar(&opts.Load, "load", false, "Load the variant native to the current Docker engine into it")
	f.StringArrayVar(&opts.CacheFrom, "cache-from", nil, `External cache sources (e.g. "type=registry,ref=user/app:cache")`)
	f.StringArrayVar(&opts.CacheTo, "cache-to", nil, `Cache export destinations (e.g. "type=registry,ref=user/app:cache")`)
	f.StringVar(&opts.CacheRef, "cache-ref", "", "Registry cache repository: one cache per platform, at REF:cache-<os>-<arch>[-<variant>]")
	f.StringVar(&opts.Progress, "progress", "auto", `Progress output: auto, tty, plain, rawjson, quiet (the index digest printed at the end), none`)
	f.StringVar(&opts.MetadataFile, "metadata-file", "", "Write build results (buildx keys and per-platform results) to this file")
	f.StringVar(&opts.Provenance, "provenance", "", `Provenance attestation ("mode=max", "false", ...)`)
	f.StringVar(&opts.SBOM, "sbom", "", `SBOM attestation ("true", "false", "generator=...")`)
	f.StringVar(&opts.Builder, "builder", "", "Builder to use (default: the current multiarch builder)")
	f.BoolVar(&opts.NoCache, "no-cache", false, "Do not use cache when building")
	f.BoolVar(&opts.Pull, "pull", false, "Always look for newer base images")
	f.StringArrayVar(&opts.Secrets, "secret", nil, `Secret to expose to the build ("id=mysecret,src=/local/secret")`)
	f.StringArrayVar(&opts.SSH, "ssh", nil, `SSH agent socket or keys to expose ("default|<id>[=<socket>|<key>[,<key>]]")`)
	f.StringVar(&opts.Network, "network", "", `Networking mode for the RUN instructions: "default", "host" or "none"`)
	f.StringVar(&opts.Strategy, "strategy", "", `How nodes build: "buildkit" (their BuildKit) or "engine" (their engine's classic builder, as Windows engines offer)`)
	f.BoolVar(&opts.DryRun, "dry-run", false, "Print the plan (platform, node, Dockerfile, native or emulated) and stop")
	f.StringVar(&opts.Test, "test", "", "Test gate: run this command in every variant, on a node native to it, before any tag moves (needs --push)")
	f.BoolVar(&opts.TestImageCmd, "test-image-cmd", false, "Test gate: run the image's own entrypoint and command in every variant")
	addCriteriaFlags(f, &opts.TestCriteria, "build")
	addSignKeyFlag(f, &signKey)
	f.BoolVar(&opts.Reproducible, "reproducible", false, "Set SOURCE_DATE_EPOCH on every platform (--source-date-epoch, $SOURCE_DATE_EPOCH, or the context's git commit time) and rewrite the image's timestamps to it")
	f.StringVar(&opts.SourceDateEpoch, "source-date-epoch", "", "The time, in seconds since 1970, every timestamp of the image is set to (implies --reproducible)")
	f.StringVar(&opts.VerifyReproducible, "verify-reproducible", "", `Build every platform a second time (on another node where one builds it, without cache) and compare the images before any tag moves: "true" (a difference fails the build) or "warn" (it is reported); implies --reproducible`)
	f.Lookup("verify-reproducible").NoOptDefVal = "true"
	f.IntVar(&opts.DiffLimit, "diff-limit", driver.DefaultDiffLimit, "How many differences --verify-reproducible lists per platform (0: all)")
	f.StringVar(&reportFile, "report", "", "Write an HTML report of the build (a timeline per platform and node, the tags, any error) to this file, whatever its outcome")
	addTimeoutFlag(cmd, &opts.Timeout, "How long to wait for a node to answer before the build starts")
	addBuildxFlags(cmd, &opts)
	return cmd
}

// runBuildCommand reads the key and checks the report's place before anything runs, then builds.
func runBuildCommand(cmd *cobra.Command, dockerCli command.Cli, opts driver.BuildOptions, signKey, reportFile string) error {
	var err error
	if opts.Signer, err = loadSignKey(signKey); err != nil {
		return err
	}
	if err := checkReportFile(reportFile); err != nil {
		return err
	}
	return withReport(dockerCli, reportFile, func() (*driver.BuildResult, error) { return runBuild(cmd, dockerCli, opts) })
}

func runBuild(cmd *cobra.Command, dockerCli command.Cli, opts driver.BuildOptions) (*driver.BuildResult, error) {
	opts.Stdout = dockerCli.Out()
	opts.Warn = warnNow(dockerCli)
	if !opts.DryRun && opts.Call == "" && !opts.Push && !opts.PushByDigest && !opts.Load && len(opts.Outputs) == 0 {
		_, _ = fmt.Fprintln(dockerCli.Err(), "WARNING: no --push, --load or --output: the results stay in the nodes' build cache")
	}
	res, err := service(dockerCli).Build(cmd.Context(), opts, dockerCli.In(), dockerCli.Err())
	if res != nil {
		for _, n := range res.Notes {
			if n != "" {
				_, _ = fmt.Fprintln(dockerCli.Err(), n)
			}
		}
		for _, w := range res.Warnings {
			_, _ = fmt.Fprintln(dockerCli.Err(), "WARNING:", w)
		}
	}
	if err != nil {
		return res, err
	}
	if res.DryRun {
		return res, writeDryRun(dockerCli, res)
	}
	if res.Call != "" {
		return res, writeCallResults(dockerCli, res)
	}
	if opts.Progress == "none" { // as buildx: nothing at all
		return res, nil
	}
	if opts.Progress == "quiet" || opts.Quiet {
		if id := res.ImageID(); id != "" {
			_, _ = fmt.Fprintln(dockerCli.Out(), id)
		}
		return res, nil
	}
	if err := writeSummary(dockerCli, res); err != nil {
		return res, err
	}
	if res.Index.Digest != "" {
		_, _ = fmt.Fprintf(dockerCli.Out(), "\n%s pushed to %v: %d platforms, verified\n", res.Index.Digest, res.Tags, len(res.Steps))
		for _, t := range res.Published {
			_, _ = fmt.Fprintln(dockerCli.Out(), "  "+t.String())
		}
		writeSigned(dockerCli.Out(), res.Signed)
	} else if opts.PushByDigest {
		_, _ = fmt.Fprintln(dockerCli.Out(), "\npushed by digest, no tag moved (merge --from-metadata publishes):")
		for _, img := range res.Pushed {
			_, _ = fmt.Fprintf(dockerCli.Out(), "  %s@%s  %s\n", img.Repositories[0], img.Digest, strings.Join(img.Platforms, ","))
		}
	}
	return res, nil
}

// buildx's meaning, and buildx's hidden legacy ones, and hands them to the driver when it runs.
func addBuildxFlags(cmd *cobra.Command, opts *driver.BuildOptions) {
	legacy := buildxFlags(cmd.Flags(), &opts.BuildxFlags)
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cmd.Flags().Visit(func(fl *pflag.Flag) { // the driver warns of the ones buildx warns of
			if fl.Hidden {
				opts.Deprecated = append(opts.Deprecated, fl.Name)
			}
		})
		opts.Resources = append(append([]string{}, *legacy...), opts.Resources...) // buildx: the legacy ones first
		if debugOn, _ := cmd.Flags().GetBool("debug"); debugOn {
			debug.Enable()
		}
		return run(cmd, args)
	}
}

// buildxFlags defines the flags; it returns where --memory, --cpu-shares, ... collect KEY=VALUE.
func buildxFlags(f *pflag.FlagSet, o *driver.BuildxFlags) *[]string {
	f.StringSliceVar(&o.AddHosts, "add-host", nil, `Add a custom host-to-IP mapping (format: "host:ip"; "host-gateway" on docker-driver nodes)`)
	f.StringArrayVar(&o.Allow, "allow", nil, `Allow extra privileged entitlement (e.g., "network.host", "security.insecure", "device", "buildx.local.delete")`)
	f.StringArrayVar(&o.Annotations, "annotation", nil, `Add annotation to the image ("index:KEY=VALUE" lands on the published index)`)
	f.StringArrayVar(&o.Attests, "attest", nil, `Attestation parameters (format: "type=sbom,generator=image")`)
	f.StringArrayVar(&o.BuildContexts, "build-context", nil, "Additional build contexts (e.g., name=path)")
	f.StringVar(&o.Call, "call", "build", `Set method for evaluating build ("check", "outline", "targets"), run for every platform`)
	f.Var(typedValue{"bool", func(s string) error { // --check sets --call when true, as buildx's callAlias
		v, err := strconv.ParseBool(s)
		if v {
			o.Call = "check"
		}
		return err
	}, func() string { return "" }}, "check", `Shorthand for "--call=check"`)
	f.Lookup("check").NoOptDefVal = "true"
	f.StringVar(&o.CgroupParent, "cgroup-parent", "", `Set the parent cgroup for the "RUN" instructions during build`)
	f.BoolP("debug", "D", debug.IsEnabled(), "Enable debug logging")
	f.StringVar(&o.IIDFile, "iidfile", "", "Write the image ID (the published index's digest) to a file")
	f.StringArrayVar(&o.NoCacheFilter, "no-cache-filter", nil, "Do not cache specified stages")
	f.StringArrayVarP(&o.Outputs, "output", "o", nil, `Output destination (format: "type=local,dest=path": one folder per platform)`)
	f.StringArrayVar(&o.Policy, "policy", nil, `Policy configuration: policy files need buildx's policy engine and are refused ("disabled=true" is accepted)`)
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	f.StringArrayVar(&o.Resources, "resource", nil, `Resource limits for build containers (format: "memory=2g", "cpu-quota=50000")`)
	f.Var(typedValue{"bytes", func(s string) error { o.ShmSize = s; return nil }, func() string { return o.ShmSize }},
		"shm-size", "Shared memory size for build containers")
	f.Var(typedValue{"ulimit", appendTo(&o.Ulimits, ""), func() string { return "[" + strings.Join(o.Ulimits, " ") + "]" }},
		"ulimit", "Ulimit options")
	// Hidden, as in buildx: --print is --call's old name, the resource flags feed --resource, the rest are ignored.
	f.StringVar(&o.Call, "print", "", "Print result of information request (e.g., outline, targets)")
	legacy := &[]string{}
	for _, r := range []struct{ name, short string }{{"memory", "m"}, {"memory-swap", ""}, {"cpu-shares", "c"},
		{"cpu-period", ""}, {"cpu-quota", ""}, {"cpuset-cpus", ""}, {"cpuset-mems", ""}} {
		f.VarP(typedValue{"string", appendTo(legacy, r.name+"="), func() string { return "" }}, r.name, r.short, "--resource "+r.name+"=VALUE")
	}
	for name, def := range map[string]bool{"compress": false, "squash": false, "rm": true, "force-rm": false} {
		f.Bool(name, def, "Ignored with BuildKit")
	}
	f.String("isolation", "", "Container isolation technology")
	f.StringSlice("security-opt", nil, "Security options")
	for _, name := range strings.Fields("print memory memory-swap cpu-shares cpu-period cpu-quota cpuset-cpus cpuset-mems compress isolation security-opt squash rm force-rm") {
		_ = f.MarkHidden(name)
	}
	return legacy
}

// defaultPlatforms is --platform's default, as buildx has it: $DOCKER_DEFAULT_PLATFORM.
func defaultPlatforms() []string {
	if v := os.Getenv("DOCKER_DEFAULT_PLATFORM"); v != "" {
		return []string{v}
	}
	return nil
}

// typedValue is a flag shown with buildx's type name ("bytes", "ulimit", "bool"); the driver parses
// what it collects.
type typedValue struct {
	typ string
	set func(string) error
	str func() string
}

func (v typedValue) Set(s string) error { return v.set(s) }
func (v typedValue) String() string     { return v.str() }
func (v typedValue) Type() string       { return v.typ }
func (v typedValue) IsBoolFlag() bool   { return v.typ == "bool" }

// appendTo is a typedValue's set that appends prefix+value to a list.
func appendTo(list *[]string, prefix string) func(string) error {
	return func(s string) error { *list = append(*list, prefix+s); return nil }
}
