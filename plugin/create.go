package plugin

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

type createOptions struct {
	nodes, emulate, driverOpts                []string
	buildkitdFlags, buildkitdConfig, cacheRef string
	use, bootstrap                            bool
	timeout                                   time.Duration
}

func newCreateCommand(dockerCli command.Cli) *cobra.Command {
	var opts createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [NAME]",
		Short: "Create or update a builder across the nodes",
		Long: `Create or update a Buildx builder with one BuildKit node per builder node, each pinned to
its native platforms, so nothing is emulated unless --emulate asks for it.

The builder (default name "multiarch") is a normal buildx builder: "docker buildx ls" lists it.
Engine nodes get a BuildKit container (buildx's docker-container driver); BuildKit daemons
(node add --buildkit) join through buildx's remote driver. buildx takes one driver per builder,
so a builder with both is stored as two buildx builders: NAME (the engines) and NAME-buildkit
(the daemons); docker multiarch uses them as one. --driver-opt, --buildkitd-flags and
--buildkitd-config apply to the engine nodes' containers.
Running create again changes nothing when the nodes are the same; new nodes are appended and
nodes no longer selected leave. Every node must answer within --timeout, or nothing changes.
docker multiarch build finds the builder by name; only --use makes it the current builder of the
context, which plain "docker build" then uses too.`,
		Example: `  docker multiarch create
  docker multiarch create --node amd64-box --node arm64-box --bootstrap
  docker multiarch create --use            # also the default builder of plain docker build
  docker multiarch create --emulate linux/arm/v7=arm64-box
  docker multiarch create ci --driver-opt image=moby/buildkit:v0.34.2,network=host`,
		Args: cli.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := driver.DefaultBuilder
			if len(args) == 1 {
				name = args[0]
			}
			return runCreate(cmd, dockerCli, name, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringArrayVar(&opts.nodes, "node", nil, "Node to include (repeatable; default: every node)")
	flags.StringArrayVar(&opts.emulate, "emulate", nil, "Also build PLATFORM under QEMU on NODE, as PLATFORM=NODE (repeatable)")
	flags.StringArrayVar(&opts.driverOpts, "driver-opt", nil, "Options for the docker-container driver, as KEY=VALUE (image, network, ...)")
	flags.StringVar(&opts.buildkitdFlags, "buildkitd-flags", "", "Flags for the BuildKit daemons")
	flags.StringVar(&opts.buildkitdConfig, "buildkitd-config", "", "BuildKit daemon config file")
	flags.BoolVar(&opts.use, "use", false, "Make it the current builder")
	flags.BoolVar(&opts.bootstrap, "bootstrap", false, "Start every node's BuildKit now")
	flags.StringVar(&opts.cacheRef, "cache-ref", "", "Registry cache of every build on the builder, one per platform (REF:cache-<os>-<arch>): imported, and exported after a build, so a build moved to another node starts warm")
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each node")
	return cmd
}

func runCreate(cmd *cobra.Command, dockerCli command.Cli, name string, opts createOptions) error {
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	if _, err := driver.ValidateBuilderName(name); err != nil {
		return err
	}
	if err := driver.CheckCacheRef(opts.cacheRef); err != nil {
		return err
	}
	all, err := service(dockerCli).Nodes()
	if err != nil {
		return err
	}
	specs, err := driver.SelectNodes(all, opts.nodes, opts.emulate)
	if err != nil {
		return err
	}
	res, err := service(dockerCli).Create(cmd.Context(), driver.BuilderSpec{
		Name:            name,
		Nodes:           specs,
		DriverOpts:      opts.driverOpts,
		BuildkitdFlags:  opts.buildkitdFlags,
		BuildkitdConfig: opts.buildkitdConfig,
	}, driver.CreateOptions{
		Use: opts.use, Bootstrap: opts.bootstrap, Settings: settingsOf(cmd, opts),
		Progress: dockerCli.Err(), ProgressMode: "auto", // as buildx create --bootstrap (BUILDKIT_PROGRESS applies)
	}, opts.timeout)
	if err == nil {
		printApply(dockerCli, name, specs, res.Apply)
	}
	printBoot(dockerCli, res.Boot)
	if err != nil {
		return err // a failed --use or --bootstrap has put the builder back as it was
	}
	if !opts.use && res.Apply.Created {
		_, _ = fmt.Fprintf(dockerCli.Err(), "plain `docker build` keeps its own builder; `docker multiarch build` uses %q (--use makes it the default for docker build too)\n", name)
	}
	_, _ = fmt.Fprintln(dockerCli.Out(), name)
	return nil
}

func printApply(dockerCli command.Cli, name string, specs []driver.NodeSpec, res driver.ApplyResult) {
	w := dockerCli.Err()
	switch {
	case res.Created:
		_, _ = fmt.Fprintf(w, "builder %q created\n", name)
	case !res.Changed:
		_, _ = fmt.Fprintf(w, "builder %q is up to date\n", name)
	default:
		_, _ = fmt.Fprintf(w, "builder %q updated\n", name)
	}
	for _, s := range specs {
		line := "  " + s.Node.Name + ": " + strings.Join(s.Node.Platforms, ",")
		if len(s.Emulate) > 0 {
			line += " + emulated " + strings.Join(s.Emulate, ",")
		}
		if k := s.Node.Kind(); !k.Engine() {
			line += " (" + k.Title() + " daemon at " + redact.URL(s.Node.Endpoint) + ")"
		}
		_, _ = fmt.Fprintln(w, line)
	}
	if len(res.Buildx) > 1 {
		_, _ = fmt.Fprintf(w, "  in buildx: %s (buildx takes one driver per builder)\n", strings.Join(res.Buildx, " and "))
	}
	if !res.Created && len(res.Added) > 0 {
		_, _ = fmt.Fprintf(w, "  joined: %s\n", strings.Join(res.Added, ", "))
	}
	for _, n := range res.Removed {
		if err := res.Unreachable[n]; err != nil {
			_, _ = fmt.Fprintf(w, "  left: %s (WARNING: its BuildKit container could not be removed: %v)\n", n, redact.Error(err))
			continue
		}
		_, _ = fmt.Fprintf(w, "  left: %s\n", n)
	}
}

// printBoot prints how each node's BuildKit came up.
func printBoot(dockerCli command.Cli, results []driver.BootResult) {
	for _, r := range results {
		if r.Err != nil {
			_, _ = fmt.Fprintf(dockerCli.Err(), "  %s: failed to boot: %v\n", r.Node, redact.Error(r.Err))
			continue
		}
		_, _ = fmt.Fprintf(dockerCli.Err(), "  %s: running (%s)\n", r.Node, r.Duration.Round(100*time.Millisecond))
	}
}

// settingsOf are the builder's settings create changes: only those given (--cache-ref "" removes
// the cache); without --cache-ref the builder keeps what it had.
func settingsOf(cmd *cobra.Command, opts createOptions) *driver.BuilderSettings {
	if !cmd.Flags().Changed("cache-ref") {
		return nil
	}
	return &driver.BuilderSettings{CacheRef: opts.cacheRef}
}
