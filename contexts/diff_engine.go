package contexts

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/docker/cli/cli/context/docker"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// diff compares an engine add with the store: a new node (its platform detected when none is
// given), a context to adopt, or a stored node to compare.
func (plan *addPlan) diff(ctx context.Context, n *Nodes, opts AddOptions) (AddDiff, error) {
	if plan.current == nil {
		d := AddDiff{Action: DiffCreate, Platforms: plan.platforms}
		var err error
		if len(d.Platforms) == 0 {
			d.Platforms, err = n.detect(ctx, opts, plan.endpoint)
		}
		return d, err
	}
	return n.diffExisting(ctx, opts, plan)
}

func (n *Nodes) diffExisting(ctx context.Context, opts AddOptions, plan *addPlan) (AddDiff, error) {
	meta := *plan.current
	node, isNode, err := nodeFromMetadata(meta)
	if err != nil {
		return AddDiff{}, err
	}
	if isNode && node.Kind().Name() != KindEngine {
		return AddDiff{}, errOtherKind(node)
	}
	current, err := docker.EndpointFromContext(meta)
	if err != nil {
		return AddDiff{}, fmt.Errorf("context %q: %w", opts.Name, err)
	}
	var d AddDiff
	switch {
	case !sameHost(current.Host, plan.requested.Host) && !isNode:
		return AddDiff{}, fmt.Errorf("context %q exists, is not a node and has endpoint %s, not %s: give the node another name, or adopt the context as it is with `context: %s`",
			opts.Name, redact.URL(current.Host), redact.URL(plan.requested.Host), opts.Name)
	case !sameHost(current.Host, plan.requested.Host):
		d.Changes = append(d.Changes, Change{Field: FieldEndpoint, From: redact.URL(current.Host), To: redact.URL(plan.requested.Host)})
	case opts.Host != "" && !opts.TLS.empty():
		differs, err := n.tlsDiffers(opts.Name, plan.requested)
		if err != nil {
			return AddDiff{}, err
		}
		if differs {
			d.Changes = append(d.Changes, Change{Field: FieldTLS, From: "stored", To: "the files given"})
		}
	}
	if !isNode {
		d.Action, d.Platforms = DiffAdopt, plan.platforms
		if len(d.Platforms) == 0 {
			d.Platforms, err = n.detect(ctx, opts, plan.endpoint)
		}
		return d, err
	}
	detect := func() ([]string, error) { return n.detect(ctx, opts, plan.endpoint) }
	return diffNode(d, opts, plan.platforms, node, detect)
}

// detect probes the engine for the node's native platform, as Add does when no platform is given.
func (n *Nodes) detect(ctx context.Context, opts AddOptions, ep docker.Endpoint) ([]string, error) {
	engine, err := probe(ctx, n.prober, ep, opts.Timeout)
	host := redact.URL(ep.Host)
	switch {
	case errors.Is(err, ErrHostKey):
		return nil, fmt.Errorf("node %q: engine at %s: %w", opts.Name, host, err)
	case err != nil:
		return nil, fmt.Errorf("node %q: engine at %s: %w (give its platforms to add it without probing)", opts.Name, host, err)
	}
	return []string{engine.Platform}, nil
}

// tlsDiffers reports whether a context's stored TLS material differs from an endpoint's.
func (n *Nodes) tlsDiffers(name string, want docker.Endpoint) (bool, error) {
	stored, err := n.endpoint(name)
	if err != nil {
		return false, err
	}
	if stored.SkipTLSVerify != want.SkipTLSVerify || (stored.TLSData == nil) != (want.TLSData == nil) {
		return true, nil
	}
	if stored.TLSData == nil {
		return false, nil
	}
	s, w := stored.TLSData, want.TLSData
	return !bytes.Equal(s.CA, w.CA) || !bytes.Equal(s.Cert, w.Cert) || !bytes.Equal(s.Key, w.Key), nil
}
