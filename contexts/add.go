package contexts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

// AddOptions describe a node to add: a new context for Host, or the existing context Context.
type AddOptions struct {
	Name        string
	Host        string
	Context     string
	TLS         TLSFiles
	Platforms   []string // as the user wrote them; empty means: detect from the engine
	Description string
	Timeout     time.Duration
	Force       bool // point an existing context with another endpoint at the new one
}

// AddResult says what Add did.
type AddResult struct {
	Node Node
	// Created is true when a new context was written, false when an existing one was adopted or updated.
	Created bool
	// ProbeErr is why the engine could not be probed; the node was then added with the platforms given.
	ProbeErr error
}

// addPlan is a validated add, decided before anything is written.
type addPlan struct {
	endpoint        docker.Endpoint
	existing        *store.Metadata // the context NAME, when it exists
	replaceEndpoint bool            // write endpoint into an existing context
	platforms       []string
	adopted         bool
}

// Add probes the engine (within the deadline) and writes the node's context. Every input is checked
// before anything is written; an unreachable engine is an error unless platforms are given.
func (n *Nodes) Add(ctx context.Context, opts AddOptions) (AddResult, error) {
	plan, err := n.planAdd(opts)
	if err != nil {
		return AddResult{}, err
	}
	data := Data{Platforms: plan.platforms, PlatformSource: SourceUser, Adopted: plan.adopted}
	engine, probeErr := probe(ctx, n.prober, plan.endpoint, opts.Timeout)
	switch {
	case errors.Is(probeErr, ErrHostKey):
		return AddResult{}, fmt.Errorf("node %q: engine at %s: %w", opts.Name, plan.endpoint.Host, probeErr)
	case probeErr != nil && len(plan.platforms) == 0:
		return AddResult{}, fmt.Errorf("node %q: engine at %s: %w (use --platform to add it without probing)", opts.Name, plan.endpoint.Host, probeErr)
	case probeErr == nil:
		data.Engine = engine
		if len(plan.platforms) == 0 {
			data.Platforms, data.PlatformSource = []string{engine.Platform}, SourceEngine
		}
	}
	meta, err := n.write(opts, plan, data)
	if err != nil {
		return AddResult{}, err
	}
	node, _, err := nodeFromMetadata(meta)
	return AddResult{Node: node, Created: plan.existing == nil, ProbeErr: probeErr}, err
}

func (n *Nodes) planAdd(opts AddOptions) (addPlan, error) {
	var plan addPlan
	if err := store.ValidateContextName(opts.Name); err != nil {
		return plan, fmt.Errorf("invalid node name: %w", err)
	}
	if (opts.Host == "") == (opts.Context == "") {
		return plan, errors.New("give exactly one of --host (a new context) or --context (an existing one)")
	}
	if opts.Timeout <= 0 {
		return plan, fmt.Errorf("invalid timeout %s: must be positive", opts.Timeout)
	}
	var err error
	if plan.platforms, err = ParsePlatforms(opts.Platforms); err != nil {
		return plan, err
	}
	if plan.existing, err = n.lookup(opts.Name); err != nil {
		return plan, err
	}
	if opts.Host != "" {
		plan.endpoint, err = newEndpoint(opts.Host, opts.TLS)
	} else {
		plan.endpoint, err = n.contextEndpoint(opts)
	}
	if err != nil {
		return plan, err
	}
	if plan.existing == nil {
		return plan, nil
	}
	return plan, n.planExisting(&plan, opts)
}

// planExisting decides how to treat a context that already has the node's name: the same endpoint
// is adopted (or a node re-added), another endpoint needs --force.
func (n *Nodes) planExisting(plan *addPlan, opts AddOptions) error {
	meta := *plan.existing
	current, err := docker.EndpointFromContext(meta)
	if err != nil {
		return fmt.Errorf("context %q: %w", opts.Name, err)
	}
	node, isNode, err := nodeFromMetadata(meta)
	if err != nil {
		return err
	}
	what := "context"
	if isNode {
		what = "node"
	}
	same := sameHost(current.Host, plan.endpoint.Host)
	if !same && !opts.Force {
		return fmt.Errorf("%s %q already exists with endpoint %s, not %s (use --force to point it at %s)",
			what, opts.Name, current.Host, plan.endpoint.Host, plan.endpoint.Host)
	}
	plan.adopted = !isNode || node.Adopted
	plan.replaceEndpoint = !same || (opts.Host != "" && !opts.TLS.empty())
	if !plan.replaceEndpoint && opts.Context == "" {
		// Probe the context as stored, with its own TLS material.
		ep, err := n.endpoint(opts.Name)
		if err != nil {
			return err
		}
		plan.endpoint = ep
	}
	return nil
}

// contextEndpoint is the endpoint of the context given with --context.
func (n *Nodes) contextEndpoint(opts AddOptions) (docker.Endpoint, error) {
	if !opts.TLS.empty() {
		return docker.Endpoint{}, fmt.Errorf("TLS options come from context %q; they cannot be given with --context", opts.Context)
	}
	src, err := n.lookup(opts.Context)
	if err != nil {
		return docker.Endpoint{}, err
	}
	if src == nil {
		return docker.Endpoint{}, fmt.Errorf("context %q not found (see `docker context ls`)", opts.Context)
	}
	return n.endpoint(opts.Context)
}

// lookup returns a context's metadata, or nil when there is no such context.
func (n *Nodes) lookup(name string) (*store.Metadata, error) {
	meta, err := n.store.GetMetadata(name)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", name, err)
	}
	return &meta, nil
}

// write stores the node: a new context, or the node's data (and a new endpoint) in the existing one.
func (n *Nodes) write(opts AddOptions, plan addPlan, data Data) (store.Metadata, error) {
	meta := store.Metadata{Name: opts.Name, Endpoints: map[string]any{}}
	if plan.existing != nil {
		meta = *plan.existing
	}
	dc := dockerContextOf(meta)
	if opts.Description != "" {
		dc.Description = opts.Description
	}
	meta.Metadata = command.DockerContext{Description: dc.Description, AdditionalFields: dc.AdditionalFields}
	writeEndpoint := plan.existing == nil || plan.replaceEndpoint
	if writeEndpoint {
		meta.Endpoints[docker.DockerEndpoint] = plan.endpoint.EndpointMeta
	}
	meta, err := withNodeData(meta, &data)
	if err != nil {
		return meta, err
	}
	if err := n.store.CreateOrUpdate(meta); err != nil {
		return meta, fmt.Errorf("writing context %q: %w", opts.Name, err)
	}
	if !writeEndpoint {
		return meta, nil
	}
	if err := n.store.ResetEndpointTLSMaterial(opts.Name, docker.DockerEndpoint, plan.endpoint.TLSData.ToStoreTLSData()); err != nil {
		n.undo(opts.Name, plan.existing)
		return meta, fmt.Errorf("writing TLS material of context %q: %w", opts.Name, err)
	}
	return meta, nil
}

// undo puts a context back as it was before a failed write.
func (n *Nodes) undo(name string, before *store.Metadata) {
	if before == nil {
		_ = n.store.Remove(name)
		return
	}
	_ = n.store.CreateOrUpdate(*before)
}
