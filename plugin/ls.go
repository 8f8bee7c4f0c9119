package plugin

import (
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

type lsOptions struct {
	list    listFlags
	timeout time.Duration
}

func newLsCommand(dockerCli command.Cli) *cobra.Command {
	var opts lsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List multiarch builders and the state of their nodes",
		Long: `List the multiarch builders and, under each, its nodes with the state of their BuildKit
(every node probed in parallel, each within --timeout). The current builder is marked "*".
-q prints the names only, without probing.

--format json prints one JSON object per builder and line, its nodes inside, as
"docker buildx ls --format json" does. A Go template gets one builder per row: .Name, .Current,
.Nodes, .Platforms, .Status, .BuildKit and .Error; "table TEMPLATE" adds a header row.`,
		Example: `  docker multiarch ls
  docker multiarch ls -q
  docker multiarch ls --format json
  docker multiarch ls --format 'table {{.Name}}\t{{.Nodes}}\t{{.Platforms}}'`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLs(cmd, dockerCli, opts)
		},
	}
	addListFlags(cmd, &opts.list, "Only print the names of the builders")
	addTimeoutFlag(cmd, &opts.timeout, "How long to wait for each node")
	return cmd
}

// builderView is one builder in `ls --format json`.
type builderView struct {
	Name    string            `json:"name"`
	Current bool              `json:"current"`
	Nodes   []builderNodeView `json:"nodes"`
}

type builderNodeView struct {
	Name       string   `json:"name"`
	BuildxNode string   `json:"buildxNode"`
	Endpoint   string   `json:"endpoint"`
	Platforms  []string `json:"platforms"`
	Status     string   `json:"status"`
	Error      string   `json:"error,omitempty"`
	BuildKit   string   `json:"buildkit,omitempty"`
}

func runLs(cmd *cobra.Command, dockerCli command.Cli, opts lsOptions) error {
	format, err := listFormat(opts.list, lsTable, dockerCli.Err())
	if err != nil {
		return err
	}
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	m := service(dockerCli)
	var views []builderView
	if opts.list.quiet { // names only: no node is asked
		stored, err := m.StoredBuilders()
		if err != nil {
			return err
		}
		for _, b := range stored {
			views = append(views, builderView{Name: b.Name})
		}
		return writeBuilders(dockerCli.Out(), format, views)
	}
	builders, err := m.List(cmd.Context(), opts.timeout)
	if err != nil {
		return err
	}
	for _, b := range builders {
		views = append(views, viewOfBuilder(b))
	}
	return writeBuilders(dockerCli.Out(), format, views)
}

func viewOfBuilder(b driver.BuilderInfo) builderView {
	v := builderView{Name: b.Name, Current: b.Current, Nodes: []builderNodeView{}}
	for _, n := range b.Nodes {
		nv := builderNodeView{Name: n.Node, BuildxNode: n.BuildxNode, Endpoint: redact.URL(n.Endpoint),
			Platforms: n.Platforms, Status: n.Status, BuildKit: n.BuildKit}
		if n.Err != nil {
			nv.Error = redact.Error(n.Err).Error()
		}
		v.Nodes = append(v.Nodes, nv)
	}
	return v
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
