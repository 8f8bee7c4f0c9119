package contexts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/cli/cli/context/store"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// Kind is a kind of node: a Docker engine (kind_engine.go) or a standalone BuildKit daemon
// (kind_buildkit.go). A kind says how its nodes are reached, probed, added, compared and written,
// and what a builder makes of them. Code outside the kinds' own files never asks which kind a
// node is, only what its kind can do (Engine, BuildxDriver) or how to name it.
type Kind interface {
	// Name is the kind as stored and listed: KindEngine or KindBuildKit.
	Name() string
	// Title names the kind's server in a message: "engine at HOST", "BuildKit at HOST".
	Title() string
	// Describe is the kind in a few words, as `node inspect` shows it.
	Describe() string
	// Engine reports whether the node is a Docker engine: it runs containers and keeps images, as
	// tests, --load into a node, Windows builds and engine clean-up need.
	Engine() bool
	// BuildxDriver is the buildx driver a builder reaches the node with.
	BuildxDriver() string

	// host is the address a stored node of the kind is reached at.
	host(meta store.Metadata) string
	// probe asks a stored node what it is, within timeout.
	probe(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status
	// answers checks within timeout that a stored node answers, as cheaply as the kind allows.
	answers(ctx context.Context, n *Nodes, node Node, timeout time.Duration) Status
	// plan checks an add of the kind (its common checks done) and decides what it writes.
	plan(n *Nodes, opts AddOptions, platforms []string) (addition, error)
	// ownsContext reports whether the node's store entry is its own (removed with it always) rather
	// than a Docker context it may share with the user.
	ownsContext() bool
}

// The buildx drivers the kinds' nodes are reached with.
const (
	DriverDockerContainer = "docker-container"
	DriverRemote          = "remote"
)

// addition is one kind's validated add: probed unlocked, checked again and written under the
// store's lock, or compared with what is stored (Diff).
type addition interface {
	// probe asks the node what it is and returns the data to store: its kind, the platforms given
	// or the one it reports, and what it reported; the error is the probe's (AddResult.ProbeErr).
	probe(ctx context.Context, n *Nodes, opts AddOptions) (Data, error)
	// refuse is the error Add returns for a failed probe; nil: the node is added with the
	// platforms given.
	refuse(opts AddOptions, probeErr error) error
	// recheck reads the store again under its lock and decides again what to write.
	recheck(n *Nodes, opts AddOptions) error
	// write stores the node with data; a failed write puts the store back as it was.
	write(n *Nodes, opts AddOptions, data Data) (store.Metadata, error)
	// existing is the stored context of the add's name, nil when there is none.
	existing() *store.Metadata
	// diff says what the add would change, writing nothing.
	diff(ctx context.Context, n *Nodes, opts AddOptions) (AddDiff, error)
}

// kinds are the kinds of node, the engine first (nodes stored before there were kinds are engines).
var kinds = []Kind{engineKind{}, buildKitKind{}}

// KindNamed returns the kind stored as name ("" is an engine: nodes stored before there were kinds).
func KindNamed(name string) (Kind, bool) {
	if name == "" {
		return kinds[0], true
	}
	for _, k := range kinds {
		if k.Name() == name {
			return k, true
		}
	}
	return nil, false
}

// Kind is the node's kind; a kind this version does not know is listed and removable, never
// probed, built on or taken for an engine (kind_unknown.go).
func (d Data) Kind() Kind {
	if k, ok := KindNamed(d.KindName); ok {
		return k
	}
	return unknownKind{name: d.KindName}
}

// SetKind makes the data a node of kind k (an engine is stored without a kind, as before kinds).
func (d *Data) SetKind(k Kind) {
	d.KindName = ""
	if k != nil && k.Name() != KindEngine {
		d.KindName = k.Name()
	}
}

var errOneEndpoint = errors.New("give exactly one of --host (an engine), --context (an existing context) or --buildkit (a BuildKit daemon)")

// planAdd does the checks every add shares (name, one endpoint, timeout, platforms), then the
// kind's own.
func (n *Nodes) planAdd(opts AddOptions) (Kind, addition, error) {
	if err := store.ValidateContextName(opts.Name); err != nil {
		return nil, nil, fmt.Errorf("invalid node name: %w", err)
	}
	given := 0
	for _, s := range []string{opts.Host, opts.Context, opts.BuildKit} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		return nil, nil, errOneEndpoint
	}
	var k Kind = engineKind{}
	if opts.BuildKit != "" {
		k = buildKitKind{}
	}
	if err := deadline.CheckTimeout(opts.Timeout); err != nil {
		return nil, nil, err
	}
	platforms, err := ParsePlatforms(opts.Platforms)
	if err != nil {
		return nil, nil, err
	}
	a, err := k.plan(n, opts, platforms)
	return k, a, err
}

// Add probes the node (within the deadline) and writes it. Every input is checked before anything
// is written; a node that does not answer is an error unless its platforms are given. The probe
// runs unlocked; the check of an existing context is then done again, and the write made, under
// the store's lock, so that concurrent adds of one name do not both win.
func (n *Nodes) Add(ctx context.Context, opts AddOptions) (AddResult, error) {
	_, a, err := n.planAdd(opts)
	if err != nil {
		return AddResult{}, err
	}
	data, probeErr := a.probe(ctx, n, opts)
	if err := a.refuse(opts, probeErr); err != nil {
		return AddResult{}, err
	}
	release, err := n.lock(ctx, opts.Timeout)
	if err != nil {
		return AddResult{}, fmt.Errorf("node %q: %w", opts.Name, err)
	}
	defer release()
	if err := a.recheck(n, opts); err != nil { // the store as it is now, under the lock
		return AddResult{}, err
	}
	meta, err := a.write(n, opts, data)
	if err != nil {
		return AddResult{}, err
	}
	node, _, err := nodeFromMetadata(meta)
	return AddResult{Node: node, Created: a.existing() == nil, ProbeErr: probeErr}, err
}

// Diff says what Add(opts) would change, reading the store and writing nothing: the same input
// checks as Add, a node whose endpoint, TLS material (when TLS files are given), platforms or
// description (when given) differ is an update (Add then needs Force for a new endpoint), and a
// node that matches is unchanged. Omitted platforms keep what the node reported when it was
// added; they are detected again (a probe within opts.Timeout) when the node is new, moves to
// another endpoint, or had its platforms given before. A context that is not a node is adopted
// when it has the same endpoint, and refused otherwise: Diff never repoints a user's context.
func (n *Nodes) Diff(ctx context.Context, opts AddOptions) (AddDiff, error) {
	opts.Force = true // an endpoint change is reported here; each kind refuses what it cannot do
	k, a, err := n.planAdd(opts)
	if err != nil {
		return AddDiff{}, err
	}
	d, err := a.diff(ctx, n, opts)
	d.Kind = k
	return d, err
}
