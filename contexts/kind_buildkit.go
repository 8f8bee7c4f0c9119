package contexts

import (
	"context"
	"time"

	"github.com/docker/cli/cli/context/store"
)

// buildKitKind is a standalone BuildKit daemon: a context of its own with a "buildkit" endpoint and
// no Docker endpoint (buildkit.go, nodestore.go), reached with buildx's remote driver. Adding one:
// add_buildkit.go; comparing: diff_buildkit.go.
type buildKitKind struct{}

func (buildKitKind) Name() string         { return KindBuildKit }
func (buildKitKind) Title() string        { return "BuildKit" }
func (buildKitKind) Describe() string     { return "a standalone BuildKit daemon" }
func (buildKitKind) Engine() bool         { return false }
func (buildKitKind) BuildxDriver() string { return DriverRemote }
func (buildKitKind) ownsContext() bool    { return true } // no Docker context to keep

func (buildKitKind) host(meta store.Metadata) string {
	ep, _ := buildKitEndpointOf(meta)
	return ep.Host
}

func (buildKitKind) probe(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status {
	st := Status{Node: node}
	t, err := n.BuildKitTarget(node.Name)
	if err != nil {
		st.Err = err
		return st
	}
	bk, err := probeBuildKit(ctx, n.bkProber, t, timeout)
	if err == nil {
		st.BuildKit = &bk
	}
	st.Err = err
	return st
}

// answers is the whole probe: it also counts the builds the daemon runs.
func (k buildKitKind) answers(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status {
	return k.probe(ctx, n, node, timeout)
}
