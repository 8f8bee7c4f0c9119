package runner

import (
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

func TestApplyRoutingKeepsDockerfilesAndWarnsOfSkippedNodes(t *testing.T) {
	nodes := []plan.RouteNode{
		{Name: "eng", BuildxNode: "p-eng", Native: []string{"linux/amd64"}},
		{Name: "bk", BuildxNode: "p-bk", Native: []string{"linux/amd64"}, BuildKit: true},
	}
	down := `node "bk" (tcp://10.0.0.2:1234) did not answer: no answer within 3s`
	routing, err := plan.RouteWith(nodes, []string{"linux/amd64"}, plan.RouteOptions{Health: map[string]plan.Health{"bk": {Err: down}}})
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Steps: []StepResult{{Step: plan.Step{Platform: "linux/amd64", Node: "bk", Dockerfile: "ctx/Dockerfile.linux-amd64"}}}}
	applyRouting(&runState{p: &parsed{Options: Options{Strategy: plan.StrategyBuildKit}}, res: res}, routing)
	s := res.Steps[0]
	if s.Node != "eng" || s.BuildxNode != "p-eng" || s.Dockerfile != "ctx/Dockerfile.linux-amd64" || len(s.Alternatives) != 1 || s.Alternatives[0].Error != down {
		t.Errorf("step %+v", s)
	}
	if len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], down) || !strings.Contains(res.Warnings[0], "linux/amd64 is built on node eng instead") {
		t.Errorf("warnings %q", res.Warnings)
	}
}
