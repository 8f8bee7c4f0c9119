package runner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	"github.com/docker/cli/cli/command"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	mobyclient "github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// Runner builds images across the nodes of a builder.
type Runner struct {
	dockerCli command.Cli
	nodes     *contexts.Nodes
	builders  *builders.Manager
	registry  *registry.Client
}

// New returns the build runner of a Docker CLI.
func New(dockerCli command.Cli, nodes *contexts.Nodes, b *builders.Manager) *Runner {
	return &Runner{dockerCli: dockerCli, nodes: nodes, builders: b, registry: registry.New(dockerCli.ConfigFile())}
}

// Result is what a build did: the plan it ran and, when pushed, the combined index.
type Result struct {
	Builder string       `json:"builder"`
	Steps   []StepResult `json:"platforms"`
	DryRun  bool         `json:"-"`
	// Index is the combined multi-platform index pushed to every tag (empty without --push).
	Index ocispec.Descriptor `json:"-"`
	Tags  []string           `json:"-"`
}

// StepResult is one platform's build.
type StepResult struct {
	plan.Step
	Digest   string        `json:"digest,omitempty"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"durationSeconds"`
	Loaded   bool          `json:"loaded,omitempty"`
}

// Plan resolves the builder and routes every platform without building anything.
func (r *Runner) Plan(ctx context.Context, o Options) (*Result, error) {
	res, _, _, err := r.plan(ctx, o)
	return res, err
}

// plan checks the options, resolves the builder and routes every platform.
func (r *Runner) plan(ctx context.Context, o Options) (*Result, *parsed, builders.Target, error) {
	p, err := parseOptions(o)
	if err != nil {
		return nil, nil, builders.Target{}, err
	}
	t, err := r.builders.Resolve(ctx, p.Builder, p.Timeout)
	if err != nil {
		return nil, nil, builders.Target{}, err
	}
	requested := p.platforms
	if len(requested) == 0 {
		requested = plan.DefaultPlatforms(t.Nodes)
	}
	t = t.WithEmulation(requested)
	steps, err := plan.Route(t.Nodes, requested)
	if err != nil {
		return nil, nil, builders.Target{}, err
	}
	if err := plan.AssignDockerfiles(steps, plan.DockerfileOptions{ContextPath: p.ContextPath, File: p.File, FileFor: p.fileFor}); err != nil {
		return nil, nil, builders.Target{}, err
	}
	res := &Result{Builder: t.Name, DryRun: p.DryRun, Tags: p.Tags}
	if t.Fallback {
		res.Builder = "context " + t.Nodes[0].Name
	}
	for _, s := range steps {
		if p.Strategy == plan.StrategyEngine {
			s.Strategy = plan.StrategyEngine
		}
		res.Steps = append(res.Steps, StepResult{Step: s})
	}
	return res, p, t, nil
}

// Build runs every platform on its node in parallel, with buildx's progress display on out. With
// --push each platform is pushed by digest, and only when all have succeeded is the combined index
// pushed to the tags and read back to verify it holds exactly the platforms built.
func (r *Runner) Build(ctx context.Context, o Options, in io.Reader, out io.Writer) (*Result, error) {
	if o.ContextPath == "-" {
		dir, err := stdinContext(in)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		o.ContextPath = dir
	}
	res, p, t, err := r.plan(ctx, o)
	if err != nil || p.DryRun {
		return res, err
	}
	if err := r.checkLoad(ctx, p, res); err != nil {
		return nil, err
	}
	if err := r.checkStepNodes(ctx, t, res, p.Timeout); err != nil {
		return nil, err
	}
	var nodes map[string]builder.Node
	if p.Strategy == plan.StrategyBuildKit && slices.ContainsFunc(res.Steps, func(s StepResult) bool { return s.Strategy != plan.StrategyEngine }) {
		if nodes, err = r.builders.BuildNodes(ctx, t, p.Timeout); err != nil {
			return nil, err
		}
	}
	printer, err := progress.NewPrinter(context.WithoutCancel(ctx), out, p.display)
	if err != nil {
		return nil, err
	}
	if t.Fallback && p.Push {
		err = r.pushFromContext(ctx, p, res, nodes[t.Nodes[0].BuildxNode], printer)
		if werr := printer.Wait(); err == nil {
			err = werr
		}
		if err != nil {
			return res, err
		}
		return res, writeMetadata(p.MetadataFile, res)
	}
	descs, err := r.runSteps(ctx, res, r.stepRunner(p, nodes, printer, out))
	if werr := printer.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return res, err
	}
	if p.Push {
		if err := r.publish(ctx, p, res, descs); err != nil {
			return res, err
		}
	}
	return res, writeMetadata(p.MetadataFile, res)
}

// publish combines the platforms' results into one index on every tag, verified.
func (r *Runner) publish(ctx context.Context, p *parsed, res *Result, descs []ocispec.Descriptor) error {
	var want []string
	for i, d := range descs {
		if d.Digest == "" {
			return fmt.Errorf("%s on node %s: %w", res.Steps[i].Platform, res.Steps[i].Node, errNoDescriptor)
		}
		want = append(want, res.Steps[i].Platform)
	}
	idx, err := r.registry.PublishBuild(ctx, p.repos[0], descs, want, p.Tags)
	if err != nil {
		return err
	}
	res.Index = idx
	return nil
}

// checkStepNodes probes, in parallel and within the deadline, the engine of every node the plan
// uses, so an unreachable node stops the build before it starts, named with its endpoint.
func (r *Runner) checkStepNodes(ctx context.Context, t builders.Target, res *Result, timeout time.Duration) error {
	if t.Fallback {
		return nil // the current context answered while the target was resolved
	}
	all, err := r.nodes.List()
	if err != nil {
		return err
	}
	var used []contexts.Node
	for _, n := range all {
		if slices.ContainsFunc(res.Steps, func(s StepResult) bool { return s.Node == n.Name }) {
			used = append(used, n)
		}
	}
	if err := r.builders.Unreachable(ctx, used, timeout); err != nil {
		return fmt.Errorf("nothing built: %w", err)
	}
	return nil
}

// stepRunner builds one step: on its node's BuildKit, or with the engine strategy on its engine.
func (r *Runner) stepRunner(p *parsed, nodes map[string]builder.Node, printer *progress.Printer, out io.Writer) func(context.Context, *StepResult) (ocispec.Descriptor, error) {
	return func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
		var desc ocispec.Descriptor
		pw := &detachable{Writer: progress.WithPrefix(printer, s.Platform, true)}
		err := r.watchNode(ctx, s.Node, p.Timeout, pw, func(ctx context.Context) (err error) {
			if p.Strategy == plan.StrategyEngine || s.Strategy == plan.StrategyEngine {
				desc, err = r.engineStep(ctx, p, s, out)
				return err
			}
			node, ok := nodes[s.BuildxNode]
			if !ok {
				return fmt.Errorf("builder node %s is not loaded", s.BuildxNode)
			}
			desc, err = r.runStep(ctx, p, s, node, pw)
			return err
		})
		if err != nil {
			return ocispec.Descriptor{}, err // desc may still be written by an abandoned step
		}
		return desc, nil
	}
}

// runSteps builds every platform in parallel; the first failure cancels the others.
func (r *Runner) runSteps(ctx context.Context, res *Result, run func(context.Context, *StepResult) (ocispec.Descriptor, error)) ([]ocispec.Descriptor, error) {
	descs := make([]ocispec.Descriptor, len(res.Steps))
	eg, ctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for i := range res.Steps {
		s := &res.Steps[i]
		eg.Go(func() error {
			start := time.Now()
			desc, err := run(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			s.Duration = time.Since(start)
			s.Seconds = s.Duration.Round(time.Millisecond).Seconds()
			if err != nil {
				return fmt.Errorf("%s on node %s: %w", s.Platform, s.Node, err)
			}
			descs[i] = desc
			s.Digest = desc.Digest.String()
			return nil
		})
	}
	return descs, eg.Wait()
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

// checkLoad picks the platform --load loads: the one native to the current engine.
func (r *Runner) checkLoad(ctx context.Context, p *parsed, res *Result) error {
	if !p.Load {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	info, err := r.dockerCli.Client().Info(ctx, mobyclient.InfoOptions{})
	if err != nil {
		return fmt.Errorf("--load: the current Docker engine does not answer: %w", err)
	}
	np, err := contexts.EnginePlatform(info.Info.OSType, info.Info.Architecture)
	if err != nil {
		return err
	}
	native := platforms.Format(np)
	for i := range res.Steps {
		if res.Steps[i].Platform == native {
			res.Steps[i].Loaded = true
			return nil
		}
	}
	return fmt.Errorf("--load: the build has no %s variant, the platform of the current Docker engine", native)
}

func writeMetadata(path string, res *Result) error {
	if path == "" {
		return nil
	}
	md := map[string]any{"multiarch.platforms": res.Steps, "multiarch.builder": res.Builder}
	if res.Index.Digest != "" {
		md[exptypes.ExporterImageDigestKey] = res.Index.Digest.String()
		md[exptypes.ExporterImageDescriptorKey] = res.Index
		md["image.name"] = strings.Join(res.Tags, ",")
	}
	dt, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, dt, 0o644); err != nil {
		return fmt.Errorf("writing --metadata-file: %w", err)
	}
	return nil
}

var errNoDescriptor = errors.New("the build pushed no image")
