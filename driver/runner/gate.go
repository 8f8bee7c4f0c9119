package runner

import (
	"context"
	"fmt"

	"github.com/docker/buildx/util/progress"

	"github.com/docker-multiarch/docker-multiarch/driver/tester"
)

// gate is the test gate: after every platform was pushed by digest and before any tag moves, each
// variant runs on a node native to its platform (else one that emulates it); one failure and no
// tag is written. descs are the steps' pushed results, in step order. The test containers are
// removed while the tags move (cleanups), before the build returns.
func (r *Runner) gate(ctx context.Context, st *runState) error {
	p, res, pw := st.p, st.res, st.printer
	if p.test == nil {
		return nil
	}
	return progress.Write(pw, fmt.Sprintf("[test] every variant on a node that runs its platform (%d)", len(res.Steps)), func() error {
		return r.runGate(ctx, st)
	})
}

func (r *Runner) runGate(ctx context.Context, st *runState) error {
	p, t, res, descs, cleanups := st.p, st.t, st.res, st.descs, st.cleanups
	variants := make([]tester.Variant, len(res.Steps))
	plats := make([]string, len(res.Steps))
	for i, s := range res.Steps {
		variants[i] = tester.Variant{Platform: s.Platform, Image: p.repos[0] + "@" + descs[i].Digest.String()}
		plats[i] = s.Platform
	}
	steps, err := tester.Route(t, plats)
	if err != nil {
		return fmt.Errorf("testing the variants: %w: no tag written", err)
	}
	assigns := make([]tester.Assignment, len(steps))
	for i, s := range steps {
		assigns[i] = tester.Assignment{Variant: variants[i], Node: s.Node, Emulated: s.Emulated}
	}
	results, err := tester.Run(ctx, r.dockerCli, assigns, *p.test, cleanups)
	for i := range results {
		res.Steps[i].Test = &results[i]
	}
	if err != nil {
		return fmt.Errorf("%w: no tag written", err)
	}
	return nil
}
