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

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// AddOptions describe a node to add: a new context for Host, the existing context Context, or a
// new context for the BuildKit daemon at BuildKit.
type AddOptions struct {
	Name        string
	Host        string
	Context     string
	BuildKit    string // tcp://HOST:PORT or unix:///PATH of a standalone buildkitd
	ServerName  string // BuildKit: the TLS server name, when it is not the address's host
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
	requested       docker.Endpoint // the endpoint the user gave (--host or --context)
	endpoint        docker.Endpoint // the endpoint to probe and write
	current         *store.Metadata // the context NAME, when it exists
	replaceEndpoint bool            // write endpoint into an existing context
	platforms       []string
	adopted         bool
}

func (engineKind) plan(n *Nodes, opts AddOptions, platforms []string) (addition, error) {
	plan := &addPlan{platforms: platforms}
	if opts.ServerName != "" {
		return nil, errors.New("--tls-servername applies to BuildKit nodes (--buildkit) only")
	}
	var err error
	if opts.Host != "" {
		plan.requested, err = newEndpoint(opts.Host, opts.TLS)
	} else {
		plan.requested, err = n.contextEndpoint(opts)
	}
	if err != nil {
		return nil, err
	}
	return plan, plan.recheck(n, opts)
}

// probe asks the engine (within the deadline) for its version and platform.
func (plan *addPlan) probe(ctx context.Context, n *Nodes, opts AddOptions) (Data, error) {
	data := Data{Platforms: plan.platforms, PlatformSource: SourceUser}
	engine, err := probe(ctx, n.prober, plan.endpoint, opts.Timeout)
	if err == nil {
		data.Engine = engine
		if len(plan.platforms) == 0 {
			data.Platforms, data.PlatformSource = []string{engine.Platform}, SourceEngine
		}
	}
	return data, err
}

// refuse: an untrusted host key always; an engine that does not answer unless platforms are given.
func (plan *addPlan) refuse(opts AddOptions, probeErr error) error {
	host := redact.URL(plan.endpoint.Host)
	switch {
	case errors.Is(probeErr, ErrHostKey):
		return fmt.Errorf("node %q: engine at %s: %w", opts.Name, host, probeErr)
	case probeErr != nil && len(plan.platforms) == 0:
		return fmt.Errorf("node %q: engine at %s: %w (use --platform to add it without probing)", opts.Name, host, probeErr)
	}
	return nil
}

func (plan *addPlan) existing() *store.Metadata { return plan.current }

// recheck (re)reads the context NAME and decides, from the requested endpoint, what to write.
func (plan *addPlan) recheck(n *Nodes, opts AddOptions) error {
	existing, err := n.lookup(opts.Name)
	if err != nil {
		return err
	}
	plan.current, plan.endpoint, plan.adopted, plan.replaceEndpoint = existing, plan.requested, false, false
	if existing == nil {
		return nil
	}
	return n.planExisting(plan, opts)
}

// planExisting decides how to treat a context that already has the node's name: the same endpoint
// is adopted (or a node re-added), another endpoint needs --force.
func (n *Nodes) planExisting(plan *addPlan, opts AddOptions) error {
	meta := *plan.current
	node, isNode, err := nodeFromMetadata(meta)
	if err != nil {
		return err
	}
	if isNode && node.Kind().Name() != KindEngine {
		return errOtherKind(node)
	}
	current, err := docker.EndpointFromContext(meta)
	if err != nil {
		return fmt.Errorf("context %q: %w", opts.Name, err)
	}
	what := "context"
	if isNode {
		what = "node"
	}
	same := sameHost(current.Host, plan.endpoint.Host)
	if !same && !opts.Force {
		want := redact.URL(plan.endpoint.Host)
		return fmt.Errorf("%s %q already exists with endpoint %s, not %s (use --force to point it at %s)",
			what, opts.Name, redact.URL(current.Host), want, want)
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

// errOtherKind refuses to make a node of another kind an engine.
func errOtherKind(node Node) error {
	return fmt.Errorf("node %q exists and is %s at %s, not a Docker engine (remove it first: docker multiarch node rm %s)",
		node.Name, node.Kind().Title(), redact.URL(node.Endpoint), node.Name)
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

// write stores the node: a new context, or the node's data (and a new endpoint) in the existing
// one. A failed write puts the context back as it was, TLS files included.
func (plan *addPlan) write(n *Nodes, opts AddOptions, data Data) (store.Metadata, error) {
	data.Adopted = plan.adopted
	writeEndpoint := plan.current == nil || plan.replaceEndpoint
	var tls *tlsWrite
	if writeEndpoint {
		tls = &tlsWrite{endpoint: docker.DockerEndpoint, data: plan.endpoint.TLSData.ToStoreTLSData()}
	}
	setEndpoint := func(meta *store.Metadata) {
		if writeEndpoint {
			meta.Endpoints[docker.DockerEndpoint] = plan.endpoint.EndpointMeta
		}
	}
	return n.writeNode(opts, plan.current, data, setEndpoint, tls)
}

// tlsWrite is the TLS material a write replaces: an endpoint's (nil data: none).
type tlsWrite struct {
	endpoint string
	data     *store.EndpointTLSData
}

// writeNode is every kind's write: a new context, or a copy of the stored one (snapshotted first),
// its description when one is given, its endpoint (setEndpoint), the node's data, then the TLS
// material when tls says so. A failed step puts the context back as it was.
func (n *Nodes) writeNode(opts AddOptions, current *store.Metadata, data Data, setEndpoint func(*store.Metadata), tls *tlsWrite) (store.Metadata, error) {
	meta := store.Metadata{Name: opts.Name, Endpoints: map[string]any{}}
	var before *snapshot
	if current != nil {
		var err error
		if before, err = n.snapshot(*current); err != nil {
			return meta, err
		}
		meta = cloneMetadata(*current)
		if meta.Endpoints == nil {
			meta.Endpoints = map[string]any{}
		}
	}
	dc := dockerContextOf(meta)
	if opts.Description != "" {
		dc.Description = opts.Description
	}
	meta.Metadata = command.DockerContext{Description: dc.Description, AdditionalFields: dc.AdditionalFields}
	setEndpoint(&meta)
	meta, err := withNodeData(meta, &data)
	if err != nil {
		return meta, err
	}
	if err := n.store.CreateOrUpdate(meta); err != nil {
		return meta, n.undo(opts.Name, before, false, fmt.Errorf("writing context %q: %w", opts.Name, err))
	}
	if tls == nil {
		return meta, nil
	}
	if err := n.store.ResetEndpointTLSMaterial(opts.Name, tls.endpoint, tls.data); err != nil {
		return meta, n.undo(opts.Name, before, true, fmt.Errorf("writing TLS material of context %q: %w", opts.Name, err))
	}
	return meta, nil
}
