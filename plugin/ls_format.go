package plugin

import (
	"io"
	"slices"
	"strings"

	"github.com/docker/cli/cli/command/formatter"
)

// lsTable is `ls`'s default table: each builder's row, then a row per node under it, as
// `docker buildx ls` prints them. Any other format gets one row per builder.
const lsTable = "table {{.Name}}\t{{.Endpoint}}\t{{.Status}}\t{{.BuildKit}}\t{{.Platforms}}"

const lsIndent = ` \_ `

func lsHeader(tree bool) formatter.SubHeaderContext {
	name := "NAME"
	if tree {
		name = "NAME/NODE"
	}
	return formatter.SubHeaderContext{
		"Name": name, "Current": "CURRENT", "Nodes": "NODES", "Endpoint": "ENDPOINT", "Status": "STATUS",
		"BuildKit": "BUILDKIT", "Platforms": "PLATFORMS", "Error": "ERROR",
		"Buildkit": "BUILDKIT", "DriverEndpoint": "DRIVER/ENDPOINT", // docker buildx ls's names
	}
}

// writeBuilders prints builders in format: the default table as a tree of builders and their
// nodes, every other format one builder per row (JSON: per line).
func writeBuilders(out io.Writer, format formatter.Format, views []builderView) error {
	tree := format == lsTable
	var rows []*lsContext
	for _, b := range views {
		rows = append(rows, &lsContext{b: b, table: format.IsTable(), tree: tree})
		for i := range b.Nodes {
			if tree {
				rows = append(rows, &lsContext{b: b, node: &b.Nodes[i], table: true, tree: true})
			}
		}
	}
	return writeRows(out, format, lsHeader(tree), rows, func(c *lsContext) formatter.SubContext { return c })
}

// lsContext is a row of `ls`: a builder, or (in the default table) one of its nodes.
type lsContext struct {
	formatter.HeaderContext
	b     builderView
	node  *builderNodeView // nil: the builder's own row
	table bool             // a table: the current builder is marked "*"
	tree  bool             // the default table: node rows follow, so the builder row stays short
}

func (c *lsContext) MarshalJSON() ([]byte, error) { return marshalJSON(c.b) }

func (c *lsContext) Name() string {
	switch {
	case c.node != nil:
		return lsIndent + c.node.Name
	case c.b.Current && c.table:
		return c.b.Name + "*"
	}
	return c.b.Name
}

func (c *lsContext) Current() bool { return c.b.Current }

// Nodes are the builder's node names.
func (c *lsContext) Nodes() string {
	if c.node != nil {
		return ""
	}
	var names []string
	for _, n := range c.b.Nodes {
		names = append(names, n.Name)
	}
	return strings.Join(names, ",")
}

func (c *lsContext) Endpoint() string {
	if c.node == nil {
		return ""
	}
	return c.node.Endpoint
}

// Status is a node's state (with its error); a builder's is its nodes' states, each once.
func (c *lsContext) Status() string {
	if c.node != nil {
		if c.node.Error != "" {
			return "error: " + c.node.Error
		}
		return c.node.Status
	}
	if c.tree {
		return ""
	}
	return c.each(func(n builderNodeView) []string { return []string{n.Status} })
}

func (c *lsContext) BuildKit() string {
	if c.node != nil {
		return orDash(c.node.BuildKit)
	}
	if c.tree {
		return ""
	}
	return c.each(func(n builderNodeView) []string { return []string{n.BuildKit} })
}

// Buildkit and DriverEndpoint are the fields of `docker buildx ls --format` templates, so that a
// template written for buildx works here (a builder's row shows its nodes' endpoints).
func (c *lsContext) Buildkit() string { return c.BuildKit() }

func (c *lsContext) DriverEndpoint() string {
	if c.node != nil || c.tree {
		return c.Endpoint()
	}
	return c.each(func(n builderNodeView) []string { return []string{n.Endpoint} })
}

func (c *lsContext) Platforms() string {
	if c.node != nil {
		return joinOrDash(c.node.Platforms)
	}
	if c.tree {
		return ""
	}
	return c.each(func(n builderNodeView) []string { return n.Platforms })
}

func (c *lsContext) Error() string {
	if c.node != nil {
		return c.node.Error
	}
	var errs []string
	for _, n := range c.b.Nodes {
		if n.Error != "" {
			errs = append(errs, n.Name+": "+n.Error)
		}
	}
	return strings.Join(errs, "; ")
}

// each joins the values of the builder's nodes, each once, in node order.
func (c *lsContext) each(values func(builderNodeView) []string) string {
	var out []string
	for _, n := range c.b.Nodes {
		for _, v := range values(n) {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return strings.Join(out, ",")
}
