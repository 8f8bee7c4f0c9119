package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

func stageNames(stages []stage) []string {
	var out []string
	for _, s := range stages {
		out = append(out, s.name)
	}
	return out
}

// The order of effects over the delivery modes that combine (issue 19): nothing leaves the nodes
// but pushes by digest until every platform is built; the gate runs before any tag moves and any
// load; the tags move before the local load; bake's targets hand their tags and load to the bake.
// Each row is a build's flags, parsed as the command parses them; the stages are the production list.
func TestPipelineOrderOverEveryCombination(t *testing.T) {
	dir := t.TempDir()
	tags := []string{"reg.example/app:1", "reg.example/app:latest", "reg.example/app"}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"build only", Options{}, "solve"},
		{"--push", Options{Push: true}, "solve record publish"},
		{"--push --test", Options{Push: true, Test: "true"}, "solve gate record publish"},
		{"--push --load", Options{Push: true, Load: true}, "solve record publish load"},
		{"--push --load --test", Options{Push: true, Load: true, Test: "true"}, "solve gate record publish load"},
		{"--load", Options{Load: true}, "solve load"},
		{"--push-by-digest", Options{PushByDigest: true}, "solve record"},
		{"--push-by-digest --test", Options{PushByDigest: true, Test: "true"}, "solve gate record"},
		{"--push-by-digest --load --test", Options{PushByDigest: true, Load: true, Test: "true"}, "solve gate record load"},
		{"-o type=image,push=true --test", Options{BuildxFlags: BuildxFlags{Outputs: []string{"type=image,push=true"}}, Test: "true"}, "solve gate record publish"},
		{"-o tar, 2 platforms, --push --load", Options{Push: true, Load: true, Platforms: []string{"linux/amd64,linux/arm64"}, BuildxFlags: BuildxFlags{Outputs: []string{"type=tar,dest=" + dir + "/out.tar"}}}, "solve outputs record publish load"},
		{"-o local, 1 platform (BuildKit writes it)", Options{Platforms: []string{"linux/amd64"}, BuildxFlags: BuildxFlags{Outputs: []string{"type=local,dest=" + dir + "/out"}}}, "solve"},
		{"--push --verify-reproducible --test --load", Options{Push: true, Test: "true", Load: true, VerifyReproducible: "true", SourceDateEpoch: "1"}, "solve reproduce gate record publish load"},
		{"--push-by-digest --verify-reproducible=warn", Options{PushByDigest: true, VerifyReproducible: "warn", SourceDateEpoch: "1"}, "solve reproduce record"},
		{"bake --push --test", Options{Push: true, Test: "true", DeferPublish: true}, "solve gate record hand over"},
		{"bake --push --load", Options{Push: true, Load: true, DeferPublish: true}, "solve record hand over"},
		{"bake --load", Options{Load: true, DeferPublish: true}, "solve hand over"},
		{"bake, nothing to deliver", Options{DeferPublish: true}, "solve"},
		{"bake --push-by-digest --load (no tag to hand over)", Options{PushByDigest: true, Load: true, DeferPublish: true}, "solve record hand over"},
	} {
		o := tc.o
		o.ContextPath, o.Tags, o.Timeout, o.TestCriteria.Timeout = dir, tags, time.Minute, time.Minute
		st := testRun(t, mustParse(t, o), nil, nil)
		got := strings.Join(stageNames(stagesFor(st.deliveryOf(), pipeline)), " ")
		if got != tc.want {
			t.Errorf("%s: stages %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Without a multiarch builder a push is one solve of every platform on the current context; the
// same order holds: the gate before the tags, the tags (or bake's hand-over) last.
func TestFallbackPipelineOrder(t *testing.T) {
	for d, want := range map[delivery]string{
		{publish: moveTags}:                           "solve record publish",
		{publish: moveTags, gate: true}:               "solve gate record publish",
		{publish: byDigest, gate: true}:               "solve gate record",
		{publish: deferred, gate: true, caller: true}: "solve gate record hand over",
	} {
		if got := strings.Join(stageNames(stagesFor(d, fallbackPipeline)), " "); got != want {
			t.Errorf("%+v: stages %q, want %q", d, got, want)
		}
	}
}

// A failure at any stage undoes what the stages before it did, newest first, and runs nothing
// after it: a failed load puts the tags back; a failed gate moves no tag and loads nothing.
func TestPipelineUndoesInReverseOnFailure(t *testing.T) {
	d := delivery{publish: moveTags, gate: true, load: true, outputs: true}
	production := stagesFor(d, pipeline)
	for fail := range production {
		var log []string
		stages := slices.Clone(production)
		for i := range stages {
			name, undo := stages[i].name, stages[i].undo
			stages[i].run = func(*Runner, context.Context, *runState) error {
				log = append(log, name)
				if i == fail {
					return errors.New(name + " failed")
				}
				return nil
			}
			if undo != nil {
				stages[i].undo = func(_ *Runner, _ context.Context, _ *runState, cause error) error {
					log = append(log, "undo "+name)
					return fmt.Errorf("%w; %s undone", cause, name)
				}
			}
		}
		err := (&Runner{}).runStages(context.Background(), stages, &runState{})
		var want []string
		for _, s := range production[:fail+1] {
			want = append(want, s.name)
		}
		for j := fail - 1; j >= 0; j-- {
			if production[j].undo != nil {
				want = append(want, "undo "+production[j].name)
			}
		}
		if !slices.Equal(log, want) || err == nil || !strings.Contains(err.Error(), production[fail].name+" failed") {
			t.Errorf("%s fails: ran %v, want %v (err %v)", production[fail].name, log, want, err)
		}
	}
	if got := stageNames(production); !slices.Equal(got, []string{"solve", "outputs", "gate", "record", "publish", "load"}) {
		t.Errorf("stages %v", got)
	}
	if i := slices.IndexFunc(production, func(s stage) bool { return s.name == "publish" }); production[i].undo == nil {
		t.Error("the publish has no undo: a failed load would leave the tags moved")
	}
}

// Bake's hand-over gives the caller the tags to move only for a build that moves tags: a
// --push-by-digest target hands over its load, never a publish (found by review).
func TestHandOverNeverPublishesAPushByDigest(t *testing.T) {
	for mode, wantSet := range map[string]bool{"push": true, "push-by-digest": false} {
		o := Options{Push: mode == "push", PushByDigest: mode == "push-by-digest", Load: true, DeferPublish: true, Tags: []string{"reg.example/app:1"}}
		o.ContextPath, o.Timeout = t.TempDir(), time.Minute
		st := testRun(t, mustParse(t, o), nil, nil)
		st.res.Steps = []StepResult{{Step: plan.Step{Platform: "linux/amd64"}}}
		st.descs = []ocispec.Descriptor{{Digest: digest.FromString("a")}}
		if err := (&Runner{}).handOverStage(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		if (st.res.Deferred != nil) != wantSet || st.res.Deliver == nil || st.res.Release == nil {
			t.Errorf("%s: deferred publish %v (want %v), load handed over %v", mode, st.res.Deferred != nil, wantSet, st.res.Deliver != nil)
		}
		st.res.Release()
	}
}

// A push without a multiarch builder delivers only the pushed index: --load or -o with it is
// refused before anything runs, instead of skipped without a word (found by review).
func TestFallbackRefusesWhatItCannotDeliver(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		o    Options
		want string
	}{
		"--push --load":         {Options{Push: true, Load: true}, "--load with a push needs a multiarch builder"},
		"--push -o type=tar":    {Options{Push: true, BuildxFlags: BuildxFlags{Outputs: []string{"type=tar,dest=" + dir + "/o.tar"}}}, "-o type=tar with a push needs a multiarch builder"},
		"--push":                {Options{Push: true}, ""},
		"--load without a push": {Options{Load: true}, ""},
	} {
		o := tc.o
		o.ContextPath, o.Timeout, o.Tags = dir, time.Minute, []string{"reg.example/app:1"}
		st := testRun(t, mustParse(t, o), nil, nil)
		st.t.Fallback = true
		err := fallbackDelivers(st)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
