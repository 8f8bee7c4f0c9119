package contexts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// unknownKind is a node stored with a kind this version does not know (written by a later
// version, or edited): listed and removable as any node, never probed, built on or taken for an
// engine.
type unknownKind struct{ name string }

func (k unknownKind) Name() string       { return k.name }
func (k unknownKind) Title() string      { return fmt.Sprintf("a node of kind %q", k.name) }
func (unknownKind) Describe() string     { return "a kind this version of docker multiarch does not know" }
func (unknownKind) Engine() bool         { return false }
func (unknownKind) BuildxDriver() string { return "" }
func (unknownKind) ownsContext() bool    { return false }

// host is its Docker endpoint's, else its BuildKit endpoint's.
func (unknownKind) host(meta store.Metadata) string {
	if ep, err := docker.EndpointFromContext(meta); err == nil {
		return ep.Host
	}
	ep, _ := buildKitEndpointOf(meta)
	return ep.Host
}

func (k unknownKind) err() error {
	return fmt.Errorf("node kind %q is unknown to this version of docker multiarch (update it, or remove the node: docker multiarch node rm)", k.name)
}

func (k unknownKind) probe(_ context.Context, _ *Nodes, node Node, _ time.Duration) Status {
	return Status{Node: node, Err: k.err()}
}

func (k unknownKind) answers(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status {
	return k.probe(ctx, n, node, timeout)
}

func (unknownKind) plan(*Nodes, AddOptions, []string) (addition, error) {
	return nil, errors.New("no node of an unknown kind can be added")
}
