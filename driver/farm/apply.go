package farm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Result is what Apply did.
type Result struct {
	Changes  []Change // the plan's changes, all made
	Warnings []string
}

// Apply makes the stores match a plan: first the nodes that differ, each with node add's probe,
// lock and rollback (contexts.Nodes.Add, Force only for a node whose endpoint changes), then the
// builders that differ, each as one create transaction (builders.Manager.Create, with Use only
// when the builder is not already current). What matches is not touched: a second apply of the
// same file writes nothing. If a node cannot be written, or the first builder that changes
// cannot, the nodes this apply wrote are put back as they were; a later builder's failure leaves
// the nodes and the builders before it applied, and says so.
func (fm *Farm) Apply(ctx context.Context, p *Plan) (Result, error) {
	res := Result{Changes: p.Changes}
	saved, err := fm.applyNodes(ctx, p, &res)
	if err != nil {
		return res, fm.putBack(ctx, p, saved, err)
	}
	var done []string
	for i, step := range p.builders {
		if !step.diff.Changed() {
			continue
		}
		if err := fm.applyBuilder(ctx, p, step, &res); err != nil {
			err = fmt.Errorf("%s: %s: %w", p.File.path, builderEntry(i, step.decl.Name), err)
			if len(done) == 0 {
				return res, fm.putBack(ctx, p, saved, err)
			}
			return res, fmt.Errorf("%w (the nodes and builders %v were applied; apply again once this is fixed)", err, done)
		}
		done = append(done, step.decl.Name)
	}
	return res, nil
}

// applyNodes writes the nodes that differ, returning each one's context as it was before.
func (fm *Farm) applyNodes(ctx context.Context, p *Plan, res *Result) ([]contexts.Saved, error) {
	var saved []contexts.Saved
	for i, step := range p.nodes {
		if step.diff.Action == contexts.DiffUnchanged {
			continue
		}
		entry := nodeEntry(i, step.opts.Name)
		s, err := fm.nodes.Save(step.opts.Name)
		if err != nil {
			return saved, fmt.Errorf("%s: %s: %w", p.File.path, entry, err)
		}
		opts := step.opts
		opts.Force = step.diff.Has(contexts.FieldEndpoint)
		if step.diff.Action == contexts.DiffUpdate && !opts.Force && !step.diff.Has(contexts.FieldTLS) && !step.diff.Has(contexts.FieldServerName) {
			opts.TLS, opts.ServerName = contexts.TLSFiles{}, "" // the stored TLS material is kept as it is
		}
		added, err := fm.nodes.Add(ctx, opts)
		if err != nil {
			return saved, fmt.Errorf("%s: %s: %w", p.File.path, entry, err)
		}
		saved = append(saved, s)
		if added.ProbeErr != nil {
			what := added.Node.Kind().Title()
			res.Warnings = append(res.Warnings, fmt.Sprintf("node %q: %s at %s did not answer (%v); written with the platforms given",
				opts.Name, what, redact.URL(added.Node.Endpoint), redact.Error(added.ProbeErr)))
		}
	}
	return saved, nil
}

// applyBuilder creates or updates one builder over the nodes as they are now stored.
func (fm *Farm) applyBuilder(ctx context.Context, p *Plan, step builderStep, res *Result) error {
	stored, err := fm.nodes.List()
	if err != nil {
		return err
	}
	var all []contexts.Node
	for _, n := range p.File.Nodes { // the file's nodes, in its order
		if i := slices.IndexFunc(stored, func(s contexts.Node) bool { return s.Name == n.Name }); i >= 0 {
			all = append(all, stored[i])
		}
	}
	spec, err := p.File.builderSpecOf(step.decl, all)
	if err != nil {
		return err
	}
	created, err := fm.builders.Create(ctx, spec, builders.CreateOptions{Use: step.diff.Use}, p.timeout)
	for node, uerr := range created.Apply.Unreachable {
		res.Warnings = append(res.Warnings, fmt.Sprintf("builder %q: node %s left, but its BuildKit container could not be removed: %v",
			step.decl.Name, node, redact.Error(uerr)))
	}
	return err
}

// putBack restores the contexts this apply wrote, newest first, after cause; it runs even when
// ctx has ended (Ctrl-C), within the plan's timeout for each lock.
func (fm *Farm) putBack(ctx context.Context, p *Plan, saved []contexts.Saved, cause error) error {
	if len(saved) == 0 {
		return fmt.Errorf("%w (nothing was written)", cause)
	}
	ctx = context.WithoutCancel(ctx)
	var errs []error
	for _, s := range slices.Backward(saved) {
		if err := fm.nodes.Restore(ctx, s, p.timeout); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w; the nodes written could not all be put back: %w", cause, errors.Join(errs...))
	}
	return fmt.Errorf("%w (the nodes written were put back as they were)", cause)
}
