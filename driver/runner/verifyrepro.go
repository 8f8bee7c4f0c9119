package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/platforms"
	"github.com/docker/buildx/util/progress"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// The modes of --verify-reproducible.
const (
	VerifyOff  = ""
	VerifyFail = "true" // a platform that does not reproduce fails the build: no tag moves
	VerifyWarn = "warn" // it is reported, and the build publishes
)

// DefaultDiffLimit is how many differences a platform that does not reproduce lists by default.
const DefaultDiffLimit = 20

// Reproduction is how a platform's second build compared with its first (--verify-reproducible).
type Reproduction struct {
	Node     string `json:"node"`
	Emulated bool   `json:"emulated,omitempty"`
	SameNode bool   `json:"sameNode,omitempty"`
	Why      string `json:"why"`
	Ref      string `json:"ref,omitempty"`   // the second build's BuildKit reference
	Image    string `json:"image,omitempty"` // the first build's image manifest
	Digest   string `json:"digest,omitempty"`
	// Reproduced: the second build gave the same image manifest, byte for byte.
	Reproduced bool                `json:"reproduced"`
	Seconds    float64             `json:"durationSeconds"`
	Diff       *registry.ImageDiff `json:"diff,omitempty"`
	Error      string              `json:"error,omitempty"` // the second build failed, or could not be compared
}

// parseVerify checks --verify-reproducible and --diff-limit; the check implies --reproducible.
func (p *parsed) parseVerify() error {
	switch strings.ToLower(p.VerifyReproducible) {
	case "", "false", "0":
		p.VerifyReproducible = VerifyOff
	case "true", "1", "fail":
		p.VerifyReproducible = VerifyFail
	case "warn":
		p.VerifyReproducible = VerifyWarn
	default:
		return fmt.Errorf("invalid --verify-reproducible %q: give true (a difference fails the build) or warn (it is reported and the build publishes)", p.VerifyReproducible)
	}
	if p.DiffLimit < 0 {
		return fmt.Errorf("invalid --diff-limit %d: give 0 (no limit) or more", p.DiffLimit)
	}
	if p.VerifyReproducible == VerifyOff {
		return nil
	}
	switch {
	case !p.Push && !p.PushByDigest:
		return errors.New("--verify-reproducible compares each platform's two builds in the registry: give --push or --push-by-digest")
	case p.Strategy == plan.StrategyEngine:
		return errors.New("--verify-reproducible builds with BuildKit: it cannot be used with --strategy engine")
	case p.DeferPublish:
		return errors.New("--verify-reproducible is not supported by bake yet: build the target with docker multiarch build")
	}
	p.Reproducible = true
	return nil
}

// solveTwice runs the first builds and the second ones together; a second build on the node of
// the first waits for it (BuildKit would share the steps the two run at once, cache or not). The
// first failure is the build's: the first build's, or, when a difference fails the build, the
// second's (no tag moves); with warn a second's failure is reported and the platforms whose second
// build did not finish are not compared.
func (r *Runner) solveTwice(ctx context.Context, st *runState) error {
	st2 := *st
	st2.p, st2.res = st.p.secondOptions(), &Result{Steps: st.second}
	firstCtx, cancelFirst := context.WithCancelCause(ctx)
	defer cancelFirst(nil)
	secondCtx, cancelSecond := context.WithCancelCause(ctx)
	defer cancelSecond(nil)
	var once sync.Once
	var cause, secondErr error
	fail := func(err error) { once.Do(func() { cause = err }) }
	first, second := sequenced(st, r.firstRunner(st), r.stepRunner(&st2))
	var eg errgroup.Group
	eg.Go(func() error {
		var err error
		if st.descs, err = r.runSteps(firstCtx, st.res, first); err != nil {
			fail(err)
			cancelSecond(err)
		}
		return nil
	})
	eg.Go(func() error {
		st.secondDescs, secondErr = r.runSteps(secondCtx, st2.res, second)
		if secondErr != nil && st.p.VerifyReproducible == VerifyFail {
			err := fmt.Errorf("--verify-reproducible: the second build of %w; no tag moved", secondErr)
			fail(err)
			cancelFirst(err)
		}
		return nil
	})
	_ = eg.Wait()
	if cause != nil {
		return cause
	}
	for i := range st.res.Steps {
		if secondErr != nil && (i >= len(st.secondDescs) || st.secondDescs[i].Digest == "") {
			st.res.Steps[i].Reproduced.Error = "the second build did not finish: " + secondErr.Error()
		}
	}
	return nil
}

type stepFunc = func(context.Context, *StepResult) (ocispec.Descriptor, error)

// sequenced wraps the first and second builds' step runners so that a second build on its first
// build's node starts once that one ended; the time it waited is not its build's.
func sequenced(st *runState, first, second stepFunc) (stepFunc, stepFunc) {
	done := make([]chan struct{}, len(st.res.Steps))
	for i := range done {
		done[i] = make(chan struct{})
	}
	index := platformIndex(st.res.Steps) // read now: the steps are written as they run
	sameNode := make([]bool, len(st.res.Steps))
	for i, s := range st.res.Steps {
		sameNode[i] = s.Reproduced != nil && s.Reproduced.SameNode
	}
	return func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
			defer close(done[index[s.Platform]])
			return first(ctx, s)
		}, func(ctx context.Context, s *StepResult) (ocispec.Descriptor, error) {
			i := index[s.Platform]
			if sameNode[i] {
				start := time.Now()
				select {
				case <-done[i]:
				case <-ctx.Done():
					return ocispec.Descriptor{}, context.Cause(ctx)
				}
				s.waited = time.Since(start)
			}
			return second(ctx, s)
		}
}

// compareStage compares every platform's two images; one that differs fails the build (or, with
// warn, is reported).
func (r *Runner) compareStage(ctx context.Context, st *runState) error {
	var verdict error
	err := progress.Write(st.printer, "[reproduce] each platform's image against its second build", func() error {
		if verdict = r.compare(ctx, st); verdict != nil {
			return errors.New(notReproduced(st.res.Steps)) // the listing comes once, as the build's error
		}
		return nil
	})
	if verdict != nil {
		return verdict
	}
	return err
}

// notReproduced names the platforms that did not reproduce.
func notReproduced(steps []StepResult) string {
	var names []string
	for _, s := range steps {
		if rep := s.Reproduced; rep != nil && !rep.Reproduced {
			names = append(names, s.Platform)
		}
	}
	return "not reproduced: " + strings.Join(names, ", ")
}

func (r *Runner) compare(ctx context.Context, st *runState) error {
	p, res := st.p, st.res
	reg := r.registry.WithTimeout(p.Timeout)
	var eg errgroup.Group
	eg.SetLimit(3)
	for i := range res.Steps {
		s, second := &res.Steps[i], &st.second[i]
		rep := s.Reproduced
		rep.Ref, rep.Seconds = second.Ref, (second.Duration - second.waited).Round(time.Millisecond).Seconds()
		if rep.Error != "" {
			continue // its second build failed, as it says
		}
		eg.Go(func() error {
			a, err := imageOf(ctx, reg, p.repos[0], st.descs[i], s.Platform)
			if err == nil {
				var b digest.Digest
				if b, err = imageOf(ctx, reg, p.repos[0], st.secondDescs[i], s.Platform); err == nil {
					rep.Image, rep.Digest, rep.Reproduced = a.String(), b.String(), a == b
					if a != b {
						d, derr := reg.DiffImages(ctx, p.repos[0], a, b, p.DiffLimit)
						rep.Diff, err = maskDiff(&d, p.buildArgs), derr
					}
				}
			}
			if err != nil {
				rep.Error = argMasker(p.buildArgs, maxVertexName)(err.Error())
			}
			return nil
		})
	}
	_ = eg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx) // interrupted: not a verdict
	}
	return r.judge(st)
}

// imageOf is the image manifest of platform in what a build pushed by digest (an image, or an
// index of the image and its attestations).
func imageOf(ctx context.Context, reg *registry.Client, repo string, d ocispec.Descriptor, platform string) (digest.Digest, error) {
	if !images.IsIndexType(d.MediaType) {
		return d.Digest, nil
	}
	vs, err := reg.Variants(ctx, repo+"@"+d.Digest.String())
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if platforms.Only(platformFrom(platform)).Match(platformFrom(v.Platform)) {
			return digest.Parse(v.Digest)
		}
	}
	return "", fmt.Errorf("%s@%s holds no image for %s", repo, d.Digest, platform)
}

// judge says what the comparisons found: nothing when every platform reproduced; else an error
// naming each platform that did not (and what differs), or with warn a warning and no error.
func (r *Runner) judge(st *runState) error {
	var bad []string
	for _, s := range st.res.Steps {
		if rep := s.Reproduced; rep != nil && !rep.Reproduced {
			bad = append(bad, describeReproduction(s, st.p.DiffLimit))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	msg := "not reproducible:\n" + strings.Join(bad, "\n")
	if st.p.VerifyReproducible == VerifyWarn {
		st.res.Warnings = append(st.res.Warnings, msg)
		return nil
	}
	return errors.New(msg + "\nno tag moved")
}
