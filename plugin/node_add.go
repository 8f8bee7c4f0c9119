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
	host, context, description string
	platforms                  []string
	tls                        contexts.TLSFiles
	timeout                    time.Duration
	force                      bool
}

func newNodeAddCommand(dockerCli command.Cli) *cobra.Command {
	var opts nodeAddOptions
	cmd := &cobra.Command{
		Use:   "add [OPTIONS] NAME (--host URL | --context CONTEXT)",
		Short: "Add a Docker engine as a builder node",
		Long: `Add a Docker engine as a builder node.

The node is a Docker context named NAME: --host creates it, --context adopts an existing one
(or copies it when NAME differs). The engine is probed within --timeout and its native platform
recorded; --platform overrides that, and lets an engine that cannot be reached be added offline.`,
		Example: `  docker multiarch node add arm-box --host ssh://builder@arm-box
  docker multiarch node add x86 --host tcp://10.0.0.5:2376 --tlscacert ca.pem --tlscert cert.pem --tlskey key.pem
  docker multiarch node add desktop --context desktop-linux
  docker multiarch node add pi --host ssh://pi@pi.local --platform linux/arm/v7`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNodeAdd(cmd, dockerCli, args[0], opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.host, "host", "", "Docker endpoint of the engine: unix://, tcp://HOST:PORT, ssh://[USER@]HOST, npipe://")
	flags.StringVar(&opts.context, "context", "", "Existing Docker context to use as the node")
	flags.StringSliceVar(&opts.platforms, "platform", nil, "Platforms the node builds natively (default: detected from the engine)")
	flags.StringVar(&opts.description, "description", "", "Description of the node's context")
	flags.StringVar(&opts.tls.CA, "tlscacert", "", "Trust certificates signed only by this CA (tcp:// hosts)")
	flags.StringVar(&opts.tls.Cert, "tlscert", "", "Path to the TLS client certificate (tcp:// hosts)")
	flags.StringVar(&opts.tls.Key, "tlskey", "", "Path to the TLS client key (tcp:// hosts)")
	flags.BoolVar(&opts.tls.SkipVerify, "tls-skip-verify", false, "Do not verify the engine's TLS certificate")
	flags.BoolVar(&opts.force, "force", false, "Point an existing context with another endpoint at this one")
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for the engine to answer")
	return cmd
}

func runNodeAdd(cmd *cobra.Command, dockerCli command.Cli, name string, opts nodeAddOptions) error {
	res, err := nodeService(dockerCli).Add(cmd.Context(), contexts.AddOptions{
		Name:        name,
		Host:        opts.host,
		Context:     opts.context,
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
