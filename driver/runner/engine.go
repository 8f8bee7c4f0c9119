package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moby/patternmatcher"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/containerd/platforms"
	"github.com/moby/go-archive"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/moby/patternmatcher/ignorefile"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// engineStep builds one platform with the node's own engine through the classic build endpoint,
// reads the image back from the engine and pushes it by digest (never a tag) to every repository.
func (r *Runner) engineStep(ctx context.Context, st *runState, s *StepResult, out io.Writer) (ocispec.Descriptor, error) {
	p := st.p
	api, _, err := st.engines.get(s.Node)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	b := &engineBuild{api: api, timeout: p.Timeout}
	if b.watch, err = watchEngine(ctx, r.factsOf(api), p.Timeout); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("node %s: reading its engine's clock: %w", s.Node, err)
	}
	defer b.cleanup(ctx)
	id, err := r.engineBuild(ctx, b, p, s, out)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if !p.pushes {
		return ocispec.Descriptor{}, nil // built and checked; nothing leaves the node without --push
	}
	dir, err := os.MkdirTemp("", "multiarch-engine-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.RemoveAll(dir)
	arch, err := saveImage(ctx, api, id, dir)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading the image back from node %s: %w", s.Node, err)
	}
	return pushSaved(ctx, r.registry.WithTimeout(p.Timeout), arch, p.repos)
}

// factsOf is what the engine strategy's clean-up asks an engine.
func (r *Runner) factsOf(api client.APIClient) engineFacts {
	if r.facts != nil {
		return r.facts(api)
	}
	return mobyFacts{api}
}

// engineBuild is one classic build on a node's engine and the images it made, removed when the
// step ends (built, failed or interrupted), within the deadline: only those the engine says the
// build made (engineclean.go).
type engineBuild struct {
	api     client.APIClient
	timeout time.Duration
	watch   *engineWatch // what the engine created while the build ran
	mu      sync.Mutex
	images  []string // the images the output says the build committed (candidates)
	running string   // the container the output says runs the step in progress (a candidate)
}

func (b *engineBuild) step(container string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running = container
}

func (b *engineBuild) made(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.images = append(b.images, id)
}

// cleanup removes the images the build made with their untagged parents (the intermediate
// images), and an interrupted step's container with its anonymous volumes: each only when the
// engine confirms the build made it; the base image it pulled stays.
func (b *engineBuild) cleanup(ctx context.Context) {
	if b.watch == nil {
		return // nothing is removed without the engine's word
	}
	ctx = context.WithoutCancel(ctx)
	b.watch.finish(ctx)
	b.mu.Lock()
	ids, running := slices.Clone(b.images), b.running
	b.mu.Unlock()
	if full, ok := b.watch.ourContainer(running); ok { // it holds its parent image: gone first
		_ = deadline.Call(ctx, b.timeout, func(ctx context.Context) error {
			_, err := b.api.ContainerRemove(ctx, full, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			return err
		})
	}
	for _, id := range slices.Backward(ids) {
		if full, ok := b.watch.ourImage(ctx, id); ok {
			_ = deadline.Call(ctx, b.timeout, func(ctx context.Context) error { return b.remove(ctx, full) })
		}
	}
}

// remove removes one image, trying again while the container of an interrupted step still uses
// it (the engine kills and removes that container on its own, a moment after the build ends).
func (b *engineBuild) remove(ctx context.Context, id string) error {
	for {
		_, err := b.api.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		if err == nil || cerrdefs.IsNotFound(err) {
			return nil
		}
		if !strings.Contains(err.Error(), "container") {
			return err // in use by other images (a cache of other builds): not ours to take
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// engineBuild sends the context to the engine's classic builder and returns the built image ID.
func (r *Runner) engineBuild(ctx context.Context, b *engineBuild, p *parsed, s *StepResult, out io.Writer) (string, error) {
	api := b.api
	tarball, rel, err := engineContext(p, s)
	if err != nil {
		return "", err
	}
	defer tarball.Close()
	args := map[string]*string{}
	for k, v := range p.buildArgs {
		args[k] = &v
	}
	res, err := api.ImageBuild(ctx, tarball, client.ImageBuildOptions{
		Dockerfile: filepath.ToSlash(rel), Platforms: []ocispec.Platform{platformFrom(s.Platform)}, BuildArgs: args,
		// Always pull the base: a classic image store keeps one platform per tag, and the classic
		// builder would build on whatever platform it holds.
		Labels: p.labels, Target: p.Target, NoCache: p.NoCache, PullParent: true, Remove: true, ForceRemove: true,
		NetworkMode: p.Network, Version: build.BuilderV1,
	})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var id string
	w := &stepTracker{w: &prefixWriter{w: out, prefix: "[" + s.Platform + " " + s.Node + "] "}, made: b.made, running: b.step}
	err = jsonmessage.DisplayJSONMessagesStream(res.Body, w, 0, false, func(msg jsonstream.Message) {
		var aux struct{ ID string }
		if msg.Aux != nil && json.Unmarshal(*msg.Aux, &aux) == nil && aux.ID != "" {
			id = aux.ID // not a candidate of its own: a final image from the cache is another build's
		}
	})
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", fmt.Errorf("node %s built no image", s.Node)
	}
	return id, checkBuiltPlatform(ctx, api, id, s)
}

// checkBuiltPlatform makes sure the engine built the platform asked for.
func checkBuiltPlatform(ctx context.Context, api client.APIClient, id string, s *StepResult) error {
	res, err := api.ImageInspect(ctx, id)
	if err != nil {
		return err
	}
	got, err := contexts.ParsePlatform(res.Os + "/" + res.Architecture + variantSuffix(res.Variant))
	if err != nil {
		return fmt.Errorf("node %s built an image for %s/%s: %w", s.Node, res.Os, res.Architecture, err)
	}
	if f := platforms.Format(got); f != s.Platform {
		return fmt.Errorf("node %s built %s, not %s", s.Node, f, s.Platform)
	}
	return nil
}

func variantSuffix(v string) string {
	if v == "" {
		return ""
	}
	return "/" + v
}

// engineContext is the context the classic build API takes (a tar archive) and the Dockerfile's
// path inside it: a local directory tarred, or the archive read from stdin as it is.
func engineContext(p *parsed, s *StepResult) (io.ReadCloser, string, error) {
	if p.stdin != nil && p.stdin.tar != "" {
		if p.File != "" || p.fileFor[s.Platform] != "" {
			return nil, "", fmt.Errorf("the engine strategy needs the Dockerfile inside the build context, not %s", s.Dockerfile)
		}
		f, err := p.stdin.openTar()
		return f, s.Dockerfile, err
	}
	if !plan.IsLocalDir(p.ContextPath) {
		return nil, "", fmt.Errorf("the engine strategy needs a local build context, not %s", redact.URL(p.ContextPath))
	}
	rel, err := filepath.Rel(p.ContextPath, s.Dockerfile)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, "", fmt.Errorf("the engine strategy needs the Dockerfile inside the build context: %s", s.Dockerfile)
	}
	tarball, err := contextTar(p.ContextPath, rel)
	return tarball, rel, err
}

// contextTar tars a build context, leaving out what .dockerignore excludes but the Dockerfile and
// the .dockerignore itself, which the engine needs (docker build's TrimBuildFilesFromExcludes).
func contextTar(dir, dockerfile string) (io.ReadCloser, error) {
	var excludes []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	}
	return archive.TarWithOptions(dir, &archive.TarOptions{ExcludePatterns: keepBuildFiles(excludes, dockerfile)})
}

// keepBuildFiles is docker/cli's TrimBuildFilesFromExcludes: exclusions that would leave out the
// .dockerignore or the Dockerfile get an exception for them.
func keepBuildFiles(excludes []string, dockerfile string) []string {
	for _, f := range []string{".dockerignore", filepath.ToSlash(dockerfile)} {
		if excluded, _ := patternmatcher.Matches(f, excludes); excluded {
			excludes = append(excludes, "!"+f)
		}
	}
	return excludes
}

func platformFrom(s string) ocispec.Platform {
	p, _ := platforms.Parse(s)
	return platforms.Normalize(p)
}

// prefixWriter prefixes every line, so the engines' build output reads apart.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			if _, err := io.WriteString(p.w, p.prefix); err != nil {
				return 0, err
			}
		}
		if _, err := io.WriteString(p.w, line); err != nil {
			return 0, err
		}
		p.mid = !strings.HasSuffix(line, "\n")
	}
	return len(b), nil
}
