package bake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/runner"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// Options are the flags of `docker multiarch bake`.
type Options struct {
	Files   []string // -f: bake files (HCL, JSON, compose); none: buildx's defaults
	Targets []string // targets and groups; none: "default"
	Set     []string // --set PATTERN.KEY=VALUE
	Vars    []string // --var NAME=VALUE
	// Given to buildx's resolution as its own flags (they become keys of every target).
	NoCache, Pull    bool
	Provenance, SBOM string
	Allow            []string // --allow: entitlements granted to the targets (and buildx's file access)
	// Applied to every target as build applies them (not through buildx's conditional overrides).
	Push, Load   bool
	Print        bool // buildx's resolved definition, unchanged
	DryRun       bool // every target's plan
	MetadataFile string
	Builder      string
	Progress     string
	Timeout      time.Duration
	Expected     time.Duration // how long the bake is expected to take (the last alike, from the history); 0: unknown
	Warn         func(string)  // says a warning at once, before any target builds (nil: into Result.Warnings)
	Test         string        // the test gate, for every target's variants (see runner.Options)
	TestImageCmd bool
	TestCriteria tester.Criteria
	Signer       registry.Signer // --sign-key: every pushed target signed before any tag moves
	Stdout       io.Writer       // where an output to "-" writes
}

// Result is what a bake did: buildx's definition with --print, else every target's build.
type Result struct {
	Print    []byte
	Targets  []TargetResult // by name
	Warnings []string       // what the user should know of the whole bake (targets' own are in their Build)
}

// Tags are every target's tags.
func (r *Result) Tags() []string {
	var out []string
	for _, t := range r.Targets {
		if t.Build != nil {
			out = append(out, t.Build.Tags...)
		}
	}
	return out
}

// TargetResult is one target's build; Build is nil for a target that did not start.
type TargetResult struct {
	Name  string
	Build *runner.Result
}

// buildRunner is what bakes a target: runner.Runner.
type buildRunner interface {
	Build(ctx context.Context, o runner.Options, in io.Reader, out io.Writer) (*runner.Result, error)
}

// pushChecker proves push access for every target's repositories before any is built:
// runner.Runner.
type pushChecker interface {
	CheckPushAccess(ctx context.Context, opts []runner.Options) ([]string, error)
}

var _ pushChecker = (*runner.Runner)(nil) // bake's runner proves push access: a changed signature fails here, not silently

// localSharer ends the sessions bake's targets share for their local folders: runner.Runner.
type localSharer interface{ CloseLocalShares() }

var _ localSharer = (*runner.Runner)(nil)

// platformWarmer connects ahead to the nodes some platforms will build on: runner.Runner.
type platformWarmer interface {
	WarmPlatforms(ctx context.Context, builder string, builds [][]string, timeout time.Duration)
}

var _ platformWarmer = (*runner.Runner)(nil)

// checkPushAccess asks every target's registries at once, before any target is built (a target
// whose repository refuses the push would fail only after the others built for nothing); the
// warnings are credentials that expire within the bake's expected time.
func (b *Baker) checkPushAccess(ctx context.Context, jobs []*job, expected time.Duration) ([]string, error) {
	pc, ok := b.runner.(pushChecker)
	if !ok {
		return nil, nil
	}
	var opts []runner.Options
	for _, j := range sortedJobs(jobs) {
		opts = append(opts, j.conv.opts)
	}
	if len(opts) > 0 {
		opts[0].Expected = expected
	}
	return pc.CheckPushAccess(ctx, opts)
}

// publisher publishes every target's index to its tags at once, and puts them back when a later
// step fails: registry.Client.
type publisher interface {
	PublishMany(ctx context.Context, sets []registry.PublishSet) ([]registry.Publication, error)
	Revert(ctx context.Context, pubs []registry.Publication, cause error) error
}

// Baker runs bake definitions.
type Baker struct {
	runner  buildRunner
	publish func(timeout time.Duration) publisher
	resolve func(ctx context.Context, args []string, stdin io.Reader) ([]byte, error)
}

// New returns the baker of a Docker CLI whose configuration directory is configDir.
func New(r *runner.Runner, reg *registry.Client, configDir string) *Baker {
	return &Baker{
		runner:  r,
		publish: func(d time.Duration) publisher { return reg.WithTimeout(d) },
		resolve: func(ctx context.Context, args []string, stdin io.Reader) ([]byte, error) {
			return runBuildx(ctx, configDir, args, stdin)
		},
	}
}

// Run resolves the definition with buildx and, unless it only prints it, builds every target:
// all in parallel (a target waits for the targets it uses as contexts), every platform pushed by
// digest, then every target's tags moved in one transaction.
func (b *Baker) Run(ctx context.Context, o Options, stdin io.Reader, out io.Writer) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := runner.RemoveStaleMetadata(o.MetadataFile); err != nil { // a failed bake leaves no earlier results
		return nil, err
	}
	rctx, cancel := context.WithTimeoutCause(ctx, o.Timeout, fmt.Errorf("docker buildx bake --print did not finish within --timeout %s", o.Timeout))
	dt, err := b.resolve(rctx, resolveArgs(o), stdinFor(o, stdin))
	cancel()
	if err != nil {
		return nil, err
	}
	if o.Print {
		return &Result{Print: dt}, nil
	}
	def, err := Parse(dt)
	if err != nil {
		return nil, err
	}
	if err := checkDefinitionFS(def, o.Allow); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "multiarch-bake-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	jobs, err := newJobs(def, o, dir)
	if err != nil {
		return nil, err
	}
	markSharedFolders(jobs)
	if o.Signer != nil && !slices.ContainsFunc(jobs, func(j *job) bool { return j.conv.pushes }) {
		return nil, errors.New("--sign-key signs what is pushed, and no target pushes: give --push")
	}
	res := &Result{}
	if o.DryRun {
		err = b.planAll(ctx, jobs)
		return res.collect(jobs), err
	}
	b.warm(ctx, jobs, o)
	res.Warnings = outputWarnings(jobs)
	setDisplay(jobs, o.Progress)
	warnings, err := b.checkPushAccess(ctx, jobs, o.Expected)
	for _, w := range warnings {
		if o.Warn != nil {
			o.Warn(w) // before any target builds
		} else {
			res.Warnings = append(res.Warnings, w)
		}
	}
	if err != nil {
		return res.collect(jobs), err
	}
	err = b.runAll(ctx, jobs, o, dir, out)
	return res.collect(jobs), err
}

// checkDefinitionFS refuses a definition whose targets read or write outside the working
// directory without --allow (checkFS), before anything runs.
func checkDefinitionFS(def *Definition, allow []string) error {
	needs := &fsNeeds{read: map[string]bool{}, write: map[string]bool{}}
	for _, name := range def.Names() {
		needs.add(def.Target[name])
	}
	return checkFS(needs, allow)
}

// warm starts connecting to the nodes the targets' platforms choose among while the push access
// is checked and the targets planned (runner.WarmPlatforms): the first solves then find their
// nodes connected, about 15 ms sooner on the farm.
func (b *Baker) warm(ctx context.Context, jobs []*job, o Options) {
	w, ok := b.runner.(platformWarmer)
	if !ok {
		return
	}
	builds := make([][]string, len(jobs))
	for i, j := range jobs {
		builds[i] = j.conv.opts.Platforms
	}
	w.WarmPlatforms(ctx, o.Builder, builds, o.Timeout)
}

// runAll builds every target, then publishes every target's tags in one transaction, then loads
// (--load last: after every tag moved; a failed load puts the tags back), then writes metadata.
func (b *Baker) runAll(ctx context.Context, jobs []*job, o Options, dir string, out io.Writer) error {
	defer releaseAll(jobs)
	if err := b.buildAll(ctx, jobs, o, dir, out); err != nil {
		return fmt.Errorf("%w\nnothing published: every target's tags are as they were", err)
	}
	if err := b.publishAll(ctx, jobs, o.Timeout); err != nil {
		return err
	}
	if err := deliverAll(ctx, jobs); err != nil {
		return b.revertAll(ctx, jobs, o.Timeout, err)
	}
	return writeMetadata(o.MetadataFile, jobs)
}

func (o *Options) check() error {
	if err := deadline.CheckTimeout(o.Timeout); err != nil { // --print waits for buildx too
		return err
	}
	if o.Print && o.DryRun {
		return errors.New("give --print (buildx's definition) or --dry-run (the plan of every target), not both")
	}
	if o.Print || o.DryRun {
		o.MetadataFile = "" // nothing is built: an earlier file stays
	}
	if o.Print {
		return nil
	}
	if o.MetadataFile != "" {
		if st, err := os.Stat(filepath.Dir(o.MetadataFile)); err != nil || !st.IsDir() {
			return fmt.Errorf("invalid --metadata-file %q: directory %s does not exist", o.MetadataFile, filepath.Dir(o.MetadataFile))
		}
	}
	return nil
}

// collect lists every target's result, by name.
func (r *Result) collect(jobs []*job) *Result {
	for _, j := range sortedJobs(jobs) {
		r.Targets = append(r.Targets, TargetResult{Name: j.name, Build: j.res})
	}
	return r
}

// outputWarnings name the targets whose results stay in the nodes' build cache.
func outputWarnings(jobs []*job) []string {
	var out []string
	for _, j := range sortedJobs(jobs) {
		if o := j.conv.opts; len(o.Outputs)+len(o.Entries.Outputs) == 0 && !o.Load && !j.conv.cacheOnly && !j.usedAsContext {
			out = append(out, fmt.Sprintf("target %s: no --push, --load or output: the results stay in the nodes' build cache", j.name))
		}
	}
	return out
}
