package farm

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Builders is what a farm needs of buildx's store (builders.Manager); tests give a fake.
type Builders interface {
	Diff(spec builders.BuilderSpec, use bool) (builders.Diff, error)
	Create(ctx context.Context, spec builders.BuilderSpec, opts builders.CreateOptions, timeout time.Duration) (builders.CreateResult, error)
}

// Farm plans and applies farm files over the node store and buildx's store.
type Farm struct {
	nodes    *contexts.Nodes
	builders Builders
}

// New returns the farm service.
func New(nodes *contexts.Nodes, b Builders) *Farm { return &Farm{nodes: nodes, builders: b} }

// Kinds of entries, and what applying does to a builder (nodes use the contexts.Diff* actions).
const (
	KindNode  = "node"
	KindBuild = "builder"

	ActionCreate    = contexts.DiffCreate
	ActionUpdate    = contexts.DiffUpdate
	ActionUnchanged = contexts.DiffUnchanged
)

// Change is what applying the file does to one node or builder.
type Change struct {
	Kind    string   `json:"kind"`   // node or builder
	Name    string   `json:"name"`   // the node's or builder's name
	Action  string   `json:"action"` // create, adopt, update or unchanged
	Changes []string `json:"changes,omitempty"`
}

// Plan is what applying a file would change, decided before anything is written.
type Plan struct {
	File    *File
	Changes []Change // nodes in the file's order, then builders

	nodes    []nodeStep
	builders []builderStep
	timeout  time.Duration
}

// Changed reports whether applying the plan would write anything.
func (p *Plan) Changed() bool { return p.Changing() > 0 }

// Changing counts the entries that applying the plan changes.
func (p *Plan) Changing() int {
	n := 0
	for _, c := range p.Changes {
		if c.Action != ActionUnchanged {
			n++
		}
	}
	return n
}

type nodeStep struct {
	opts contexts.AddOptions
	diff contexts.AddDiff
}

type builderStep struct {
	decl Builder
	diff builders.Diff
}

// Plan compares the file with the context store and buildx's store, writing nothing. Every value
// is checked, and the engines whose platforms must be detected are probed (in parallel, each
// within timeout), so that a plan that returns without error applies without input errors.
func (fm *Farm) Plan(ctx context.Context, f *File, timeout time.Duration) (*Plan, error) {
	if err := deadline.CheckTimeout(timeout); err != nil {
		return nil, err
	}
	p := &Plan{File: f, timeout: timeout, nodes: make([]nodeStep, len(f.Nodes))}
	errs := make([]error, len(f.Nodes))
	var wg sync.WaitGroup
	for i, n := range f.Nodes {
		wg.Go(func() {
			opts := f.addOptions(n, timeout)
			d, err := fm.nodes.Diff(ctx, opts)
			p.nodes[i] = nodeStep{opts: opts, diff: d}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %s: %w", f.path, nodeEntry(i, n.Name), err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	desired, planned := desiredNodes(p)
	for i, n := range f.Nodes {
		p.Changes = append(p.Changes, nodeChange(n, p.nodes[i].diff))
	}
	for i, b := range f.Builders {
		spec, err := f.builderSpecOf(b, desired)
		spec.Planned = planned
		var d builders.Diff
		if err == nil {
			d, err = fm.builders.Diff(spec, b.Use)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", f.path, builderEntry(i, b.Name), err)
		}
		p.builders = append(p.builders, builderStep{decl: b, diff: d})
		p.Changes = append(p.Changes, builderChange(b.Name, d))
	}
	return p, nil
}

// desiredNodes are the file's nodes as applying the plan leaves them, for planning its builders:
// their platforms, and how a builder reaches each BuildKit daemon once it is written.
func desiredNodes(p *Plan) ([]contexts.Node, map[string]contexts.BuildKitTarget) {
	var desired []contexts.Node
	planned := map[string]contexts.BuildKitTarget{}
	for i, n := range p.File.Nodes {
		node := contexts.Node{Name: n.Name, Data: contexts.Data{Platforms: p.nodes[i].diff.Platforms}}
		if t := p.nodes[i].diff.BuildKit; t != nil {
			node.Endpoint, planned[n.Name] = n.BuildKit, *t
		}
		node.SetKind(p.nodes[i].diff.Kind)
		desired = append(desired, node)
	}
	return desired, planned
}

// addOptions is the node add a node entry asks for; TLS paths are resolved against the file.
func (f *File) addOptions(n Node, timeout time.Duration) contexts.AddOptions {
	o := contexts.AddOptions{Name: n.Name, Host: n.Host, Context: n.Context, BuildKit: n.BuildKit, Platforms: n.Platforms,
		Description: n.Description, Timeout: timeout}
	if n.TLS != nil {
		o.TLS = contexts.TLSFiles{CA: f.resolve(n.TLS.CA), Cert: f.resolve(n.TLS.Cert), Key: f.resolve(n.TLS.Key)}
		o.ServerName = n.TLS.ServerName
	}
	return o
}

// builderSpecOf is the builder spec of an entry over the file's nodes (all: in the file's order,
// with their platforms), as `create --node ... --emulate ...` would select them.
func (f *File) builderSpecOf(b Builder, all []contexts.Node) (builders.BuilderSpec, error) {
	var emulate []string
	for _, plat := range slices.Sorted(maps.Keys(b.Emulate)) { // a fixed order: the stored builder does not move
		emulate = append(emulate, plat+"="+b.Emulate[plat])
	}
	specs, err := builders.SelectNodes(all, b.Nodes, emulate)
	if err != nil {
		return builders.BuilderSpec{}, err
	}
	return f.builderSpec(b, specs), nil
}

func (f *File) builderSpec(b Builder, nodes []builders.NodeSpec) builders.BuilderSpec {
	return builders.BuilderSpec{Name: b.Name, Nodes: nodes, DriverOpts: b.DriverOpts,
		BuildkitdFlags: b.BuildkitdFlags, BuildkitdConfig: f.resolve(b.BuildkitdConfig)}
}

// nodeChange describes a node's diff.
func nodeChange(n Node, d contexts.AddDiff) Change {
	c := Change{Kind: KindNode, Name: n.Name, Action: d.Action}
	switch d.Action {
	case contexts.DiffCreate, contexts.DiffAdopt:
		switch {
		case n.BuildKit != "":
			c.Changes = append(c.Changes, "BuildKit daemon "+redact.URL(n.BuildKit))
		case n.Host != "":
			c.Changes = append(c.Changes, "endpoint "+redact.URL(n.Host))
		default:
			c.Changes = append(c.Changes, "context "+n.Context)
		}
		c.Changes = append(c.Changes, "platforms "+platformList(d.Platforms, len(n.Platforms) > 0))
	default:
		for _, ch := range d.Changes {
			c.Changes = append(c.Changes, fieldChange(ch))
		}
	}
	return c
}

func fieldChange(ch contexts.Change) string {
	switch ch.Field {
	case contexts.FieldDescription:
		return fmt.Sprintf("description %q -> %q", ch.From, ch.To)
	case contexts.FieldTLS:
		return "tls material replaced"
	}
	return fmt.Sprintf("%s %s -> %s", ch.Field, ch.From, ch.To)
}

func platformList(platforms []string, given bool) string {
	s := strings.Join(platforms, ",")
	if !given {
		s += " (detected)"
	}
	return s
}

// builderChange describes a builder's diff.
func builderChange(name string, d builders.Diff) Change {
	c := Change{Kind: KindBuild, Name: name, Action: ActionUnchanged, Changes: d.Changes}
	switch {
	case d.Created:
		c.Action = ActionCreate
	case d.Changed():
		c.Action = ActionUpdate
	}
	if d.Use {
		c.Changes = append(slices.Clone(c.Changes), "use: make it the current builder")
	}
	return c
}
