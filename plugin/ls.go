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
	format  string
	timeout time.Duration
}

func newLsCommand(dockerCli command.Cli) *cobra.Command {
	var opts lsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List multiarch builders and the state of their nodes",
		Example: `  docker multiarch ls
  docker multiarch ls --format json`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLs(cmd, dockerCli, opts)
		},
	}
	addFormatFlag(cmd, &opts.format)
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

// lsRow is one table row: a builder's node.
type lsRow struct {
	builder string
	node    builderNodeView
}

func runLs(cmd *cobra.Command, dockerCli command.Cli, opts lsOptions) error {
	tf, err := checkFormat(opts.format)
	if err != nil {
		return err
	}
	if err := checkTimeout(opts.timeout); err != nil {
		return err
	}
	builders, err := driver.NewManager(dockerCli).List(cmd.Context(), opts.timeout)
	if err != nil {
		return err
	}
	views := make([]builderView, 0, len(builders))
	for _, b := range builders {
		views = append(views, viewOfBuilder(b))
	}
	if tf != nil || opts.format == formatJSON {
		return writeList(dockerCli.Out(), opts.format, views, nil, nil)
	}
	var rows []lsRow
	for _, b := range views {
		name := b.Name
		if b.Current {
			name += " *"
		}
		for _, n := range b.Nodes {
			rows = append(rows, lsRow{builder: name, node: n})
		}
	}
	return writeList(dockerCli.Out(), opts.format, rows,
		[]string{"BUILDER", "NODE", "ENDPOINT", "PLATFORMS", "STATUS", "BUILDKIT"},
		func(r lsRow) []string {
			status := r.node.Status
			if r.node.Error != "" {
				status = "error: " + r.node.Error
			}
			return []string{r.builder, r.node.Name, r.node.Endpoint, joinOrDash(r.node.Platforms), status, orDash(r.node.BuildKit)}
		})
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
