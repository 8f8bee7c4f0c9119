package driver

import (
	"context"
	"io"
	"time"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// Service is docker multiarch's typed API: everything the commands of plugin/ ask of it, as
// compose's CLI drives its api.Service. Manager implements it; plugin's unit tests drive the
// commands (flags, output, exit codes) against a fake.
type Service interface {
	Build(ctx context.Context, o BuildOptions, in io.Reader, out io.Writer) (*BuildResult, error)
	Bake(ctx context.Context, o BakeOptions, in io.Reader, out io.Writer) (*BakeResult, error)
	Merge(ctx context.Context, o MergeOptions, fromMetadata []string) (MergeResult, error)
	Inspect(ctx context.Context, ref string, timeout time.Duration) (ImageInfo, error)
	Test(ctx context.Context, o TestOptions) ([]TestResult, error)
	Verify(ctx context.Context, o VerifyOptions) ([]Verdict, error)
	Rebuild(ctx context.Context, o RebuildOptions, out io.Writer) (*RebuildResult, error)
	DiskUsage(ctx context.Context, builder string, verbose bool, timeout time.Duration) ([]CacheUsage, error)
	Prune(ctx context.Context, builder string, o PruneOptions, timeout time.Duration) ([]PruneResult, error)
	History() ([]HistoryRecord, error)
	HistoryRecord(id string) (HistoryRecord, error)
	RemoveHistory(ids []string) error
	Report(id, path string) error

	Create(ctx context.Context, spec BuilderSpec, opts CreateOptions, timeout time.Duration) (CreateResult, error)
	Remove(ctx context.Context, name string, timeout time.Duration) (RemoveResult, error)
	List(ctx context.Context, timeout time.Duration) ([]BuilderInfo, error)
	StoredBuilders() ([]StoredBuilder, error)
	PlanFarm(ctx context.Context, path string, stdin io.Reader, allow []string, timeout time.Duration) (*FarmPlan, error)
	ApplyFarm(ctx context.Context, plan *FarmPlan) (FarmResult, error)

	AddNode(ctx context.Context, o contexts.AddOptions) (contexts.AddResult, error)
	Node(name string) (contexts.Node, error)
	Nodes() ([]contexts.Node, error)
	RemoveNodes(ctx context.Context, names []string, o contexts.RemoveOptions) ([]contexts.RemoveResult, error)
	CheckNodesUnused(names []string) error
	NodeStatus(ctx context.Context, list []contexts.Node, timeout time.Duration) []NodeStatus
}

var _ Service = (*Manager)(nil)

// AddNode adds an engine or a BuildKit daemon as a node (see contexts.Nodes.Add).
func (m *Manager) AddNode(ctx context.Context, o contexts.AddOptions) (contexts.AddResult, error) {
	return m.nodes.Add(ctx, o)
}

// Node is one node by name.
func (m *Manager) Node(name string) (contexts.Node, error) { return m.nodes.Get(name) }

// Nodes are every node, engines and BuildKit daemons.
func (m *Manager) Nodes() ([]contexts.Node, error) { return m.nodes.List() }

// RemoveNodes removes nodes, all or none (see contexts.Nodes.Remove).
func (m *Manager) RemoveNodes(ctx context.Context, names []string, o contexts.RemoveOptions) ([]contexts.RemoveResult, error) {
	return m.nodes.Remove(ctx, names, o)
}
