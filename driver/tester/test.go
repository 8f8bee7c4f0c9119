package tester

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// Options are the flags of `docker multiarch test`.
type Options struct {
	Ref       string
	Platforms []string // as given; empty: every platform of the reference
	Builder   string   // whose nodes run the variants (default: as build picks it)
	Criteria
	NodeTimeout time.Duration // how long a node or the registry may take to answer
}

// Tester runs variants on the nodes of a builder.
type Tester struct {
	dockerCli command.Cli
	builders  *builders.Manager
	registry  *registry.Client
}

// New returns the tester of a Docker CLI.
func New(dockerCli command.Cli, b *builders.Manager, reg *registry.Client) *Tester {
	return &Tester{dockerCli: dockerCli, builders: b, registry: reg}
}

// Test runs every variant of a reference (or the platforms asked for) on a node native to it,
// else on one that emulates it, all in parallel.
func (t *Tester) Test(ctx context.Context, o Options) ([]Result, error) {
	if err := t.check(&o); err != nil {
		return nil, err
	}
	found, err := t.registry.WithTimeout(o.NodeTimeout).Variants(ctx, o.Ref)
	if err != nil {
		return nil, err
	}
	variants, err := pick(found, o.Platforms, o.Ref)
	if err != nil {
		return nil, err
	}
	assigns, err := t.Assign(ctx, o.Builder, variants, o.NodeTimeout)
	if err != nil {
		return nil, err
	}
	return Run(ctx, t.dockerCli, assigns, o.Criteria, nil)
}

func (t *Tester) check(o *Options) error {
	if o.Ref == "" {
		return fmt.Errorf("test needs an image reference")
	}
	if err := deadline.CheckTimeout(o.NodeTimeout); err != nil {
		return err
	}
	plats, err := contexts.ParsePlatforms(o.Platforms)
	if err != nil {
		return err
	}
	o.Platforms = plats
	return o.Criteria.Check()
}

// pick keeps the variants of the platforms asked for; a platform the reference lacks is named.
func pick(variants []registry.Variant, want []string, ref string) ([]Variant, error) {
	var have []string
	for _, v := range variants {
		have = append(have, v.Platform)
	}
	for _, p := range want {
		if !slices.Contains(have, p) {
			return nil, fmt.Errorf("%s has no %s variant (it has %s)", ref, p, strings.Join(have, ", "))
		}
	}
	var out []Variant
	for _, v := range variants {
		if len(want) == 0 || slices.Contains(want, v.Platform) {
			out = append(out, Variant{Platform: v.Platform, Image: v.Ref})
		}
	}
	return out, nil
}

// Assign routes each variant to a node of the builder (as build routes platforms): native first,
// else one that emulates it; without a multiarch builder the current context runs them all.
func (t *Tester) Assign(ctx context.Context, builder string, variants []Variant, timeout time.Duration) ([]Assignment, error) {
	target, err := t.builders.Resolve(ctx, builder, timeout)
	if err != nil {
		return nil, err
	}
	var plats []string
	for _, v := range variants {
		plats = append(plats, v.Platform)
	}
	steps, err := Route(target, plats)
	if err != nil {
		return nil, err
	}
	out := make([]Assignment, len(variants))
	for i, v := range variants {
		out[i] = Assignment{Variant: v, Node: steps[i].Node, Emulated: steps[i].Emulated}
	}
	return out, nil
}

// Route places each platform's variant on an engine of the builder that runs it: native first,
// else one that emulates it. BuildKit daemons run builds, not containers: they are left out.
func Route(target builders.Target, plats []string) ([]plan.Step, error) {
	runners := slices.DeleteFunc(target.WithEmulation(plats).Nodes, func(n plan.RouteNode) bool { return n.BuildKit })
	return plan.Route(runners, plats)
}
