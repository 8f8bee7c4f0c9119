package plugin

import (
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

func newNodeCommand(dockerCli command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Manage builder nodes (Docker engines and BuildKit daemons that build for their native platforms)",
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

// service is the API the commands drive: docker multiarch's driver.Manager. Tests replace it with
// a fake, to check each command's flags, output and exit codes.
var service = func(dockerCli command.Cli) driver.Service { return driver.NewManager(dockerCli) }

func addTimeoutFlag(cmd *cobra.Command, dst *time.Duration, what string) {
	cmd.Flags().DurationVar(dst, "timeout", contexts.DefaultTimeout, what)
}

// nodeView is a node as `node ls` and `node inspect` show it; its JSON keys are part of the CLI surface.
type nodeView struct {
	Name           string          `json:"name"`
	Kind           string          `json:"kind"` // "engine" or "buildkit"
	Endpoint       string          `json:"endpoint"`
	Description    string          `json:"description,omitempty"`
	Platforms      []string        `json:"platforms"`
	PlatformSource string          `json:"platformSource"`
	Adopted        bool            `json:"adopted"`
	Status         string          `json:"status"` // "ok" or "error"
	Error          string          `json:"error,omitempty"`
	Engine         contexts.Engine `json:"engine"`
	// BuildKit is what a BuildKit daemon reports: its version, and its workers' platforms.
	BuildKit *contexts.BuildKitInfo `json:"buildkit,omitempty"`
	// Running is how many builds the node runs now; null when it is not known.
	Running *int `json:"running"`
}

// viewOf is the view of a probed node; URL credentials (a context adopted with --context may hold
// some) are redacted from its endpoint and error.
func viewOf(st driver.NodeStatus) nodeView {
	v := nodeView{
		Name:           st.Node.Name,
		Kind:           st.Node.Kind().Name(),
		Endpoint:       redact.URL(st.Node.Endpoint),
		Description:    st.Node.Description,
		Platforms:      st.Node.Platforms,
		PlatformSource: st.Node.PlatformSource,
		Adopted:        st.Node.Adopted,
		Status:         "ok",
		Engine:         st.Engine,
		BuildKit:       st.Node.BuildKit, // what was recorded when the node was added
	}
	if st.Status.BuildKit != nil {
		v.BuildKit = &st.Status.BuildKit.Info
	}
	if st.RunningKnown {
		v.Running = &st.Running
	}
	if st.Err != nil {
		v.Status, v.Error = "error", redact.Text(st.Err.Error())
		v.Engine = st.Node.Engine // what was recorded when the node was added
	}
	return v
}

// kind is the node's kind (an engine for a kind this version does not know).
func (v nodeView) kind() contexts.Kind {
	return contexts.Data{KindName: v.Kind}.Kind()
}

// versionText is the VERSION column: the engine's version, or the BuildKit daemon's.
func (v nodeView) versionText() string {
	if !v.kind().Engine() {
		if v.BuildKit == nil || v.BuildKit.Version == "" {
			return "-"
		}
		return v.BuildKit.Version
	}
	return v.engineText()
}

func (v nodeView) runningText() string {
	if v.Running == nil {
		return "-"
	}
	return strconv.Itoa(*v.Running)
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
