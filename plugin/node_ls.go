package plugin

import (
	"io"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/formatter"
	"github.com/spf13/cobra"
)

type nodeLsOptions struct {
	list    listFlags
	timeout time.Duration
}

func newNodeLsCommand(dockerCli command.Cli) *cobra.Command {
	var opts nodeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List builder nodes and probe them",
		Long: `List builder nodes: Docker engines and BuildKit daemons (KIND engine or buildkit). Every
node is probed in parallel, each within --timeout (an engine through the Docker API, a BuildKit
daemon through BuildKit's); a node that does not answer is listed with its error. RUNNING is how
many builds the node runs now: a BuildKit daemon's own, or those of the multiarch builders'
BuildKit containers on an engine ("-" when not known). -q prints the names only, without probing.

--format json prints one JSON object per node and line; a Go template sees .Name, .Kind,
.Endpoint, .Description, .Platforms, .PlatformSource, .Adopted, .Status, .Error, .Engine (the
engine's version), .Version (the engine's or the BuildKit daemon's) and .Running, and
"table TEMPLATE" adds a header row.`,
		Example: `  docker multiarch node ls
  docker multiarch node ls -q
  docker multiarch node ls --format json
  docker multiarch node ls --format 'table {{.Name}}\t{{.Platforms}}'
  docker multiarch node ls --format '{{.Name}} {{.Status}}'`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNodeLs(cmd, dockerCli, opts)
		},
	}
	addListFlags(cmd, &opts.list, "Only print the names of the nodes")
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each node to answer")
	return cmd
}

func runNodeLs(cmd *cobra.Command, dockerCli command.Cli, opts nodeLsOptions) error {
	format, err := listFormat(opts.list, nodeTable, dockerCli.Err())
	if err != nil {
		return err
	}
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	svc := service(dockerCli)
	nodes, err := svc.Nodes()
	if err != nil {
		return err
	}
	var views []nodeView
	if opts.list.quiet { // names only: no engine is asked
		for _, n := range nodes {
			views = append(views, nodeView{Name: n.Name})
		}
		return writeNodes(dockerCli.Out(), format, views)
	}
	for _, st := range svc.NodeStatus(cmd.Context(), nodes, opts.timeout) {
		views = append(views, viewOf(st))
	}
	return writeNodes(dockerCli.Out(), format, views)
}

// nodeTable is `node ls`'s default table.
const nodeTable = "table {{.Name}}\t{{.Kind}}\t{{.Endpoint}}\t{{.Platforms}}\t{{.Status}}\t{{.Version}}\t{{.Running}}"

var nodeHeader = formatter.SubHeaderContext{
	"Name": "NAME", "Kind": "KIND", "Endpoint": "ENDPOINT", "Description": "DESCRIPTION", "Platforms": "PLATFORMS",
	"PlatformSource": "PLATFORM SOURCE", "Adopted": "ADOPTED", "Status": "STATUS", "Error": "ERROR", "Engine": "ENGINE",
	"Version": "VERSION", "Running": "RUNNING",
}

// writeNodeList prints node views as `node ls --format format` does.
func writeNodeList(out io.Writer, format string, views []nodeView) error {
	f, err := listFormat(listFlags{format: format}, nodeTable, io.Discard)
	if err != nil {
		return err
	}
	return writeNodes(out, f, views)
}

func writeNodes(out io.Writer, format formatter.Format, views []nodeView) error {
	return writeRows(out, format, nodeHeader, views, func(v nodeView) formatter.SubContext { return &nodeContext{v: v} })
}

// nodeContext is a node as `node ls --format` templates see it: the table's columns as text;
// its JSON is the node view's (keys part of the CLI surface).
type nodeContext struct {
	formatter.HeaderContext
	v nodeView
}

func (c *nodeContext) MarshalJSON() ([]byte, error) { return marshalJSON(c.v) }
func (c *nodeContext) Name() string                 { return c.v.Name }
func (c *nodeContext) Endpoint() string             { return c.v.Endpoint }
func (c *nodeContext) Description() string          { return c.v.Description }
func (c *nodeContext) Platforms() string            { return joinOrDash(c.v.Platforms) }
func (c *nodeContext) PlatformSource() string       { return c.v.PlatformSource }
func (c *nodeContext) Adopted() bool                { return c.v.Adopted }
func (c *nodeContext) Status() string               { return c.v.statusText() }
func (c *nodeContext) Error() string                { return c.v.Error }
func (c *nodeContext) Engine() string               { return c.v.engineText() }
func (c *nodeContext) Kind() string                 { return c.v.Kind }
func (c *nodeContext) Version() string              { return c.v.versionText() }
func (c *nodeContext) Running() string              { return c.v.runningText() }
