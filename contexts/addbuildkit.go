package contexts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// BuildKitProber asks a BuildKit daemon, through BuildKit's own API, what it is and what it runs.
// Its implementation lives in driver/ (only driver/ imports BuildKit): see Nodes.WithBuildKitProber.
type BuildKitProber interface {
	ProbeBuildKit(ctx context.Context, t BuildKitTarget) (BuildKitStatus, error)
}

// BuildKitStatus is a BuildKit daemon as a probe finds it: what it is, and the builds it runs now.
type BuildKitStatus struct {
	Info    BuildKitInfo
	Running int
}

// WithBuildKitProber sets how BuildKit nodes are probed; it returns n. Without one, BuildKit nodes
// cannot be added (unless offline, with their platforms) and their probes fail.
func (n *Nodes) WithBuildKitProber(p BuildKitProber) *Nodes {
	n.bkProber = p
	return n
}

var errNoBuildKitProber = errors.New("this command cannot reach BuildKit daemons")

// probeBuildKit runs the BuildKit prober under a deadline (see probe).
func probeBuildKit(ctx context.Context, p BuildKitProber, t BuildKitTarget, timeout time.Duration) (BuildKitStatus, error) {
	if p == nil {
		return BuildKitStatus{}, errNoBuildKitProber
	}
	st, err := deadline.Value(ctx, timeout, func(ctx context.Context) (BuildKitStatus, error) {
		st, err := p.ProbeBuildKit(ctx, t)
		return st, cleanError(err)
	})
	return st, redact.Error(err)
}

// bkPlan is a validated BuildKit add, decided before anything is written.
type bkPlan struct {
	endpoint  BuildKitEndpoint
	tls       *store.EndpointTLSData // nil: no TLS files given
	probeAt   BuildKitTarget
	platforms []string
	existing  *store.Metadata
}

// addBuildKit adds a standalone BuildKit daemon as a node: its address checked, its TLS files read,
// the daemon probed within the deadline through BuildKit's API (its workers' platforms: the native
// one first), then, under the store's lock, a context of its own written with a "buildkit"
// endpoint (no Docker endpoint: it goes to the BuildKit store, see nodestore.go) and its TLS files. An existing BuildKit node of that name is updated (another
// address needs Force); any other context of that name is refused.
func (n *Nodes) addBuildKit(ctx context.Context, opts AddOptions) (AddResult, error) {
	plan, err := n.planBuildKit(opts)
	if err != nil {
		return AddResult{}, err
	}
	host := redact.URL(opts.BuildKit)
	st, probeErr := probeBuildKit(ctx, n.bkProber, plan.probeAt, opts.Timeout)
	data := Data{Kind: KindBuildKit, Platforms: plan.platforms, PlatformSource: SourceUser}
	switch {
	case probeErr != nil && len(plan.platforms) == 0:
		hint := ""
		if plan.probeAt.TLS() && plan.probeAt.Cert == "" {
			hint = "; a daemon that verifies its clients needs --tls-cert and --tls-key"
		}
		return AddResult{}, fmt.Errorf("node %q: BuildKit at %s: %w (use --platform to add it without probing%s)", opts.Name, host, probeErr, hint)
	case probeErr == nil:
		data.BuildKit = &st.Info
		if len(plan.platforms) == 0 {
			data.Platforms, data.PlatformSource = []string{st.Info.Native()}, SourceBuildKit
		}
	}
	release, err := n.lock(ctx, opts.Timeout)
	if err != nil {
		return AddResult{}, fmt.Errorf("node %q: %w", opts.Name, err)
	}
	defer release()
	if plan.existing, err = n.checkBuildKitName(opts); err != nil { // the store as it is now, under the lock
		return AddResult{}, err
	}
	meta, err := n.writeBuildKit(opts, plan, data)
	if err != nil {
		return AddResult{}, err
	}
	node, _, err := nodeFromMetadata(meta)
	return AddResult{Node: node, Created: plan.existing == nil, ProbeErr: probeErr}, err
}

func (n *Nodes) planBuildKit(opts AddOptions) (bkPlan, error) {
	var plan bkPlan
	if err := store.ValidateContextName(opts.Name); err != nil {
		return plan, fmt.Errorf("invalid node name: %w", err)
	}
	if opts.Host != "" || opts.Context != "" {
		return plan, errors.New("give exactly one of --host (an engine), --context (an existing context) or --buildkit (a BuildKit daemon)")
	}
	if err := deadline.CheckTimeout(opts.Timeout); err != nil {
		return plan, err
	}
	if err := ValidateBuildKitHost(opts.BuildKit); err != nil {
		return plan, err
	}
	var err error
	if plan.platforms, err = ParsePlatforms(opts.Platforms); err != nil {
		return plan, err
	}
	if plan.tls, err = buildKitTLS(opts.BuildKit, opts.TLS, opts.ServerName); err != nil {
		return plan, err
	}
	plan.endpoint = BuildKitEndpoint{Host: opts.BuildKit, ServerName: opts.ServerName}
	if plan.probeAt, err = givenTarget(opts.BuildKit, opts.ServerName, opts.TLS); err != nil {
		return plan, err
	}
	if plan.existing, err = n.checkBuildKitName(opts); err != nil {
		return plan, err
	}
	if plan.existing == nil || !sameHost(opts.BuildKit, n.storedHost(*plan.existing)) {
		return plan, nil
	}
	stored, err := n.BuildKitTarget(opts.Name)
	if err != nil {
		return plan, err
	}
	switch {
	case plan.tls == nil:
		// The node again at its address without TLS options: probed, and kept, with its stored TLS.
		plan.probeAt, plan.endpoint.ServerName = stored, stored.ServerName
	case opts.ServerName == "":
		// New TLS files at the same address: the stored server name stays unless another is given.
		plan.probeAt.ServerName, plan.endpoint.ServerName = stored.ServerName, stored.ServerName
	}
	return plan, nil
}

// checkBuildKitName returns the existing BuildKit node of the add's name (nil: none), refusing a
// context that is not a BuildKit node, another address without Force, and an address another
// BuildKit node already has.
func (n *Nodes) checkBuildKitName(opts AddOptions) (*store.Metadata, error) {
	all, err := n.List()
	if err != nil {
		return nil, err
	}
	for _, other := range all {
		if other.Name != opts.Name && other.IsBuildKit() && sameHost(other.Endpoint, opts.BuildKit) {
			return nil, fmt.Errorf("node %q already is BuildKit at %s", other.Name, redact.URL(opts.BuildKit))
		}
	}
	existing, err := n.lookup(opts.Name)
	if err != nil || existing == nil {
		return nil, err
	}
	node, isNode, err := nodeFromMetadata(*existing)
	switch {
	case err != nil:
		return nil, err
	case !isNode:
		return nil, fmt.Errorf("context %q exists: a BuildKit node needs a context of its own (choose another name)", opts.Name)
	case !node.IsBuildKit():
		return nil, fmt.Errorf("node %q exists and is a Docker engine at %s (remove it first: docker multiarch node rm %s)",
			opts.Name, redact.URL(node.Endpoint), opts.Name)
	case !sameHost(node.Endpoint, opts.BuildKit) && !opts.Force:
		want := redact.URL(opts.BuildKit)
		return nil, fmt.Errorf("node %q already exists with BuildKit at %s, not %s (use --force to point it at %s)",
			opts.Name, redact.URL(node.Endpoint), want, want)
	}
	return existing, nil
}

func (n *Nodes) storedHost(meta store.Metadata) string {
	ep, _ := buildKitEndpointOf(meta)
	return ep.Host
}

// writeBuildKit stores the node: its context with the BuildKit endpoint and node data, then its TLS
// files (replaced only when TLS options were given). A failed write puts the context back as it was.
func (n *Nodes) writeBuildKit(opts AddOptions, plan bkPlan, data Data) (store.Metadata, error) {
	meta := store.Metadata{Name: opts.Name, Endpoints: map[string]any{}}
	var before *snapshot
	if plan.existing != nil {
		var err error
		if before, err = n.snapshot(*plan.existing); err != nil {
			return meta, err
		}
		meta = cloneMetadata(*plan.existing)
	}
	dc := dockerContextOf(meta)
	if opts.Description != "" {
		dc.Description = opts.Description
	}
	meta.Metadata = command.DockerContext{Description: dc.Description, AdditionalFields: dc.AdditionalFields}
	meta.Endpoints = map[string]any{BuildKitEndpointName: plan.endpoint}
	meta, err := withNodeData(meta, &data)
	if err != nil {
		return meta, err
	}
	if err := n.store.CreateOrUpdate(meta); err != nil {
		return meta, n.undo(opts.Name, before, false, fmt.Errorf("writing context %q: %w", opts.Name, err))
	}
	replaceTLS := plan.existing == nil || plan.tls != nil || !sameHost(opts.BuildKit, n.storedHost(*plan.existing))
	if !replaceTLS {
		return meta, nil
	}
	if err := n.store.ResetEndpointTLSMaterial(opts.Name, BuildKitEndpointName, plan.tls); err != nil {
		return meta, n.undo(opts.Name, before, true, fmt.Errorf("writing TLS material of context %q: %w", opts.Name, err))
	}
	return meta, nil
}
