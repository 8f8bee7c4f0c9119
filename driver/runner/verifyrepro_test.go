package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

func TestVerifyReproducibleFlagChecksBeforeAnythingRuns(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
		want string // "" : accepted
	}{
		{"a bad mode is named", Options{Push: true, VerifyReproducible: "maybe"}, `invalid --verify-reproducible "maybe"`},
		{"no push: nothing to compare", Options{VerifyReproducible: "true"}, "give --push or --push-by-digest"},
		{"the engine strategy", Options{Push: true, VerifyReproducible: "true", Strategy: plan.StrategyEngine}, "--strategy engine"},
		{"bake", Options{Push: true, VerifyReproducible: "true", DeferPublish: true}, "bake"},
		{"a negative limit", Options{Push: true, VerifyReproducible: "warn", DiffLimit: -1}, "invalid --diff-limit -1"},
		{"no epoch: --reproducible's own error", Options{Push: true, VerifyReproducible: "true"}, "--reproducible needs a time"},
		{"off", Options{Push: true, VerifyReproducible: "false"}, ""},
		{"warn with an epoch", Options{PushByDigest: true, VerifyReproducible: "warn", SourceDateEpoch: "0"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.ContextPath, o.Tags, o.Timeout = dir, []string{"reg.example/app:1"}, time.Minute
			_, err := parseOptions(o, nil)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	p := mustParse(t, Options{ContextPath: dir, Tags: []string{"reg.example/app:1"}, Push: true, VerifyReproducible: "1", SourceDateEpoch: "5"})
	if p.VerifyReproducible != VerifyFail || !p.Reproducible {
		t.Fatalf("--verify-reproducible=1: mode %q, reproducible %v; want the failing mode, reproducible", p.VerifyReproducible, p.Reproducible)
	}
}

// The second build is the same build without any cache, exporting nothing but the image to one
// repository, and without attestations; the first build's options are left as they were.
func TestSecondBuildHasNoCacheNoAttestationsOneRepository(t *testing.T) {
	p := mustParse(t, Options{ContextPath: t.TempDir(), Tags: []string{"reg.example/app:1", "other.example/app:1"}, Push: true, Load: true,
		VerifyReproducible: "true", SourceDateEpoch: "5", CacheRef: "reg.example/cache", CacheFrom: []string{"type=registry,ref=reg.example/c"},
		CacheTo: []string{"type=registry,ref=reg.example/c"}, SBOM: "true", BuildxFlags: BuildxFlags{NoCacheFilter: []string{"build"}}})
	p2 := p.secondOptions()
	if !p2.NoCache || p2.CacheRef != "" || len(p2.cacheFrom)+len(p2.cacheTo) != 0 || p2.Load || len(p2.repos) != 1 || p2.repos[0] != "reg.example/app" {
		t.Fatalf("second build options: no-cache %v, cache-ref %q, caches %d/%d, load %v, repos %v", p2.NoCache, p2.CacheRef, len(p2.cacheFrom), len(p2.cacheTo), p2.Load, p2.repos)
	}
	if p2.expectsAttestations() || len(p2.attests) != 0 {
		t.Fatalf("the second build makes attestations: %v", p2.attests)
	}
	if _, ok := p2.solveAttrs["no-cache"]; ok {
		t.Fatal("the second build keeps --no-cache-filter, which narrows its --no-cache")
	}
	if p.NoCache || p.CacheRef == "" || !p.Load || len(p.repos) != 2 || len(p.attests) == 0 || p.solveAttrs["no-cache"] != "build" {
		t.Fatal("making the second build's options changed the first build's")
	}
}

func TestJudgeFailsOrWarnsNamingThePlatformAndTheFile(t *testing.T) {
	diff := &registry.ImageDiff{Files: []registry.FileDiff{{Path: "/built", Fields: []string{"content"},
		A: &registry.FileState{Layer: 2, Digest: "sha256:aaa"}, B: &registry.FileState{Layer: 2, Digest: "sha256:bbb"}}}, More: 3}
	steps := func() []StepResult {
		return []StepResult{
			{Step: plan.Step{Platform: "linux/amd64", Node: "a"}, Reproduced: &Reproduction{Node: "b", Why: "another node", Image: "sha256:1", Digest: "sha256:2", Diff: diff}},
			{Step: plan.Step{Platform: "linux/arm64", Node: "c"}, Reproduced: &Reproduction{Node: "c", SameNode: true, Reproduced: true}},
		}
	}
	r := &Runner{}
	st := &runState{p: &parsed{Options: Options{VerifyReproducible: VerifyFail, DiffLimit: 1}}, res: &Result{Steps: steps()}}
	err := r.judge(st)
	for _, want := range []string{"linux/amd64: built on node a, again on node b", "/built (layer 2): content sha256:aaa, then sha256:bbb", "and 3 more differences (--diff-limit 1)", "no tag moved"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("judge: %v, want %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "linux/arm64") {
		t.Fatalf("a platform that reproduced is named: %v", err)
	}
	st = &runState{p: &parsed{Options: Options{VerifyReproducible: VerifyWarn}}, res: &Result{Steps: steps()}}
	if err := r.judge(st); err != nil || len(st.res.Warnings) != 1 || !strings.Contains(st.res.Warnings[0], "/built") {
		t.Fatalf("warn: %v, warnings %q", err, st.res.Warnings)
	}
	st.res.Steps = steps()[1:]
	st.res.Warnings = nil
	if err := r.judge(st); err != nil || len(st.res.Warnings) != 0 {
		t.Fatalf("every platform reproduced: %v, %q", err, st.res.Warnings)
	}
}
