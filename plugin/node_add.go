package plugin

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

type nodeAddOptions struct {
	host, context, buildkit string
	serverName, description string
	platforms               []string
	tls                     contexts.TLSFiles
	timeout                 time.Duration
	force                   bool
}

func newNodeAddCommand(dockerCli command.Cli) *cobra.Command {
	var opts nodeAddOptions
	cmd := &cobra.Command{
		Use:   "add [OPTIONS] NAME (--host URL | --context CONTEXT | --buildkit URL)",
		Short: "Add a Docker engine or a BuildKit daemon as a builder node",
		Long: `Add a Docker engine or a standalone BuildKit daemon as a builder node.

The node is a Docker context named NAME: --host creates it, --context adopts an existing one
(or copies it when NAME differs). The engine is probed within --timeout and its native platform
recorded; --platform overrides that, and lets an engine that cannot be reached be added offline.

--buildkit adds a BuildKit daemon (buildkitd, or a BuildKit Service in Kubernetes) at
tcp://HOST:PORT or unix:///PATH. It is asked through BuildKit's own API for its workers: the
first platform they list is its native one (the others, emulated, are shown by node inspect).
Its context has a "buildkit" endpoint and no Docker endpoint; its TLS files are kept in the
context store as Docker contexts keep theirs. Builders reach it with buildx's remote driver.`,
		Example: `  docker multiarch node add arm-box --host ssh://builder@arm-box
  docker multiarch node add x86 --host tcp://10.0.0.5:2376 --tlscacert ca.pem --tlscert cert.pem --tlskey key.pem
  docker multiarch node add desktop --context desktop-linux
  docker multiarch node add pi --host ssh://pi@pi.local --platform linux/arm/v7
  docker multiarch node add arm-pool --buildkit tcp://buildkit-arm64.example.com:1234 \
      --tls-cacert ca.pem --tls-cert cert.pem --tls-key key.pem`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNodeAdd(cmd, dockerCli, args[0], opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.host, "host", "", "Docker endpoint of the engine: unix://, tcp://HOST:PORT, ssh://[USER@]HOST, npipe://")
	flags.StringVar(&opts.context, "context", "", "Existing Docker context to use as the node")
	flags.StringVar(&opts.buildkit, "buildkit", "", "Address of a BuildKit daemon: tcp://HOST:PORT, unix:///PATH")
	flags.StringSliceVar(&opts.platforms, "platform", nil, "Platforms the node builds natively (default: detected from the engine, or from BuildKit's workers)")
	flags.StringVar(&opts.description, "description", "", "Description of the node's context")
	flags.StringVar(&opts.tls.CA, "tlscacert", "", "Trust certificates signed only by this CA (tcp:// hosts)")
	flags.StringVar(&opts.tls.Cert, "tlscert", "", "Path to the TLS client certificate (tcp:// hosts)")
	flags.StringVar(&opts.tls.Key, "tlskey", "", "Path to the TLS client key (tcp:// hosts)")
	// The names buildx's remote driver and buildctl use, for BuildKit daemons (either name works for both).
	flags.StringVar(&opts.tls.CA, "tls-cacert", "", "Same as --tlscacert (for --buildkit: the daemon's CA; needed for TLS)")
	flags.StringVar(&opts.tls.Cert, "tls-cert", "", "Same as --tlscert")
	flags.StringVar(&opts.tls.Key, "tls-key", "", "Same as --tlskey")
	flags.StringVar(&opts.serverName, "tls-servername", "", "TLS server name of the BuildKit daemon (default: the address's host)")
	flags.BoolVar(&opts.tls.SkipVerify, "tls-skip-verify", false, "Do not verify the engine's TLS certificate")
	flags.BoolVar(&opts.force, "force", false, "Point an existing context with another endpoint at this one")
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for the engine (or BuildKit daemon) to answer")
	return cmd
}

func runNodeAdd(cmd *cobra.Command, dockerCli command.Cli, name string, opts nodeAddOptions) error {
	res, err := service(dockerCli).AddNode(cmd.Context(), contexts.AddOptions{
		Name:        name,
		Host:        opts.host,
		Context:     opts.context,
		BuildKit:    opts.buildkit,
		ServerName:  opts.serverName,
		TLS:         opts.tls,
		Platforms:   opts.platforms,
		Description: opts.description,
		Timeout:     opts.timeout,
		Force:       opts.force,
	})
	if err != nil {
		return err
	}
	n := res.Node
	n.Endpoint = redact.URL(n.Endpoint) // a context adopted with --context may hold credentials
	platforms := strings.Join(n.Platforms, ",")
	if !n.Kind().Engine() {
		printBuildKitAdded(dockerCli, n, res.ProbeErr)
		_, _ = fmt.Fprintln(dockerCli.Out(), n.Name)
		return nil
	}
	switch {
	case res.ProbeErr != nil:
		_, _ = fmt.Fprintf(dockerCli.Err(), "WARNING: engine at %s did not answer (%v); node %q added offline with --platform %s\n",
			n.Endpoint, redact.Error(res.ProbeErr), n.Name, platforms)
	case n.PlatformSource == contexts.SourceEngine:
		_, _ = fmt.Fprintf(dockerCli.Err(), "node %q: %s, detected from engine %s at %s\n", n.Name, platforms, n.Engine.Version, n.Endpoint)
	default:
		_, _ = fmt.Fprintf(dockerCli.Err(), "node %q: %s as given (engine %s at %s is %s)\n",
			n.Name, platforms, n.Engine.Version, n.Endpoint, n.Engine.Platform)
	}
	_, _ = fmt.Fprintln(dockerCli.Out(), n.Name)
	return nil
}

// printBuildKitAdded says what a BuildKit daemon reported when it was added as a node.
func printBuildKitAdded(dockerCli command.Cli, n contexts.Node, probeErr error) {
	platforms := strings.Join(n.Platforms, ",")
	switch {
	case probeErr != nil:
		_, _ = fmt.Fprintf(dockerCli.Err(), "WARNING: BuildKit at %s did not answer (%v); node %q added offline with --platform %s\n",
			n.Endpoint, redact.Error(probeErr), n.Name, platforms)
		return
	case n.PlatformSource == contexts.SourceBuildKit:
		_, _ = fmt.Fprintf(dockerCli.Err(), "node %q: %s, detected from BuildKit %s at %s\n", n.Name, platforms, n.BuildKit.Version, n.Endpoint)
	default:
		_, _ = fmt.Fprintf(dockerCli.Err(), "node %q: %s as given (BuildKit %s at %s is %s)\n",
			n.Name, platforms, n.BuildKit.Version, n.Endpoint, n.BuildKit.Native())
	}
	if len(n.BuildKit.Emulated) > 0 {
		_, _ = fmt.Fprintf(dockerCli.Err(), "  its workers also build %s (emulated: build them there with docker multiarch create --emulate PLATFORM=%s)\n",
			strings.Join(n.BuildKit.Emulated, ","), n.Name)
	}
}
