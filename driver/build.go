package driver

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

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// BuildResult is what a build did: the plan it ran and, when pushed, the combined index.
type BuildResult struct {
	Builder string       `json:"builder"`
	Steps   []StepResult `json:"platforms"`
	DryRun  bool         `json:"-"`
	// Index is the combined multi-platform index pushed to every tag (empty without --push).
	Index ocispec.Descriptor `json:"-"`
	Tags  []string           `json:"-"`
}

// StepResult is one platform's build.
type StepResult struct {
	Step
	Digest   string        `json:"digest,omitempty"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"durationSeconds"`
	Loaded   bool          `json:"loaded,omitempty"`
}

// Plan resolves the builder and routes every platform without building anything.
func (m *Manager) Plan(ctx context.Context, o BuildOptions) (*BuildResult, *parsed, target, error) {
	p, err := parseBuildOptions(o)
	if err != nil {
		return nil, nil, target{}, err
	}
	t, err := m.resolveTarget(ctx, p.Builder, p.Timeout)
	if err != nil {
		return nil, nil, target{}, err
	}
	requested := p.platforms
	if len(requested) == 0 {
		requested = DefaultPlatforms(t.nodes)
	}
	t = t.withEmulation(requested)
	steps, err := Route(t.nodes, requested)
	if err != nil {
		return nil, nil, target{}, err
	}
	if err := AssignDockerfiles(steps, DockerfileOptions{ContextPath: p.ContextPath, File: p.File, FileFor: p.fileFor}); err != nil {
		return nil, nil, target{}, err
	}
	res := &BuildResult{Builder: t.name, DryRun: p.DryRun, Tags: p.Tags}
	if t.fallback {
		res.Builder = "context " + t.nodes[0].Name
	}
	for _, s := range steps {
		if p.Strategy == StrategyEngine {
			s.Strategy = StrategyEngine
		}
		res.Steps = append(res.Steps, StepResult{Step: s})
	}
	return res, p, t, nil
}

// Build runs every platform on its node in parallel, with buildx's progress display on out. With
// --push each platform is pushed by digest, and only when all have succeeded is the combined index
// pushed to the tags and read back to verify it holds exactly the platforms built.
func (m *Manager) Build(ctx context.Context, o BuildOptions, in io.Reader, out io.Writer) (*BuildResult, error) {
	if o.ContextPath == "-" {
		dir, err := stdinContext(in)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		o.ContextPath = dir
	}
	res, p, t, err := m.Plan(ctx, o)
	if err != nil || p.DryRun {
		return res, err
	}
	if err := m.checkLoad(ctx, p, res); err != nil {
		return nil, err
	}
	if err := m.checkStepNodes(ctx, t, res, p.Timeout); err != nil {
		return nil, err
	}
	var nodes map[string]builder.Node
	if p.Strategy == StrategyBuildKit && slices.ContainsFunc(res.Steps, func(s StepResult) bool { return s.Strategy != StrategyEngine }) {
		if nodes, err = m.buildNodes(ctx, t, p.Timeout); err != nil {
			return nil, err
		}
	}
	printer, err := progress.NewPrinter(context.WithoutCancel(ctx), out, p.display)
	if err != nil {
		return nil, err
	}
	if t.fallback && p.Push {
		err = m.pushFromContext(ctx, p, res, nodes[t.nodes[0].BuildxNode], printer)
		if werr := printer.Wait(); err == nil {
			err = werr
		}
		if err != nil {
			return res, err
		}
		return res, writeMetadata(p.MetadataFile, res)
	}
	descs, err := m.runSteps(ctx, res, m.stepRunner(p, nodes, printer, out))
	if werr := printer.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return res, err
	}
	if p.Push {
		if err := m.publish(ctx, p, res, descs); err != nil {
			return res, err
		}
	}
	return res, writeMetadata(p.MetadataFile, res)
}

// checkStepNodes probes, in parallel and within the deadline, the engine of every node the plan
// uses, so an unreachable node stops the build before it starts, named with its endpoint.
func (m *Manager) checkStepNodes(ctx context.Context, t target, res *BuildResult, timeout time.Duration) error {
	if t.fallback {
		return nil // the current context answered while the target was resolved
	}
	all, err := m.nodes.List()
	if err != nil {
		return err
	}
	var used []contexts.Node
	for _, n := range all {
		if slices.ContainsFunc(res.Steps, func(s StepResult) bool { return s.Node == n.Name }) {
			used = append(used, n)
		}
	}
	if err := m.unreachable(ctx, used, timeout); err != nil {
		return fmt.Errorf("nothing built: %w", err)
	}
	return nil
}

// buildNodes loads the builder's nodes (the current context's own builder for the fallback).
func (m *Manager) buildNodes(ctx context.Context, t target, timeout time.Duration) (map[string]builder.Node, error) {
	opts := []builder.Option{builder.WithSkippedValidation()}
	if !t.fallback {
		opts = append(opts, builder.WithName(t.name))
	}
	b, err := builder.New(m.dockerCli, opts...)
	if err != nil {
		return nil, fmt.Errorf("builder %q: %w", t.name, err)
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	loaded, err := b.LoadNodes(lctx)
	if err != nil {
		return nil, fmt.Errorf("builder %q: %w", b.Name, err)
	}
	out := map[string]builder.Node{}
	for _, n := range loaded {
		key := n.Name
		if t.fallback {
			key = t.nodes[0].BuildxNode
		}
		out[key] = n
	}
	return out, nil
}

// stepRunner builds one step: on its node's BuildKit, or with the engine strategy on its engine.
func (m *Manager) stepRunner(p *parsed, nodes map[string]builder.Node, printer *progress.Printer, out io.Writer) func(context.Context, *StepResult) (ocispec.Descriptor, error) {
	return func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
		var desc ocispec.Descriptor
		pw := &detachable{Writer: progress.WithPrefix(printer, s.Platform, true)}
		err := m.watchNode(ctx, s.Node, p.Timeout, pw, func(ctx context.Context) (err error) {
			if p.Strategy == StrategyEngine || s.Strategy == StrategyEngine {
				desc, err = m.engineStep(ctx, p, s, out)
				return err
			}
			node, ok := nodes[s.BuildxNode]
			if !ok {
				return fmt.Errorf("builder node %s is not loaded", s.BuildxNode)
			}
			desc, err = m.runStep(ctx, p, s, node, pw)
			return err
		})
		if err != nil {
			return ocispec.Descriptor{}, err // desc may still be written by an abandoned step
		}
		return desc, nil
	}
}

// runSteps builds every platform in parallel; the first failure cancels the others.
func (m *Manager) runSteps(ctx context.Context, res *BuildResult, run func(context.Context, *StepResult) (ocispec.Descriptor, error)) ([]ocispec.Descriptor, error) {
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
		desc.Digest = digestOf(d)
	}
	return desc, nil
}

// checkLoad picks the platform --load loads: the one native to the current engine.
func (m *Manager) checkLoad(ctx context.Context, p *parsed, res *BuildResult) error {
	if !p.Load {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	info, err := m.dockerCli.Client().Info(ctx, infoOptions)
	if err != nil {
		return fmt.Errorf("--load: the current Docker engine does not answer: %w", err)
	}
	native, err := enginePlatform(info.Info.OSType, info.Info.Architecture)
	if err != nil {
		return err
	}
	for i := range res.Steps {
		if res.Steps[i].Platform == native {
			res.Steps[i].Loaded = true
			return nil
		}
	}
	return fmt.Errorf("--load: the build has no %s variant, the platform of the current Docker engine", native)
}

func writeMetadata(path string, res *BuildResult) error {
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
