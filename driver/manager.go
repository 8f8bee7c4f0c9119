package driver

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/bake"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/farm"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker-multiarch/docker-multiarch/driver/runner"
	"github.com/docker-multiarch/docker-multiarch/driver/sign"
	"github.com/docker-multiarch/docker-multiarch/driver/tester"
	"github.com/docker-multiarch/docker-multiarch/internal/history"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// DefaultDiffLimit is how many differences --verify-reproducible lists per platform by default.
const DefaultDiffLimit = runner.DefaultDiffLimit

// The types the commands use, from the rooms that own them.
type (
	BuildOptions    = runner.Options
	BuildxFlags     = runner.BuildxFlags
	BuildResult     = runner.Result
	StepResult      = runner.StepResult
	Reproduction    = runner.Reproduction
	RebuildOptions  = runner.RebuildOptions
	RebuildResult   = runner.RebuildResult
	Rebuilt         = runner.Rebuilt
	ImageDiff       = registry.ImageDiff
	FileDiff        = registry.FileDiff
	FileState       = registry.FileState
	BuilderSpec     = builders.BuilderSpec
	NodeSpec        = builders.NodeSpec
	ApplyResult     = builders.ApplyResult
	CreateOptions   = builders.CreateOptions
	CreateResult    = builders.CreateResult
	BuilderInfo     = builders.BuilderInfo
	BuilderNodeInfo = builders.BuilderNodeInfo
	BootResult      = builders.BootResult
	RemoveResult    = builders.RemoveResult
	ImageInfo       = registry.ImageInfo
	ImageEntry      = registry.ImageEntry
	MergeOptions    = registry.MergeOptions
	MergeResult     = registry.MergeResult
	MergeEntry      = registry.MergeEntry
	TestOptions     = tester.Options
	TestCriteria    = tester.Criteria
	TestResult      = tester.Result
	BaseCheck       = runner.BaseCheck
	CheckResult     = runner.CheckResult
	FarmPlan        = farm.Plan
	FarmChange      = farm.Change
	FarmResult      = farm.Result
	BakeOptions     = bake.Options
	BakeResult      = bake.Result
	Signer          = registry.Signer
	Signed          = registry.Signed
	BuilderSettings = builders.Settings
	CacheUsage      = builders.CacheUsage
	CacheRecord     = builders.CacheRecord
	PruneOptions    = builders.PruneOptions
	PruneResult     = builders.PruneResult
	VerifyOptions   = registry.VerifyOptions
	Verdict         = registry.Verdict
)

// LoadPublicKey reads a PEM public key (a file or env://VAR) for verify --key.
func LoadPublicKey(ref string) (sign.Verifier, error) { return sign.LoadPublicKey(ref) }

// DiskUsage is every node's BuildKit cache of a builder (see builders.Manager.DiskUsage).
func (m *Manager) DiskUsage(ctx context.Context, builder string, verbose bool, timeout time.Duration) ([]CacheUsage, error) {
	return m.builders.DiskUsage(ctx, builder, verbose, timeout)
}

// Prune prunes every node's BuildKit cache of a builder (see builders.Manager.Prune).
func (m *Manager) Prune(ctx context.Context, builder string, o PruneOptions, timeout time.Duration) ([]PruneResult, error) {
	return m.builders.Prune(ctx, builder, o, timeout)
}

// Verify checks an image's signatures and attestations (see registry.Client.VerifyImage).
func (m *Manager) Verify(ctx context.Context, o VerifyOptions) ([]Verdict, error) {
	return m.registry.VerifyImage(ctx, o)
}

// DiffLines says what differs between two images, a line each (--verify-reproducible, rebuild).
var DiffLines = runner.DiffLines

// Rebuild rebuilds every platform of an existing tag from its provenance and compares the images
// (see runner.Runner.Rebuild); no tag moves.
func (m *Manager) Rebuild(ctx context.Context, o RebuildOptions, out io.Writer) (*RebuildResult, error) {
	return m.runner.Rebuild(ctx, o, out)
}

// LoadSignKey reads a cosign private key (a file or env://VAR; its password from
// COSIGN_PASSWORD) for --sign-key, before anything runs.
func LoadSignKey(ref string) (Signer, error) { return sign.LoadKey(ref) }

// DefaultBuilder is the name of the builder `create` makes when none is given.
const DefaultBuilder = builders.DefaultBuilder

// SelectNodes picks a builder's nodes and the platforms they emulate (see builders.SelectNodes).
func SelectNodes(all []contexts.Node, names, emulate []string) ([]NodeSpec, error) {
	return builders.SelectNodes(all, names, emulate)
}

// ParseIndexAnnotations parses --annotation values for a published index.
func ParseIndexAnnotations(values []string) (map[string]string, error) {
	return registry.ParseIndexAnnotations(values)
}

// CheckCacheRef checks create --cache-ref before anything is written.
func CheckCacheRef(ref string) error { return builders.CheckCacheRef(ref) }

// ValidateBuilderName checks a builder name the way buildx's store does.
func ValidateBuilderName(name string) (string, error) { return builders.ValidateBuilderName(name) }

// Manager is what the commands call: builders, builds and registry work, each done in its room
// (driver/builders, driver/runner, driver/registry; routing in driver/plan).
type Manager struct {
	nodes    *contexts.Nodes
	builders *builders.Manager
	runner   *runner.Runner
	registry *registry.Client
	tester   *tester.Tester
	farm     *farm.Farm
	bake     *bake.Baker
	history  *history.Store
}

// NewManager returns the driver of a Docker CLI.
func NewManager(dockerCli command.Cli) *Manager {
	nodes := nodeService(dockerCli) // engines and BuildKit daemons
	b := builders.New(dockerCli, nodes)
	reg := registry.New(dockerCli.ConfigFile())
	t := tester.New(dockerCli, b, reg)
	r := runner.New(dockerCli, nodes, b, t, reg)
	var configDir string
	if f := dockerCli.ConfigFile().Filename; f != "" {
		configDir = filepath.Dir(f)
	}
	return &Manager{nodes: nodes, builders: b, runner: r, registry: reg, tester: t, farm: farm.New(nodes, b), bake: bake.New(r, reg, configDir),
		history: historyStore(dockerCli.ConfigFile().Filename)}
}

// Apply creates or updates a builder to match spec (see builders.Manager.Apply).
func (m *Manager) Apply(ctx context.Context, spec BuilderSpec, timeout time.Duration) (ApplyResult, error) {
	return m.builders.Apply(ctx, spec, timeout)
}

// Create creates or updates a builder, then optionally makes it current and boots it, as one
// transaction: a failed or interrupted step puts back everything create wrote (see
// builders.Manager.Create).
func (m *Manager) Create(ctx context.Context, spec BuilderSpec, opts CreateOptions, timeout time.Duration) (CreateResult, error) {
	return m.builders.Create(ctx, spec, opts, timeout)
}

// PlanFarm reads a farm file ("-": stdin) and says what applying it would change, writing
// nothing (see farm.Farm.Plan); the files it names outside its folder need allow (--allow
// fs.read=PATH, see farm.File.CheckPaths).
func (m *Manager) PlanFarm(ctx context.Context, path string, stdin io.Reader, allow []string, timeout time.Duration) (*FarmPlan, error) {
	f, err := farm.Load(path, stdin, allow)
	if err != nil {
		return nil, err
	}
	return m.farm.Plan(ctx, f, timeout)
}

// ApplyFarm makes the nodes and builders match a plan (see farm.Farm.Apply).
func (m *Manager) ApplyFarm(ctx context.Context, plan *FarmPlan) (FarmResult, error) {
	return m.farm.Apply(ctx, plan)
}

// Use makes the builder the current buildx builder of the current Docker context.
func (m *Manager) Use(name string) error { return m.builders.Use(name) }

// List returns the multiarch builders with their nodes' state.
func (m *Manager) List(ctx context.Context, timeout time.Duration) ([]BuilderInfo, error) {
	return m.builders.List(ctx, timeout)
}

// Remove deletes a multiarch builder and its BuildKit containers.
func (m *Manager) Remove(ctx context.Context, name string, timeout time.Duration) (RemoveResult, error) {
	return m.builders.Remove(ctx, name, timeout)
}

// CheckNodesUnused refuses nodes that a buildx builder still has.
func (m *Manager) CheckNodesUnused(names []string) error { return m.builders.CheckNodesUnused(names) }

// Build runs a build (see runner.Runner.Build), recorded in the history unless it only plans
// (--dry-run) or asks (--call).
func (m *Manager) Build(ctx context.Context, o BuildOptions, in io.Reader, out io.Writer) (*BuildResult, error) {
	key, runKey := buildKey(o), history.Key(reposOf(o.Tags)...)
	facts := m.history.Find("build", runKey, key) // the newest records only: the expected time, and
	o.Warm = facts.Warm                           // where this build's cache is (--dry-run shows the choice too)
	o.CacheKey = portableKey(o)                   // and, without a record here, nodes' BuildKit histories may say
	if o.DryRun || (o.Call != "" && o.Call != "build") {
		return m.runner.Build(ctx, o, in, out)
	}
	rec := m.begin("build", runKey)
	rec.rec.BuildKey, rec.masks = key, argValues(o.BuildArgs)
	o.Expected, o.RunID = facts.Expected, rec.rec.ID
	res, err := m.runner.Build(ctx, o, in, out)
	if res == nil {
		rec.end("", o.Tags, err, nil)
		return res, err
	}
	res.Warnings = append(res.Warnings, rec.end(res.Builder, o.Tags, err, buildDetails(res, ""))...)
	res.HistoryID = rec.rec.ID
	return res, err
}

// Bake builds the targets of a bake definition, resolved by buildx, each through build's path,
// and publishes every target's tags in one transaction (see bake.Baker.Run).
func (m *Manager) Bake(ctx context.Context, o BakeOptions, in io.Reader, out io.Writer) (*BakeResult, error) {
	if o.Print || o.DryRun {
		return m.bake.Run(ctx, o, in, out)
	}
	var key []string
	for _, f := range o.Files {
		key = append(key, "file:"+redact.URL(f))
	}
	for _, t := range o.Targets { // the first may be a remote definition's URL, with a token in it
		key = append(key, "target:"+redact.URL(t))
	}
	rec := m.begin("bake", history.Key(key...))
	o.Expected = m.history.Find("bake", rec.rec.Key, "").Expected
	res, err := m.bake.Run(ctx, o, in, out)
	if res == nil {
		rec.end(o.Builder, nil, err, nil)
		return res, err
	}
	res.Warnings = append(res.Warnings, rec.end(o.Builder, res.Tags(), err, func(r *HistoryRecord) {
		for _, t := range res.Targets {
			if t.Build != nil {
				buildDetails(t.Build, t.Name)(r)
			}
		}
	})...)
	return res, err
}

// Inspect lists the platforms behind a reference.
func (m *Manager) Inspect(ctx context.Context, ref string, timeout time.Duration) (ImageInfo, error) {
	return m.registry.WithTimeout(timeout).Inspect(ctx, ref)
}

// Merge combines existing images into one verified index on every tag. fromMetadata are the
// --metadata-file of split builds (build --push-by-digest), files or directories: their pushed
// results join the sources, and a platform missing or doubled across them stops the merge.
func (m *Manager) Merge(ctx context.Context, o MergeOptions, fromMetadata []string) (MergeResult, error) {
	if err := checkMergeSources(o.Sources); err != nil {
		return MergeResult{}, err
	}
	if len(fromMetadata) > 0 {
		split, err := runner.ReadSplit(fromMetadata)
		if err != nil {
			return MergeResult{}, err
		}
		o.Sources = append(split.Sources, o.Sources...)
	}
	if o.DryRun {
		return m.registry.Merge(ctx, o)
	}
	rec := m.begin("merge", history.Key(reposOf(o.Tags)...)) // a merge has no expected time to check against
	res, err := m.registry.Merge(ctx, o)
	_ = rec.end("", o.Tags, err, func(r *HistoryRecord) { // a merge has no warnings to carry one: its record is best effort
		r.Index, r.Signed = res.Index.Digest.String(), res.Signed.Manifests
		for _, e := range res.Entries {
			r.Platforms = append(r.Platforms, history.PlatformRecord{Platform: e.Platform, Digest: e.Digest})
		}
		for _, t := range res.Tags {
			r.TagMoves = append(r.TagMoves, history.TagRecord{Tag: t.Tag, Before: string(t.Before), After: string(t.Now), Note: t.Note})
		}
	})
	return res, err
}

// Test runs every variant of an image on a node that runs its platform (see tester.Tester.Test).
func (m *Manager) Test(ctx context.Context, o TestOptions) ([]TestResult, error) {
	return m.tester.Test(ctx, o)
}
