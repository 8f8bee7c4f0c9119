package runner

import (
	"maps"
	"slices"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// A build connects ahead only to the nodes its platforms choose among: the native ones, else
// those emulating the platform; never a node of another platform, a Windows engine, or any node
// for a dry run or the classic builder.
func TestWarmSetIsTheNodesThePlatformsChooseAmong(t *testing.T) {
	target := warmTarget()
	steps := func(plats ...string) *Result {
		res := &Result{}
		for _, p := range plats {
			res.Steps = append(res.Steps, StepResult{Step: plan.Step{Platform: p}})
		}
		return res
	}
	for name, tc := range map[string]struct {
		o    Options
		res  *Result
		t    builders.Target
		want []string
	}{
		"amd64 and arm64":     {Options{}, steps("linux/amd64", "linux/arm64"), target, []string{"farm-a", "farm-b"}},
		"arm64 alone":         {Options{}, steps("linux/arm64"), target, []string{"farm-b"}},
		"arm/v7 and windows":  {Options{}, steps("linux/arm/v7", "windows/amd64"), target, []string{"farm-c"}},
		"a dry run":           {Options{DryRun: true}, steps("linux/amd64"), target, nil},
		"the classic builder": {Options{}, steps("linux/amd64"), builders.Target{Name: "default", Fallback: true, Nodes: target.Nodes[:1]}, nil},
		"--strategy engine":   {Options{Strategy: plan.StrategyEngine}, steps("linux/amd64"), target, nil},
	} {
		t.Run(name, func(t *testing.T) {
			tc.o.ContextPath = t.TempDir()
			st := &runState{p: mustParse(t, tc.o), t: tc.t, res: tc.res}
			if got := slices.Sorted(maps.Keys(warmSet(st))); !slices.Equal(got, tc.want) {
				t.Errorf("warmed %v, want %v", got, tc.want)
			}
		})
	}
}

func warmTarget() builders.Target {
	return builders.Target{Name: "farm", Nodes: []plan.RouteNode{
		{Name: "a", BuildxNode: "farm-a", Native: []string{"linux/amd64"}},
		{Name: "b", BuildxNode: "farm-b", Native: []string{"linux/amd64"}, Emulated: []string{"linux/arm64"}},
		{Name: "c", BuildxNode: "farm-c", Native: []string{"linux/arm/v7"}},
		{Name: "win", BuildxNode: "", Native: []string{"windows/amd64"}, EngineOnly: true},
	}}
}

// Bake's targets, before any is planned, connect ahead to the nodes their platforms choose among
// (as warmSet), a target without platforms to those of the builder's default platforms; a
// platform that does not parse connects to nothing (the target's build reports it).
func TestBuildsWarmSetIsTheNodesOfEveryBuild(t *testing.T) {
	target := warmTarget()
	defaults := slices.Sorted(maps.Keys(nodesChoosing(target, plan.DefaultPlatforms(target.Nodes), plan.StrategyBuildKit)))
	for name, tc := range map[string]struct {
		builds [][]string
		want   []string
	}{
		"arm64, then arm/v7":        {[][]string{{"linux/arm64"}, {"linux/arm/v7"}}, []string{"farm-b", "farm-c"}},
		"one list, comma-separated": {[][]string{{"linux/arm64,linux/arm/v7"}}, []string{"farm-b", "farm-c"}},
		"no platforms":              {[][]string{nil}, defaults},
		"windows only":              {[][]string{{"windows/amd64"}}, nil},
		"a platform that is wrong":  {[][]string{{"linux/arm64"}, {"linux/"}}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			if got := slices.Sorted(maps.Keys(buildsWarmSet(target, tc.builds))); !slices.Equal(got, tc.want) {
				t.Errorf("warmed %v, want %v", got, tc.want)
			}
		})
	}
	if len(defaults) == 0 {
		t.Fatal("the builder's default platforms choose no node: the case tests nothing")
	}
}
