package contexts

import (
	"context"
	"time"

	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// engineKind is a Docker engine: the context's Docker endpoint; BuildKit runs in a container on it
// (buildx's docker-container driver). Adding one: add_engine.go; comparing: diff_engine.go.
type engineKind struct{}

func (engineKind) Name() string         { return KindEngine }
func (engineKind) Title() string        { return "engine" }
func (engineKind) Describe() string     { return "a Docker engine" }
func (engineKind) Engine() bool         { return true }
func (engineKind) BuildxDriver() string { return DriverDockerContainer }
func (engineKind) ownsContext() bool    { return false }

func (engineKind) host(meta store.Metadata) string {
	ep, _ := docker.EndpointFromContext(meta)
	return ep.Host
}

func (engineKind) probe(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status {
	st := Status{Node: node}
	ep, err := n.endpoint(node.Name)
	if err != nil {
		st.Err = err
		return st
	}
	st.Engine, st.Err = probe(ctx, n.prober, ep, timeout)
	return st
}

// answers pings the Docker API (the whole probe when the prober cannot ping); Status.Engine is
// not filled for an engine that was pinged.
func (k engineKind) answers(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status {
	p, ok := n.prober.(Pinger)
	if !ok {
		return k.probe(ctx, n, node, timeout)
	}
	st := Status{Node: node}
	ep, err := n.endpoint(node.Name)
	if err != nil {
		st.Err = err
		return st
	}
	_, err = deadline.Value(ctx, timeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, cleanError(p.Ping(ctx, ep))
	})
	st.Err = redact.Error(err)
	return st
}
