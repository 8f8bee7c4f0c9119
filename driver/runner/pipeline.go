package runner

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
)

// pipeline is the build on a multiarch builder: its stages in the order their effects happen,
// the one list of that order (docs/architecture.md shows it). A stage runs when the build's
// delivery asks for it; when one fails, the stages that ran undo what they did, newest first.
// Nothing reaches a tag before every platform is built and the gate passed, and nothing reaches
// the local engine before the tags moved. Build then writes --iidfile and --metadata-file.
var pipeline = []stage{
	{name: "solve", wanted: always, run: (*Runner).solveStage},         // every platform on its node, pushed by digest when it publishes
	{name: "reproduce", wanted: verifies, run: (*Runner).compareStage}, // --verify-reproducible: each platform against its second build
	{name: "outputs", wanted: hasOutputs, run: (*Runner).outputsStage}, // -o of several platforms, assembled on this machine
	{name: "gate", wanted: gated, run: (*Runner).gateStage},            // --test: every variant run on a node of its platform
	{name: "record", wanted: pushing, run: (*Runner).recordStage},      // what was pushed by digest (metadata, merge --from-metadata)
	{name: "publish", wanted: movesTags, run: (*Runner).publishStage, undo: (*Runner).revertStage},
	{name: "hand over", wanted: handsOver, run: (*Runner).handOverStage}, // bake: the tags to move and the load, for the caller
	{name: "load", wanted: loadsHere, run: (*Runner).loadStage},          // --load into the current engine, last
}

// fallbackPipeline is --push without a multiarch builder (fallback.go): one solve of every
// platform on the current context's BuildKit, the index pushed by digest, then as above.
var fallbackPipeline = []stage{
	{name: "solve", wanted: always, run: (*Runner).solveAllStage},
	{name: "gate", wanted: gated, run: (*Runner).gateStage},
	{name: "record", wanted: pushing, run: (*Runner).recordIndexStage},
	{name: "publish", wanted: movesTags, run: (*Runner).publishIndexStage, undo: (*Runner).revertStage},
	{name: "hand over", wanted: handsOverTags, run: (*Runner).handOverIndexStage},
}

// publishMode is what a build does with the platforms it built.
type publishMode int

const (
	keepResults publishMode = iota // nothing pushed: the nodes' cache, -o outputs, --load
	byDigest                       // --push-by-digest: pushed, no tag moves (merge --from-metadata publishes)
	deferred                       // bake: pushed, the caller moves every target's tags at once
	moveTags                       // --push: pushed, then the tags move together, verified
)

// delivery is what a build asks for beyond building: the one value the stages are chosen by.
type delivery struct {
	publish publishMode
	gate    bool // --test
	load    bool // --load
	outputs bool // -o of several platforms, assembled after the solves
	caller  bool // bake: the caller moves the tags and loads, after every target is built
	verify  bool // --verify-reproducible: every platform built twice and compared
}

// deliveryOf reads a run's delivery: what its options ask, for the platforms it builds.
func (st *runState) deliveryOf() delivery {
	p := st.p
	d := delivery{gate: p.test != nil, load: p.Load, outputs: len(st.res.Steps) > 1 && len(p.outputs) > 0, caller: p.DeferPublish,
		verify: p.VerifyReproducible != VerifyOff}
	switch {
	case !p.pushes:
	case p.PushByDigest:
		d.publish = byDigest
	case p.DeferPublish:
		d.publish = deferred
	default:
		d.publish = moveTags
	}
	return d
}

func always(delivery) bool          { return true }
func hasOutputs(d delivery) bool    { return d.outputs }
func verifies(d delivery) bool      { return d.verify }
func gated(d delivery) bool         { return d.gate && d.publish != keepResults }
func pushing(d delivery) bool       { return d.publish != keepResults }
func movesTags(d delivery) bool     { return d.publish == moveTags }
func handsOver(d delivery) bool     { return d.caller && (d.publish == deferred || d.load) }
func handsOverTags(d delivery) bool { return d.publish == deferred }
func loadsHere(d delivery) bool     { return d.load && !d.caller }

// stage is one step of the pipeline: what it does, and how to take it back.
type stage struct {
	name   string
	wanted func(delivery) bool
	run    func(*Runner, context.Context, *runState) error
	undo   func(*Runner, context.Context, *runState, error) error // nil: nothing to take back
}

// stagesFor are the stages a delivery runs, in order.
func stagesFor(d delivery, all []stage) []stage {
	var out []stage
	for _, s := range all {
		if s.wanted(d) {
			out = append(out, s)
		}
	}
	return out
}

// runStages runs stages in order; when one fails, those that ran are undone, newest first, each
// told the cause (an undo's error wraps it, saying what it put back).
func (r *Runner) runStages(ctx context.Context, stages []stage, st *runState) error {
	for i, s := range stages {
		err := s.run(r, ctx, st)
		if err == nil {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if u := stages[j].undo; u != nil {
				err = u(r, ctx, st, err)
			}
		}
		return err
	}
	return nil
}

// runState is what one run of the pipeline holds: the build's inputs (read only) and what the
// stages produced.
type runState struct {
	p        *parsed
	t        builders.Target
	res      *Result
	nodes    map[string]builder.Node
	printer  *progress.Printer
	out      io.Writer
	cleanups *tester.Cleanups
	engines  *engineClients
	files    *localFiles          // where local deliveries wait for their stage
	descs    []ocispec.Descriptor // per step: what it pushed by digest
	index    ocispec.Descriptor   // without a multiarch builder: the one index the solve pushed
	// second are the platforms' second builds (--verify-reproducible), by step; secondDescs what
	// they pushed by digest.
	second      []StepResult
	secondDescs []ocispec.Descriptor
	early       *earlyGate // --test: the variants' tests, started as their platforms are pushed
	// prepared is the index, merged while the tests run (--test and --push): the publish writes it.
	prepared <-chan preparedIndex
	locals   *localShares // the sessions its solves share for their local folders (sharedlocal.go)
}

// solveStage builds every platform (with --verify-reproducible, twice); with --test each
// variant's test starts as soon as its platform is pushed.
func (r *Runner) solveStage(ctx context.Context, st *runState) (err error) {
	if gated(st.deliveryOf()) {
		if st.early, err = r.startGate(ctx, st); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				st.early.stop(err)
			}
		}()
	}
	if len(st.second) > 0 {
		return r.solveTwice(ctx, st)
	}
	st.descs, err = r.runSteps(ctx, st.res, r.firstRunner(st))
	return err
}

// firstRunner is the step runner of the platforms' (first) builds: with an early gate, each
// pushed variant's test starts at once.
func (r *Runner) firstRunner(st *runState) stepFunc {
	run := r.stepRunner(st)
	if st.early != nil {
		return st.early.testing(r, st, run)
	}
	return run
}

func (r *Runner) outputsStage(_ context.Context, st *runState) error {
	return st.finishOutputs()
}

func (r *Runner) gateStage(ctx context.Context, st *runState) error {
	if st.early != nil {
		if movesTags(st.deliveryOf()) {
			st.prepared = r.prepareIndex(ctx, st) // it only reads: the tests decide whether it is written
		}
		return st.early.judge(st.res)
	}
	return r.gate(ctx, st)
}

func (r *Runner) recordStage(_ context.Context, st *runState) error {
	recordPushed(st)
	return nil
}

func (r *Runner) publishStage(ctx context.Context, st *runState) error {
	return progress.Write(st.printer, "[publish] the index to "+strings.Join(st.p.Tags, ", ")+", then read back", func() error {
		return r.publish(ctx, st)
	})
}

// revertStage puts back the tags the publish moved when a later stage failed (the load).
func (r *Runner) revertStage(ctx context.Context, st *runState, cause error) error {
	return r.revert(ctx, st, cause)
}

// handOverStage leaves the tags to the caller (bake moves every target's at once, then loads):
// the set to publish, and the load to run after it.
func (r *Runner) handOverStage(_ context.Context, st *runState) error {
	if st.deliveryOf().publish == deferred { // --push-by-digest never moves a tag, bake's or not
		set, err := publishSet(st)
		if err != nil {
			return err
		}
		st.res.Deferred = &set
	}
	if l := st.files.load; l != nil { // its progress display is closed by the time the caller loads
		st.res.Deliver, st.res.Release = r.deliver(st, l, nil), l.close
		st.files.load = nil
	}
	return nil
}

func (r *Runner) loadStage(ctx context.Context, st *runState) error {
	if st.files.load == nil {
		return fmt.Errorf("--load: nothing was exported to load")
	}
	return r.deliver(st, st.files.load, st.printer)(ctx)
}
