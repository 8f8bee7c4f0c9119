package contexts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/cli/cli/context/docker"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// What an add would do to the context store, as Diff reports it.
const (
	DiffCreate    = "create"    // no context has the name: a new one is written
	DiffAdopt     = "adopt"     // a context that is not a node becomes one
	DiffUpdate    = "update"    // the node differs from the add: its context is rewritten
	DiffUnchanged = "unchanged" // the node already is what the add asks for: nothing is written
)

// The fields of a node that Diff compares.
const (
	FieldEndpoint    = "endpoint"
	FieldTLS         = "tls"
	FieldPlatforms   = "platforms"
	FieldDescription = "description"
)

// Change is one way a stored node differs from an add.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// AddDiff is what Add with the same options would change, decided without writing anything.
type AddDiff struct {
	Action  string
	Changes []Change
	// Platforms are the node's platforms once added: as given, as stored, or detected by a probe.
	Platforms []string
	// BuildKit is how a BuildKit node will be reached once added (its address, server name and
	// where its TLS files will be kept): a builder planned over it before it is written uses it.
	BuildKit *BuildKitTarget
}

// Has reports whether the diff changes a field.
func (d AddDiff) Has(field string) bool {
	return slices.ContainsFunc(d.Changes, func(c Change) bool { return c.Field == field })
}

// Diff says what Add(opts) would change, reading the store and writing nothing: the same input
// checks as Add, a node whose endpoint, TLS material (when TLS files are given), platforms or
// description (when given) differ is an update (Add then needs Force for a new endpoint), and a
// node that matches is unchanged. Omitted platforms keep what the engine reported when it was
// added; they are detected again (a probe within opts.Timeout) when the node is new, moves to
// another endpoint, or had its platforms given before. A context that is not a node is adopted
// when it has the same endpoint, and refused otherwise: Diff never repoints a user's context.
func (n *Nodes) Diff(ctx context.Context, opts AddOptions) (AddDiff, error) {
	if opts.BuildKit != "" {
		return n.diffBuildKit(ctx, opts)
	}
	opts.Force = true // an endpoint change is reported here; diffExisting refuses it for plain contexts
	plan, err := n.planAdd(opts)
	if err != nil {
		return AddDiff{}, err
	}
	if plan.existing == nil {
		d := AddDiff{Action: DiffCreate, Platforms: plan.platforms}
		if len(d.Platforms) == 0 {
			d.Platforms, err = n.detect(ctx, opts, plan.endpoint)
		}
		return d, err
	}
	return n.diffExisting(ctx, opts, plan)
}

func (n *Nodes) diffExisting(ctx context.Context, opts AddOptions, plan addPlan) (AddDiff, error) {
	meta := *plan.existing
	node, isNode, err := nodeFromMetadata(meta)
	if err != nil {
		return AddDiff{}, err
	}
	if isNode && node.IsBuildKit() {
		return AddDiff{}, errBuildKitNode(node)
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

// diffNode ends the diff of a stored node: its platforms (given, or detect) and description
// compared, the action set.
func diffNode(d AddDiff, opts AddOptions, given []string, node Node, detect func() ([]string, error)) (AddDiff, error) {
	if err := diffPlatforms(given, node, &d, detect); err != nil {
		return AddDiff{}, err
	}
	if opts.Description != "" && opts.Description != node.Description {
		d.Changes = append(d.Changes, Change{Field: FieldDescription, From: node.Description, To: opts.Description})
	}
	d.Action = DiffUnchanged
	if len(d.Changes) > 0 {
		d.Action = DiffUpdate
	}
	return d, nil
}

// diffPlatforms compares the node's platforms with the ones the add gives (none: kept as
// detected, or detected again by detect when the node moves or had its platforms given before).
func diffPlatforms(given []string, node Node, d *AddDiff, detect func() ([]string, error)) error {
	d.Platforms = given
	if len(given) == 0 && !d.Has(FieldEndpoint) && node.PlatformSource != SourceUser {
		d.Platforms = node.Platforms // detected when the node was added: kept
		return nil
	}
	if len(given) == 0 {
		var err error
		if d.Platforms, err = detect(); err != nil {
			return err
		}
	}
	wasGiven := node.PlatformSource == SourceUser
	if slices.Equal(d.Platforms, node.Platforms) && (len(given) > 0 || !wasGiven) {
		return nil
	}
	d.Changes = append(d.Changes, Change{Field: FieldPlatforms,
		From: platformList(node.Platforms, wasGiven), To: platformList(d.Platforms, len(given) > 0)})
	return nil
}

// platformList shows platforms, saying when they were detected rather than given.
func platformList(platforms []string, given bool) string {
	s := strings.Join(platforms, ",")
	if !given {
		s += " (detected)"
	}
	return s
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
