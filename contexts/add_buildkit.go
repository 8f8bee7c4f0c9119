package contexts

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	current   *store.Metadata // the stored BuildKit node of the add's name, when there is one
}

// plan checks a BuildKit add: its address, its TLS files read, the stored node of that name (the
// same address keeps its stored TLS unless new files are given).
func (buildKitKind) plan(n *Nodes, opts AddOptions, platforms []string) (addition, error) {
	plan := &bkPlan{platforms: platforms}
	if err := ValidateBuildKitHost(opts.BuildKit); err != nil {
		return nil, err
	}
	var err error
	if plan.tls, err = buildKitTLS(opts.BuildKit, opts.TLS, opts.ServerName); err != nil {
		return nil, err
	}
	plan.endpoint = BuildKitEndpoint{Host: opts.BuildKit, ServerName: opts.ServerName}
	if plan.probeAt, err = givenTarget(opts.BuildKit, opts.ServerName, opts.TLS); err != nil {
		return nil, err
	}
	if err := plan.recheck(n, opts); err != nil {
		return nil, err
	}
	if plan.current == nil || !sameHost(opts.BuildKit, n.storedHost(*plan.current)) {
		return plan, nil
	}
	stored, err := n.BuildKitTarget(opts.Name)
	if err != nil {
		return nil, err
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

// probe asks the daemon (within the deadline), through BuildKit's API, for its version and its
// workers' platforms (the native one first).
func (plan *bkPlan) probe(ctx context.Context, n *Nodes, opts AddOptions) (Data, error) {
	data := Data{KindName: KindBuildKit, Platforms: plan.platforms, PlatformSource: SourceUser}
	st, err := probeBuildKit(ctx, n.bkProber, plan.probeAt, opts.Timeout)
	if err == nil {
		data.BuildKit = &st.Info
		if len(plan.platforms) == 0 {
			data.Platforms, data.PlatformSource = []string{st.Info.Native()}, SourceBuildKit
		}
	}
	return data, err
}

// refuse: a daemon that does not answer, unless platforms are given.
func (plan *bkPlan) refuse(opts AddOptions, probeErr error) error {
	if probeErr == nil || len(plan.platforms) > 0 {
		return nil
	}
	hint := ""
	if plan.probeAt.TLS() && plan.probeAt.Cert == "" {
		hint = "; a daemon that verifies its clients needs --tls-cert and --tls-key"
	}
	return fmt.Errorf("node %q: BuildKit at %s: %w (use --platform to add it without probing%s)", opts.Name, redact.URL(opts.BuildKit), probeErr, hint)
}

// recheck reads the stored node of the add's name again (see checkBuildKitName).
func (plan *bkPlan) recheck(n *Nodes, opts AddOptions) error {
	var err error
	plan.current, err = n.checkBuildKitName(opts)
	return err
}

func (plan *bkPlan) existing() *store.Metadata { return plan.current }

// checkBuildKitName returns the existing BuildKit node of the add's name (nil: none), refusing a
// context that is not a BuildKit node, another address without Force, and an address another
// BuildKit node already has.
func (n *Nodes) checkBuildKitName(opts AddOptions) (*store.Metadata, error) {
	all, err := n.List()
	if err != nil {
		return nil, err
	}
	for _, other := range all {
		if other.Name != opts.Name && other.Kind().Name() == KindBuildKit && sameHost(other.Endpoint, opts.BuildKit) {
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
	case node.Kind().Name() != KindBuildKit:
		return nil, fmt.Errorf("node %q exists and is %s at %s (remove it first: docker multiarch node rm %s)",
			opts.Name, node.Kind().Describe(), redact.URL(node.Endpoint), opts.Name)
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

// write stores the node: its context with the BuildKit endpoint and node data, then its TLS files
// (replaced only when TLS options were given, or the address changed). A failed write puts the
// context back as it was.
func (plan *bkPlan) write(n *Nodes, opts AddOptions, data Data) (store.Metadata, error) {
	var tls *tlsWrite
	if plan.current == nil || plan.tls != nil || !sameHost(opts.BuildKit, n.storedHost(*plan.current)) {
		tls = &tlsWrite{endpoint: BuildKitEndpointName, data: plan.tls}
	}
	setEndpoint := func(meta *store.Metadata) { meta.Endpoints = map[string]any{BuildKitEndpointName: plan.endpoint} }
	return n.writeNode(opts, plan.current, data, setEndpoint, tls)
}
