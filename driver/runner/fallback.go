package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/util/progress"
	"github.com/moby/buildkit/client"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The stages of --push without a multiarch builder (fallbackPipeline): the current context's own
// BuildKit builds every platform in one solve and pushes the index by digest (never a tag); the
// gate runs each platform's manifest of it; the index is then published to the tags like any
// build's, together or not at all, and verified, or handed to the caller (bake).

// fallbackDelivers refuses, before anything runs, what a push without a multiarch builder cannot
// deliver: its one solve pushes the index by digest and nothing else (--load and -o were skipped
// without a word before).
func fallbackDelivers(st *runState) error {
	p := st.p
	if !st.t.Fallback || !p.pushes || p.Strategy != plan.StrategyBuildKit || (!p.Load && len(p.outputs) == 0) {
		return nil
	}
	what := "--load"
	if !p.Load {
		what = "-o type=" + p.outputs[0].Type
	}
	return fmt.Errorf("%s with a push needs a multiarch builder (docker multiarch node add, docker multiarch create): without one the current context's BuildKit pushes every platform in one solve, and delivers nothing else", what)
}

// solveAllStage builds every platform in one solve and pushes the index by digest.
func (r *Runner) solveAllStage(ctx context.Context, st *runState) error {
	first := st.res.Steps[0]
	for _, s := range st.res.Steps[1:] {
		if s.Dockerfile != first.Dockerfile {
			return errors.New("per-platform Dockerfiles need a multiarch builder (docker multiarch create) to push one tag")
		}
	}
	desc, err := r.solveAllByDigest(ctx, st, st.nodes[st.t.Nodes[0].BuildxNode], stepPlatforms(st.res))
	if err != nil {
		return err
	}
	st.index = desc
	st.descs, err = r.platformResults(ctx, st, desc)
	return err
}

// recordIndexStage records the one index pushed by digest (metadata, merge --from-metadata).
func (r *Runner) recordIndexStage(_ context.Context, st *runState) error {
	st.res.Pushed = []PushedImage{{Repositories: st.p.repos, Digest: st.index.Digest.String(), Platforms: stepPlatforms(st.res)}}
	return nil
}

// publishIndexStage moves the tags to the pushed index.
func (r *Runner) publishIndexStage(ctx context.Context, st *runState) error {
	return r.publishFromContext(ctx, st, st.index, stepPlatforms(st.res))
}

// handOverIndexStage leaves the tags of the pushed index to the caller (bake).
func (r *Runner) handOverIndexStage(_ context.Context, st *runState) error {
	p := st.p
	st.res.Deferred = &registry.PublishSet{Repo: p.repos[0], Platforms: stepPlatforms(st.res), Tags: p.Tags, Annotations: p.indexAnnotations,
		Results: []ocispec.Descriptor{{Digest: st.index.Digest}}, Signer: p.Signer}
	return nil
}

// solveAllByDigest builds every platform in one solve on the context's BuildKit and pushes the
// index by digest, recording each step's duration.
func (r *Runner) solveAllByDigest(ctx context.Context, st *runState, node builder.Node, plats []string) (ocispec.Descriptor, error) {
	p, res, printer := st.p, st.res, st.printer
	first := res.Steps[0]
	first.several = false // one solve, on one node: one cache, not the first platform's
	start := time.Now()
	so, err := r.solveOpt(ctx, p, &first, node)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	so.Ref = solveRef(p.RunID, p.CacheKey)
	so.FrontendAttrs["platform"] = strings.Join(plats, ",")
	so.Exports = []client.ExportEntry{{Type: client.ExporterImage, Attrs: map[string]string{
		"name": strings.Join(p.repos, ","), "push": "true", "push-by-digest": "true",
	}}}
	pw := &detachable{Writer: progress.WithPrefix(printer, first.Node, false)}
	var resp *client.SolveResponse
	live := &liveness{}
	err = watch(ctx, first.Node, first.Node, p.Timeout, live, pw, func(ctx context.Context) (err error) {
		var c *client.Client
		if resp, c, err = solve(ctx, node, so, pw, live, p.Timeout, nil); err != nil {
			return err
		}
		prv, err := recordProvenance(ctx, node, c, so.Ref, p.provenanceMode(), p.Timeout)
		for i := range res.Steps {
			res.Steps[i].Ref = node.Builder + "/" + node.Name + "/" + so.Ref
			res.Steps[i].provenance = prv[res.Steps[i].Platform]
			if len(res.Steps) == 1 { // one platform: BuildKit records a single result
				res.Steps[i].provenance = firstProvenance(prv)
			}
		}
		return err
	})
	if err != nil {
		if strings.Contains(err.Error(), "exporting multiple references") || strings.Contains(err.Error(), "push-by-digest") {
			err = fmt.Errorf("%w (this engine's image store cannot push a multi-platform image by digest: enable the containerd image store, or build on a multiarch builder: docker multiarch node add, docker multiarch create)", err)
		}
		return ocispec.Descriptor{}, fmt.Errorf("%s on context %s: %w", strings.Join(plats, ","), first.Node, err)
	}
	desc, err := resultDescriptor(resp)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for i := range res.Steps {
		res.Steps[i].Duration = time.Since(start)
		res.Steps[i].Seconds = res.Steps[i].Duration.Round(time.Millisecond).Seconds()
	}
	if desc.Digest == "" {
		return ocispec.Descriptor{}, fmt.Errorf("%s on context %s: %w", strings.Join(plats, ","), first.Node, errNoDescriptor)
	}
	return desc, nil
}

// publishFromContext moves the tags to the pushed index, together or not at all, and reads it back.
func (r *Runner) publishFromContext(ctx context.Context, st *runState, desc ocispec.Descriptor, plats []string) error {
	p, res, printer := st.p, st.res, st.printer
	var pub registry.Publication
	err := progress.Write(printer, "[publish] the index to "+strings.Join(p.Tags, ", ")+", then read back", func() (err error) {
		pub, err = r.registry.WithTimeout(p.Timeout).WithSigner(p.Signer).PublishBuild(ctx, p.repos[0], []ocispec.Descriptor{desc}, plats, p.Tags, p.indexAnnotations)
		return err
	})
	if err != nil {
		return err
	}
	res.Index, res.Published, res.Signed = pub.Index, pub.Tags, pub.Signed
	for _, e := range pub.Entries {
		for i := range res.Steps {
			if res.Steps[i].Platform == e.Platform {
				res.Steps[i].Digest = e.Digest
			}
		}
	}
	return nil
}

// platformResults are what the test gate runs of each step: the one index holds every platform,
// and with several the gate runs each platform's own manifest (read from the index), so that
// variants on one engine are distinct images (a classic store keeps one platform per reference).
func (r *Runner) platformResults(ctx context.Context, st *runState, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	p, res := st.p, st.res
	out := make([]ocispec.Descriptor, len(res.Steps))
	for i := range out {
		out[i] = desc
	}
	if p.test == nil || len(res.Steps) < 2 {
		return out, nil
	}
	info, err := r.registry.WithTimeout(p.Timeout).Inspect(ctx, p.repos[0]+"@"+desc.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("reading the pushed index for the test gate: %w", err)
	}
	for i, s := range res.Steps {
		j := slices.IndexFunc(info.Manifests, func(e registry.ImageEntry) bool { return !e.Attestation && e.Platform == s.Platform })
		if j < 0 {
			return nil, fmt.Errorf("the pushed index %s has no %s image: no tag written", desc.Digest, s.Platform)
		}
		out[i] = ocispec.Descriptor{Digest: digest.Digest(info.Manifests[j].Digest)}
	}
	return out, nil
}

// contextBuilder: without a multiarch builder, an engine with the classic image store cannot push
// a multi-platform image (nor, with attestations, one platform): the build then runs on a
// docker-container builder on the current context, made once and reused.
func (r *Runner) contextBuilder(ctx context.Context, st *runState) error {
	p, t, res := st.p, st.t, st.res
	if !t.Fallback || !p.pushes || p.Strategy != plan.StrategyBuildKit {
		return nil
	}
	classic, err := r.builders.ClassicStore(ctx, p.Timeout)
	if err != nil || !classic {
		return err
	}
	ct, created, err := r.builders.ContextBuilder(t)
	if err != nil {
		return err
	}
	for i := range res.Steps {
		res.Steps[i].BuildxNode = ct.Nodes[0].BuildxNode
	}
	res.Builder = ct.Name
	how := "reusing"
	if created {
		how = "created"
	}
	res.Notes = append(res.Notes, fmt.Sprintf("the engine of context %q keeps images in the classic store, which cannot hold a multi-platform image: building on BuildKit builder %s (%s; a docker-container builder on that context)",
		t.Nodes[0].Name, ct.Name, how))
	st.t = ct
	return nil
}
