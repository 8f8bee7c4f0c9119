package driver

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/internal/history"
)

// What the history keeps of tags: only names that parse, normalized; a value that does not parse
// (it could hold anything typed) is left out.
func TestHistoryKeepsOnlyTagsThatParse(t *testing.T) {
	got := tagsOf([]string{"app", "reg.example/team/app:1", "reg.example/team/app:1", "https://user:s3cret@x/y", "BAD:Tag:x"})
	want := []string{"docker.io/library/app:latest", "reg.example/team/app:1"}
	if !slices.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	for _, g := range got {
		if strings.Contains(g, "s3cret") {
			t.Errorf("a secret kept: %v", got)
		}
	}
}

// The command line the history keeps: URL credentials and the values of secret-carrying flags
// masked, in both the "--flag value" and "--flag=value" forms.
func TestHistoryMasksTheCommandLine(t *testing.T) {
	got := maskedArgs([]string{"/x/docker-multiarch", "multiarch", "build", "--build-arg", "TOKEN=s3cret", "--build-arg=PW=hunter2",
		"--secret", "id=a,env=S", "--set", "*.args.K=v4lue", "https://u:p4ss@git.example/r.git", "-t", "r/app:1"})
	want := "multiarch build --build-arg TOKEN=xxxxx --build-arg=PW=xxxxx --secret id=xxxxx --set *.args.K=xxxxx https://u:xxxxx@git.example/r.git -t r/app:1"
	if strings.Join(got, " ") != want {
		t.Errorf("args:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	for _, s := range []string{"s3cret", "hunter2", "v4lue", "p4ss"} {
		if strings.Contains(strings.Join(got, " "), s) {
			t.Errorf("%q kept", s)
		}
	}
}

// A failed build's error shows its RUN line with the build arguments expanded: the record keeps
// none of their values.
func TestHistoryMasksArgValuesInTheError(t *testing.T) {
	store := historyStore(t.TempDir() + "/config.json")
	r := &run{store: store, rec: history.Record{ID: "0123456789abcdef", Command: "build"}, masks: argValues([]string{"TOKEN=s3cret-token", "X=1"})}
	r.end("b", nil, errors.New(`process "/bin/sh -c curl s3cret-token" did not complete: exit code: 1`), nil)
	got, err := store.Get("0123456789abcdef")
	if err != nil || strings.Contains(got.Error, "s3cret") || !strings.Contains(got.Error, "curl xxxxx") {
		t.Errorf("error kept %q (%v)", got.Error, err)
	}
}

// The history keeps each platform's --verify-reproducible verdict, naming the second node.
func TestHistoryKeepsTheReproductionVerdict(t *testing.T) {
	res := &BuildResult{Steps: []StepResult{
		{Step: plan.Step{Platform: "linux/amd64", Node: "a"}, Reproduced: &Reproduction{Node: "b", Reproduced: true, Digest: "sha256:1"}},
		{Step: plan.Step{Platform: "linux/arm64", Node: "c"}, Reproduced: &Reproduction{Node: "c", Digest: "sha256:2"}},
		{Step: plan.Step{Platform: "linux/arm/v7", Node: "c"}, Reproduced: &Reproduction{Node: "c", Error: "the second build did not finish"}},
		{Step: plan.Step{Platform: "linux/s390x", Node: "d"}},
	}}
	var rec history.Record
	buildDetails(res, "")(&rec)
	var got []string
	for _, p := range rec.Platforms {
		got = append(got, p.Reproduced)
	}
	if strings.Join(got, "|") != "reproduced on b|differs on c|not checked on c|" {
		t.Fatalf("verdicts %q", got)
	}
}
