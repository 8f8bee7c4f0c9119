package runner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docker/buildx/util/progress"
	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	mobyclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
)

// Runner builds images across the nodes of a builder.
type Runner struct {
	dockerCli command.Cli
	nodes     *contexts.Nodes
	builders  *builders.Manager
	registry  *registry.Client
	tester    *tester.Tester
	facts     func(mobyclient.APIClient) engineFacts // what the engine strategy's clean-up asks an engine (nil: its API)
	memo      *memo                                  // what the command's builds share (bake's targets)
}

// New returns the build runner of a Docker CLI, talking to registries through reg.
func New(dockerCli command.Cli, nodes *contexts.Nodes, b *builders.Manager, t *tester.Tester, reg *registry.Client) *Runner {
	return &Runner{dockerCli: dockerCli, nodes: nodes, builders: b, registry: reg, tester: t, memo: &memo{}}
}

// localsFor is where a build's solves find the sessions they share for their local folders: the
// command's (ShareLocals: bake's targets sending the same ones), else its own.
func (r *Runner) localsFor(p *parsed) *localShares {
	if p.ShareLocals && r.memo != nil {
		return &r.memo.locals
	}
	return &localShares{}
}

// CloseLocalShares ends the sessions the command's builds share for their local folders
// (Options.ShareLocals: bake's targets), once none of them solves any more.
func (r *Runner) CloseLocalShares() {
	if r.memo != nil {
		r.memo.locals.closeAll()
	}
}

// Result is what a build did: the plan it ran and, when pushed, the combined index.
type Result struct {
	Builder string       `json:"builder"`
	Steps   []StepResult `json:"platforms"`
	DryRun  bool         `json:"-"`
	// Index is the combined multi-platform index pushed to every tag (empty without --push).
	Index ocispec.Descriptor `json:"-"`
	Tags  []string           `json:"-"`
	// Published says where every tag points after the publish.
	Published []registry.TagState `json:"-"`
	// HistoryID is the build's record in the history ("" when it is not recorded).
	HistoryID string `json:"-"`
	// Signed says what the publish signed before the tags moved (--sign-key).
	Signed registry.Signed `json:"-"`
	// Pushed are the results pushed by digest (every platform's, or the one index of a build without
	// a builder): what merge --from-metadata publishes.
	Pushed []PushedImage `json:"-"`
	// Deferred is the publish a build with Options.DeferPublish left to its caller: no tag moved.
	Deferred *registry.PublishSet `json:"-"`
	// Deliver is the --load of such a build, for its caller to run once the tags moved; Release
	// drops what it would load. Both nil when nothing is loaded.
	Deliver func(context.Context) error `json:"-"`
	Release func()                      `json:"-"`
	// Checks are the results of --call (check, outline, targets), per platform.
	Checks     []CheckResult `json:"-"`
	Call       string        `json:"-"` // the method --call ran ("lint" for check)
	CallFormat string        `json:"-"`
	// CallIgnoreStatus: --call ...,ignorestatus=true: the method's status is not the exit code.
	CallIgnoreStatus bool `json:"-"`
	// Notes say what the build chose and why (the platforms, the builder it made).
	Notes []string `json:"-"`
	// loadAll: --load of every platform into a containerd image store (decided in preflight).
	loadAll bool
	// Warnings are for the user: what the build did differently from what was asked, and why.
	Warnings []string `json:"-"`
}

// StepResult is one platform's build.
type StepResult struct {
	plan.Step
	Digest   string        `json:"digest,omitempty"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"durationSeconds"`
	Loaded   bool          `json:"loaded,omitempty"`
	// Ref is the build's reference on its node, as buildx.build.ref names it: BUILDER/NODE/REF.
	Ref string `json:"ref,omitempty"`
	// Vertices are the steps BuildKit reported (bounded), in order; Cached/Steps count them.
	Vertices []Vertex `json:"-"`
	Cached   int      `json:"cachedSteps"`
	Steps    int      `json:"steps"`
	// warnings are what BuildKit warned about while building the step.
	warnings []*client.VertexWarning
	// provenance is the SLSA provenance BuildKit recorded (buildx.build.provenance), when asked for.
	provenance json.RawMessage
	// several: the build has other steps, on other nodes (its registry caches are scoped to it).
	several bool
	// Test is how the variant did in the test gate (build --test), when there was one.
	Test *tester.Result `json:"test,omitempty"`
	// Bases are the external images the platform's build pulls, checked in their registries.
	Bases []BaseCheck `json:"bases,omitempty"`
	// Alternatives are the other nodes that could build the platform, as routing saw them.
	Alternatives []plan.Alternative `json:"alternatives,omitempty"`
	// Reason says why routing chose the node among others (warm, least loaded, the only one
	// answering); "" when it was the only node.
	Reason string `json:"reason,omitempty"`
	// Reproduced is how the platform's second build compared (--verify-reproducible).
	Reproduced     *Reproduction `json:"reproduced,omitempty"`
	label          string        // what its progress lines start with ("": its platform)
	waited         time.Duration // a second build: how long it waited for its node's first one
	dockerfileName string
}

// Plan resolves the builder and routes every platform without building anything.
func (r *Runner) Plan(ctx context.Context, o Options) (*Result, error) {
	res, _, _, err := r.plan(ctx, o, &stdinInput{})
	return res, err
}

// plan checks the options, resolves the builder and routes every platform.
func (r *Runner) plan(ctx context.Context, o Options, stdin *stdinInput) (*Result, *parsed, builders.Target, error) {
	p, err := parseOptions(o, stdin)
	if err != nil {
		return nil, nil, builders.Target{}, err
	}
	t, err := r.builders.Resolve(ctx, p.Builder, p.Timeout)
	if err != nil {
		return nil, nil, builders.Target{}, err
	}
	if p, err = r.withBuilderSettings(o, stdin, p, t); err != nil {
		return nil, nil, builders.Target{}, err
	}
	requested := p.platforms
	if len(requested) == 0 {
		requested = plan.DefaultPlatforms(t.Nodes)
	}
	t = t.WithEmulation(requested)
	routing, err := plan.RouteWith(t.Nodes, requested, plan.RouteOptions{Strategy: p.Strategy}) // unprobed; route() weighs the facts
	if err != nil {
		return nil, nil, builders.Target{}, err
	}
	steps := routing.Steps
	if err := plan.AssignDockerfiles(steps, plan.DockerfileOptions{ContextPath: p.ContextPath, File: p.File, FileFor: p.fileFor, ContextFiles: stdin.names, RemoteFile: p.RemoteFile}); err != nil {
		return nil, nil, builders.Target{}, err
	}
	res := &Result{Builder: t.Name, DryRun: p.DryRun, Tags: p.Tags, Warnings: slices.Clone(p.warnings)} // deprecated flags, ignored caches
	if t.Fallback {
		res.Builder = "context " + t.Nodes[0].Name
	}
	res.Notes = append(res.Notes, platformsNote(t, p.platforms, requested), cacheScopeNote(p.cacheTo, requested))
	for _, s := range steps {
		if p.Strategy == plan.StrategyEngine {
			s.Strategy = plan.StrategyEngine
		}
		res.Steps = append(res.Steps, StepResult{Step: s, several: len(steps) > 1})
	}
	return res, p, t, nil
}

// Build runs every platform on its node in parallel, with buildx's progress display on out. With
// --push each platform is pushed by digest, and only when all have succeeded is the combined index
// pushed to the tags and read back to verify it holds exactly the platforms built.
func (r *Runner) Build(ctx context.Context, o Options, in io.Reader, out io.Writer) (*Result, error) {
	stdin, err := readStdin(&o, in)
	defer stdin.cleanup() // also what a failed read left
	if err != nil {
		return nil, err
	}
	res, p, t, err := r.plan(ctx, o, stdin)
	if err != nil {
		return res, err
	}
	st := &runState{p: p, t: t, res: res, out: out, locals: r.localsFor(p)} // the one run value, owned by the pipeline
	if !p.ShareLocals {
		defer st.locals.closeAll() // the build's own; the command's shared ones its caller closes
	}
	err = r.preflight(ctx, st)
	if p.DryRun {
		if rerr := r.routeDryRun(ctx, st); rerr != nil {
			return res, rerr
		}
		return res, planSecond(st) // the plan shows every base, and where each platform would be built again
	}
	if err != nil {
		return res, err
	}
	if err := needsSecondNodes(st); err != nil { // before the classic store's stand-in builder, a single node
		return res, err
	}
	if err := r.contextBuilder(ctx, st); err != nil {
		return res, err
	}
	if err := fallbackDelivers(st); err != nil {
		return res, err
	}
	release, err := r.prepare(ctx, st)
	if err != nil {
		return res, err
	}
	defer release()
	if err := planSecond(st); err != nil {
		return res, err
	}
	if len(st.second) > 0 {
		releaseSecond, err := r.holdSecond(ctx, st)
		if err != nil {
			return res, err
		}
		defer releaseSecond()
	}
	if p.call != nil {
		return res, r.call(ctx, st)
	}
	if err := r.run(ctx, st); err != nil {
		return res, err
	}
	if err := writeIIDFile(p.iidFile, res); err != nil {
		return res, err
	}
	return res, writeMetadata(p.MetadataFile, res)
}

// platformsNote says which platforms a build makes when --platform was not given, and why.
func platformsNote(t builders.Target, given, requested []string) string {
	switch {
	case len(given) > 0:
		return ""
	case t.Fallback:
		return fmt.Sprintf("no --platform and no multiarch builder: building %s, the current engine's own platform (give --platform, or add nodes: docker multiarch node add)",
			strings.Join(requested, ", "))
	}
	return fmt.Sprintf("no --platform: building every platform of builder %s's nodes: %s", t.Name, strings.Join(requested, ", "))
}

// resultDescriptor is what a push by digest produced (an image manifest, or an index with
// attestations).
func resultDescriptor(resp *client.SolveResponse) (ocispec.Descriptor, error) {
	var desc ocispec.Descriptor
	if resp == nil {
		return desc, nil
	}
	if s, ok := resp.ExporterResponse[exptypes.ExporterImageDescriptorKey]; ok {
		dt, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return desc, err
		}
		return desc, json.Unmarshal(dt, &desc)
	}
	if d, ok := resp.ExporterResponse[exptypes.ExporterImageDigestKey]; ok {
		desc.Digest = digest.Digest(d)
	}
	return desc, nil
}

var errNoDescriptor = errors.New("the build pushed no image")

func stepPlatforms(res *Result) []string {
	out := make([]string, len(res.Steps))
	for i, s := range res.Steps {
		out[i] = s.Platform
	}
	return out
}

// call runs --call (check, outline, targets) on every platform's node instead of building.
func (r *Runner) call(ctx context.Context, st *runState) error {
	p, res, out := st.p, st.res, st.out
	res.Call, res.CallFormat, res.CallIgnoreStatus = p.call.Name, p.call.Format, p.call.IgnoreStatus
	printer, err := progress.NewPrinter(context.WithoutCancel(ctx), out, p.display)
	if err != nil {
		return err
	}
	st.printer = printer
	err = r.checkAll(ctx, st)
	if werr := printer.Wait(); err == nil {
		err = werr
	}
	return err
}
