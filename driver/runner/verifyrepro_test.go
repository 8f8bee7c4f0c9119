package runner

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

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

// The second build is the same build without any cache (but the inline one, which is in the
// image's config), exporting nothing but the image to one repository, with the same attestations
// (on older BuildKits they decide the media types); the first build's options are left as they were.
func TestSecondBuildHasNoCacheTheSameAttestationsOneRepository(t *testing.T) {
	p := mustParse(t, Options{ContextPath: t.TempDir(), Tags: []string{"reg.example/app:1", "other.example/app:1"}, Push: true, Load: true,
		VerifyReproducible: "true", SourceDateEpoch: "5", CacheRef: "reg.example/cache", CacheFrom: []string{"type=registry,ref=reg.example/c"},
		CacheTo: []string{"type=registry,ref=reg.example/c", "type=inline"}, SBOM: "true", BuildxFlags: BuildxFlags{NoCacheFilter: []string{"build"}}})
	p2 := p.secondOptions()
	if !p2.NoCache || p2.CacheRef != "" || len(p2.cacheFrom) != 0 || len(p2.cacheTo) != 1 || p2.cacheTo[0].Type != "inline" || p2.Load || len(p2.repos) != 1 || p2.repos[0] != "reg.example/app" {
		t.Fatalf("second build options: no-cache %v, cache-ref %q, caches %v/%v, load %v, repos %v", p2.NoCache, p2.CacheRef, p2.cacheFrom, p2.cacheTo, p2.Load, p2.repos)
	}
	if !maps.Equal(p2.attests, p.attests) {
		t.Fatalf("the second build's attestations %v, the first's %v", p2.attests, p.attests)
	}
	p2.repos = append(p2.repos, "x")
	if p.repos[1] != "other.example/app" {
		t.Fatal("the second build's repositories share the first's")
	}
	if _, ok := p2.solveAttrs["no-cache"]; ok {
		t.Fatal("the second build keeps --no-cache-filter, which narrows its --no-cache")
	}
	if p.NoCache || p.CacheRef == "" || !p.Load || len(p.repos) != 2 || len(p.cacheTo) != 2 || len(p.attests) == 0 || p.solveAttrs["no-cache"] != "build" {
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

// A second build on its first build's node starts once that one ended (BuildKit shares the steps
// two builds run at once, no-cache or not); on another node it starts at once.
func TestSecondBuildOnTheSameNodeWaitsForTheFirst(t *testing.T) {
	st := &runState{res: &Result{Steps: []StepResult{
		{Step: plan.Step{Platform: "linux/amd64", Node: "a"}, Reproduced: &Reproduction{Node: "b"}},
		{Step: plan.Step{Platform: "linux/arm64", Node: "c"}, Reproduced: &Reproduction{Node: "c", SameNode: true}},
	}}, second: []StepResult{{Step: plan.Step{Platform: "linux/amd64", Node: "b"}}, {Step: plan.Step{Platform: "linux/arm64", Node: "c"}}}}
	var mu sync.Mutex
	var order []string
	release := make(chan struct{})
	note := func(what string) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, what)
	}
	first, second := sequenced(st,
		func(_ context.Context, s *StepResult) (ocispec.Descriptor, error) {
			<-release
			note("first " + s.Platform)
			return ocispec.Descriptor{}, nil
		},
		func(_ context.Context, s *StepResult) (ocispec.Descriptor, error) {
			note("second " + s.Platform)
			return ocispec.Descriptor{}, nil
		})
	var wg sync.WaitGroup
	for i := range st.res.Steps {
		wg.Go(func() { _, _ = first(t.Context(), &st.res.Steps[i]) })
		wg.Go(func() { _, _ = second(t.Context(), &st.second[i]) })
	}
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	early := slices.Clone(order)
	mu.Unlock()
	if len(early) != 1 || early[0] != "second linux/amd64" {
		t.Fatalf("before the first builds ended: %v, want only amd64's second build (another node) started", early)
	}
	close(release)
	wg.Wait()
	if i, j := slices.Index(order, "first linux/arm64"), slices.Index(order, "second linux/arm64"); i < 0 || j < i {
		t.Fatalf("order %v: arm64's second build ran before its first ended", order)
	}
	// Cancelled while it waits: it ends at once, with the cause.
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("interrupted"))
	_, second = sequenced(st, nil, nil)
	if _, err := second(ctx, &st.second[1]); err == nil || err.Error() != "interrupted" {
		t.Fatalf("a waiting second build, cancelled: %v", err)
	}
}

// What differs in a history step's command holds the build arguments in scope: a secret-named
// one's value is masked before it is shown or stored.
func TestMaskDiffMasksSecretBuildArguments(t *testing.T) {
	d := &registry.ImageDiff{Config: []registry.FieldDiff{{Field: "history[1] created_by", A: "RUN |1 API_TOKEN=s3cr3tvalue42 /bin/sh -c x", B: "RUN |1 API_TOKEN=other"}}}
	maskDiff(d, map[string]string{"API_TOKEN": "s3cr3tvalue42", "VERSION": "1.2.3"})
	if strings.Contains(d.Config[0].A, "s3cr3tvalue42") || !strings.Contains(d.Config[0].A, "API_TOKEN=") {
		t.Fatalf("masked: %q", d.Config[0].A)
	}
}
