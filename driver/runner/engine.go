package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/dockerutil"
	"github.com/moby/go-archive"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/moby/patternmatcher/ignorefile"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// engineStep builds one platform with the node's own engine through the classic build endpoint,
// reads the image back from the engine and pushes it by digest (never a tag) to every repository.
func (r *Runner) engineStep(ctx context.Context, p *parsed, s *StepResult, out io.Writer) (ocispec.Descriptor, error) {
	api, err := dockerutil.NewClientAPI(r.dockerCli, s.Node)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("node %s: %w", s.Node, err)
	}
	id, err := r.engineBuild(ctx, api, p, s, out)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer func() { _, _ = api.ImageRemove(context.WithoutCancel(ctx), id, client.ImageRemoveOptions{Force: true}) }()
	dir, err := os.MkdirTemp("", "multiarch-engine-")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer os.RemoveAll(dir)
	if err := saveImage(ctx, api, id, dir); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading the image back from node %s: %w", s.Node, err)
	}
	return pushSaved(ctx, r.registry, dir, p.repos)
}

// engineBuild sends the context to the engine's classic builder and returns the built image ID.
func (r *Runner) engineBuild(ctx context.Context, api client.APIClient, p *parsed, s *StepResult, out io.Writer) (string, error) {
	if !plan.IsLocalDir(p.ContextPath) {
		return "", fmt.Errorf("the engine strategy needs a local build context, not %s", p.ContextPath)
	}
	rel, err := filepath.Rel(p.ContextPath, s.Dockerfile)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("the engine strategy needs the Dockerfile inside the build context: %s", s.Dockerfile)
	}
	tarball, err := contextTar(p.ContextPath)
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
	w := &prefixWriter{w: out, prefix: "[" + s.Platform + " " + s.Node + "] "}
	err = jsonmessage.DisplayJSONMessagesStream(res.Body, w, 0, false, func(msg jsonstream.Message) {
		var aux struct{ ID string }
		if msg.Aux != nil && json.Unmarshal(*msg.Aux, &aux) == nil && aux.ID != "" {
			id = aux.ID
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

// contextTar tars a build context, leaving out what .dockerignore excludes.
func contextTar(dir string) (io.ReadCloser, error) {
	var excludes []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf(".dockerignore: %w", err)
		}
	}
	return archive.TarWithOptions(dir, &archive.TarOptions{ExcludePatterns: excludes})
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
