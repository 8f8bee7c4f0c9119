package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

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

// planSecond places every platform's second build (plan.Second) once the first ones are routed.
func planSecond(st *runState) error {
	p, res := st.p, st.res
	if p.VerifyReproducible == VerifyOff {
		return nil
	}
	if err := needsSecondNodes(st); err != nil {
		return err
	}
	st.second = make([]StepResult, len(res.Steps))
	for i, s := range res.Steps {
		if s.Strategy == plan.StrategyEngine {
			return fmt.Errorf("--verify-reproducible: %s is built by the engine of node %s, which it cannot check", s.Platform, s.Node)
		}
		second, why := plan.Second(st.t.Nodes, s.Step, s.Alternatives)
		st.second[i] = StepResult{Step: second, label: s.Platform + " (again)"}
		res.Steps[i].Reproduced = &Reproduction{Node: second.Node, Emulated: second.Emulated, SameNode: second.Node == s.Node, Why: why}
	}
	return nil
}

// needsSecondNodes refuses --verify-reproducible without a multiarch builder, before anything runs.
func needsSecondNodes(st *runState) error {
	if st.p.VerifyReproducible != VerifyOff && st.t.Fallback {
		return errors.New("--verify-reproducible builds each platform a second time on another node: it needs a multiarch builder (docker multiarch create)")
	}
	return nil
}

// secondOptions are the options of a platform's second build: the same build, without cache (not
// the node's, not a registry's, none exported), nothing delivered but the image pushed by digest
// to the first repository, without attestations (they name the build, not the image).
func (p *parsed) secondOptions() *parsed {
	p2 := *p
	p2.NoCache = true
	p2.cacheFrom, p2.cacheTo, p2.CacheRef = nil, nil, ""
	p2.outputs, p2.Load, p2.MetadataFile, p2.test = nil, false, "", nil
	p2.repos = p.repos[:1]
	p2.attests, p2.attestSet = nil, map[string]bool{"provenance": true}
	p2.solveAttrs = maps.Clone(p.solveAttrs)
	delete(p2.solveAttrs, "no-cache") // a --no-cache-filter would narrow the whole build's --no-cache
	return &p2
}

// solveTwice runs the first builds and the second ones together. The first's failure stops both.
// A second's failure fails the build when a difference would (no tag moves); with warn it is
// reported and the platforms whose second build did not finish are not compared.
func (r *Runner) solveTwice(ctx context.Context, st *runState) error {
	st2 := *st
	st2.p, st2.res = st.p.secondOptions(), &Result{Steps: st.second}
	firstCtx, cancelFirst := context.WithCancelCause(ctx)
	defer cancelFirst(nil)
	secondCtx, cancelSecond := context.WithCancelCause(ctx)
	defer cancelSecond(nil)
	var firstErr, secondErr error
	var eg errgroup.Group
	eg.Go(func() error {
		if st.descs, firstErr = r.runSteps(firstCtx, st.res, r.stepRunner(st)); firstErr != nil {
			cancelSecond(firstErr)
		}
		return nil
	})
	eg.Go(func() error {
		st.secondDescs, secondErr = r.runSteps(secondCtx, st2.res, r.stepRunner(&st2))
		if secondErr != nil && st.p.VerifyReproducible == VerifyFail {
			cancelFirst(fmt.Errorf("--verify-reproducible: the second build of %w; no tag moved", secondErr))
		}
		return nil
	})
	_ = eg.Wait()
	switch {
	case secondErr != nil && st.p.VerifyReproducible == VerifyFail:
		return fmt.Errorf("--verify-reproducible: the second build of %w; no tag moved", secondErr)
	case firstErr != nil:
		return firstErr
	}
	for i := range st.res.Steps {
		if secondErr != nil && (i >= len(st.secondDescs) || st.secondDescs[i].Digest == "") {
			st.res.Steps[i].Reproduced.Error = "the second build did not finish: " + secondErr.Error()
		}
	}
	return nil
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
		rep.Ref, rep.Seconds = second.Ref, second.Seconds
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
						rep.Diff, err = &d, derr
					}
				}
			}
			if err != nil {
				rep.Error = err.Error()
			}
			return nil
		})
	}
	_ = eg.Wait()
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
