package plugin

import (
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

func newNodeCommand(dockerCli command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Manage builder nodes (Docker contexts whose engines build for their native platforms)",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newNodeAddCommand(dockerCli),
		newNodeLsCommand(dockerCli),
		newNodeInspectCommand(dockerCli),
		newNodeRmCommand(dockerCli),
	)
	return cmd
}

func nodeService(dockerCli command.Cli) *contexts.Nodes {
	return contexts.New(dockerCli.ContextStore(), nil)
}

func addTimeoutFlag(cmd *cobra.Command, dst *time.Duration, what string) {
	cmd.Flags().DurationVar(dst, "timeout", contexts.DefaultTimeout, what)
}

// nodeView is a node as `node ls` and `node inspect` show it; its JSON keys are part of the CLI surface.
type nodeView struct {
	Name           string          `json:"name"`
	Endpoint       string          `json:"endpoint"`
	Description    string          `json:"description,omitempty"`
	Platforms      []string        `json:"platforms"`
	PlatformSource string          `json:"platformSource"`
	Adopted        bool            `json:"adopted"`
	Status         string          `json:"status"` // "ok" or "error"
	Error          string          `json:"error,omitempty"`
	Engine         contexts.Engine `json:"engine"`
}

// viewOf is the view of a probed node; URL credentials (a context adopted with --context may hold
// some) are redacted from its endpoint and error.
func viewOf(st contexts.Status) nodeView {
	v := nodeView{
		Name:           st.Node.Name,
		Endpoint:       redact.URL(st.Node.Endpoint),
		Description:    st.Node.Description,
		Platforms:      st.Node.Platforms,
		PlatformSource: st.Node.PlatformSource,
		Adopted:        st.Node.Adopted,
		Status:         "ok",
		Engine:         st.Engine,
	}
	if st.Err != nil {
		v.Status, v.Error = "error", redact.Text(st.Err.Error())
		v.Engine = st.Node.Engine // what was recorded when the node was added
	}
	return v
}

// statusText is the STATUS column: ok, or the error.
func (v nodeView) statusText() string {
	if v.Error != "" {
		return "error: " + v.Error
	}
	return v.Status
}

func (v nodeView) engineText() string {
	if v.Engine.Version == "" {
		return "-"
	}
	return v.Engine.Version
}

func joinOrDash(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}
