package runner

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/moby/go-archive/compression"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// BaseCheck is one external image a platform's build pulls, and whether the registry has it for
// that platform.
type BaseCheck struct {
	plan.Base
	Available bool     `json:"available"`
	Has       []string `json:"has,omitempty"`     // the platforms the base has
	Problem   string   `json:"problem,omitempty"` // why it is not available, or could not be checked
	Checked   bool     `json:"checked"`           // false: the registry could not be asked (the build decides)
}

// checkBases lists every platform's external bases (BuildKit's Dockerfile parser, ARGs expanded)
// and asks the registries, in parallel within the deadline, whether each base has the platform.
// The results go to each step; the error names the first base that lacks its platform, with the
// Dockerfile line, before any node builds. A registry that cannot be asked only warns: BuildKit
// may reach it through its own configuration.
func (r *Runner) checkBases(ctx context.Context, st *runState) error {
	p, t, res := st.p, st.t, st.res
	for i := range res.Steps {
		s := &res.Steps[i]
		dt, name, ok := r.dockerfileOf(p, s)
		if !ok {
			continue // a remote context: its Dockerfile is only read by BuildKit
		}
		bases, err := plan.Bases(dt, plan.BaseArgs{Platform: s.Platform, BuildPlatform: r.buildPlatform(t, s), BuildArgs: p.buildArgs, Target: p.Target})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, b := range bases {
			if !p.namedContext(b.Ref) { // a --build-context of that name replaces the image
				s.Bases = append(s.Bases, BaseCheck{Base: b})
			}
		}
		s.dockerfileName = name
	}
	r.lookupBases(ctx, st)
	return basesError(res)
}

// buildPlatform is BUILDPLATFORM of a step: the platform of the engine of the node that builds
// it, as probed when the node was added (BuildKit's worker runs there), else the node's first
// native platform.
func (r *Runner) buildPlatform(t builders.Target, s *StepResult) string {
	if n, err := r.nodes.Get(s.Node); err == nil && n.Engine.Platform != "" {
		return n.Engine.Platform
	}
	for _, n := range t.Nodes {
		if n.Name == s.Node && len(n.Native) > 0 {
			return n.Native[0]
		}
	}
	return s.Platform
}

// dockerfileOf reads a step's Dockerfile: a local file, or a file of the context archive read
// from stdin; ok is false when it cannot be read here (a remote context).
func (r *Runner) dockerfileOf(p *parsed, s *StepResult) ([]byte, string, bool) {
	if p.stdin != nil && p.stdin.tar != "" && p.File == "" && p.fileFor[s.Platform] == "" {
		dt, err := p.stdin.archiveFile(s.Dockerfile)
		return dt, s.Dockerfile, err == nil
	}
	if !plan.IsLocalDir(p.ContextPath) && p.File == "" && p.fileFor[s.Platform] == "" {
		return nil, "", false
	}
	dt, err := os.ReadFile(s.Dockerfile)
	return dt, s.Dockerfile, err == nil
}

// archiveFile reads one file at the root of the context archive read from stdin.
func (s *stdinInput) archiveFile(name string) ([]byte, error) {
	f, err := s.openTar()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return archiveFile(f, name)
}

// archiveFile reads one file at the root of a context archive, without extracting anything.
func archiveFile(archive io.Reader, name string) ([]byte, error) {
	rc, err := compression.DecompressStream(archive)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg && path.Clean("/" + h.Name)[1:] == name {
			return io.ReadAll(io.LimitReader(tr, 1<<20))
		}
	}
}

// lookupBases asks the registry once per base reference, in parallel.
func (r *Runner) lookupBases(ctx context.Context, st *runState) {
	p, res := st.p, st.res
	type found struct {
		plats []ocispec.Platform
		err   error
	}
	refs := map[string]*found{}
	for _, s := range res.Steps {
		for _, b := range s.Bases {
			refs[b.Ref] = nil
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	reg := r.registry.WithTimeout(p.Timeout)
	for ref := range refs {
		wg.Go(func() {
			plats, err := r.basePlatforms(ctx, reg, ref)
			mu.Lock()
			defer mu.Unlock()
			refs[ref] = &found{plats, err}
		})
	}
	wg.Wait()
	for i := range res.Steps {
		for j := range res.Steps[i].Bases {
			b := &res.Steps[i].Bases[j]
			f := refs[b.Ref]
			judgeBase(b, f.plats, f.err)
		}
	}
}

// judgeBase decides whether a base has its platform (as BuildKit matches platforms).
func judgeBase(b *BaseCheck, plats []ocispec.Platform, err error) {
	switch {
	case errdefs.IsNotFound(err):
		b.Checked, b.Problem = true, "not found in its registry"
		return
	case err != nil:
		b.Problem = "could not be checked: " + redact.Error(err).Error()
		return
	}
	b.Checked = true
	want, _ := platforms.Parse(b.Platform)
	match := platforms.Only(want)
	for _, p := range plats {
		b.Has = append(b.Has, platforms.Format(p))
		if match.Match(p) {
			b.Available = true
		}
	}
	if !b.Available {
		b.Problem = "has no " + b.Platform + " variant"
	}
}

// basesError is the one-line error of the first base that lacks its platform.
func basesError(res *Result) error {
	var errs []error
	for _, s := range res.Steps {
		for _, b := range s.Bases {
			if !b.Checked || b.Available {
				continue
			}
			msg := fmt.Sprintf("%s:%d: %s %s %s", s.dockerfileName, b.Line, b.Instruction, b.Ref, b.Problem)
			if len(b.Has) > 0 {
				msg += " (it has " + strings.Join(b.Has, ", ") + ")"
			}
			if !slices.ContainsFunc(errs, func(e error) bool { return e.Error() == msg }) {
				errs = append(errs, errors.New(msg))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("nothing built: %w", errors.Join(errs...))
}

// baseWarnings are the bases that could not be checked, for the user.
func baseWarnings(res *Result) []string {
	var out []string
	for _, s := range res.Steps {
		for _, b := range s.Bases {
			if !b.Checked {
				w := fmt.Sprintf("base %s (%s) %s", b.Ref, b.Platform, b.Problem)
				if !slices.Contains(out, w) {
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// namedContext reports whether a name a Dockerfile pulls is given with --build-context NAME=...,
// which BuildKit uses instead of the image.
func (p *parsed) namedContext(ref string) bool {
	short := strings.TrimSuffix(strings.TrimPrefix(ref, "docker.io/library/"), ":latest")
	for _, c := range p.contexts {
		if c.Name == ref || c.Name == short {
			return true
		}
	}
	return false
}
