package plan

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Two nodes for linux/amd64 (an engine and a BuildKit daemon), one for linux/arm64 that also
// emulates linux/amd64 (create --emulate).
var poolRoute = []RouteNode{
	{Name: "eng", BuildxNode: "m-eng", Native: []string{"linux/amd64"}},
	{Name: "bk", BuildxNode: "m-bk", Native: []string{"linux/amd64"}, BuildKit: true},
	{Name: "arm", BuildxNode: "m-arm", Native: []string{"linux/arm64"}, Emulated: []string{"linux/amd64"}, BuildKit: true},
}

func nodesOf(r Routing) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Node)
	}
	return out
}

func TestRouteWithPicksTheLeastBusyAnsweringNode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		health map[string]Health
		want   string
	}{
		{"idle: the first node", nil, "eng"},
		{"eng runs a build", map[string]Health{"eng": {Running: 1}}, "bk"},
		{"this machine started one on eng", map[string]Health{"eng": {Local: 1}}, "bk"},
		{"both busy, bk more", map[string]Health{"eng": {Running: 2}, "bk": {Running: 3}}, "eng"},
		{"eng does not answer", map[string]Health{"eng": {Err: `node "eng": no answer`}}, "bk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := RouteWith(poolRoute, []string{"linux/amd64"}, RouteOptions{Health: tc.health})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Steps[0]; got.Node != tc.want || got.Emulated {
				t.Errorf("step %+v, want node %s natively", got, tc.want)
			}
			if len(r.Alternatives[0]) != 2 {
				t.Errorf("alternatives %+v, want the two other nodes", r.Alternatives[0])
			}
		})
	}
}

func TestRouteWithSkipsAndWarnsThenFailsNamingEveryNode(t *testing.T) {
	down := map[string]Health{"bk": {Err: `node "bk" (tcp://10.0.0.2:1234): no answer within 3s`}}
	r, err := RouteWith(poolRoute, []string{"linux/amd64"}, RouteOptions{Health: down})
	if err != nil || r.Steps[0].Node != "eng" {
		t.Fatalf("routing %+v, %v", r, err)
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Node != "bk" || r.Skipped[0].Platform != "linux/amd64" {
		t.Errorf("skipped %+v", r.Skipped)
	}
	// Both native nodes down: the node that emulates linux/amd64 (--emulate) takes it, saying so.
	down["eng"] = Health{Err: `node "eng" (unix:///x.sock): connection refused`}
	r, err = RouteWith(poolRoute, []string{"linux/amd64"}, RouteOptions{Health: down})
	if err != nil || r.Steps[0].Node != "arm" || !r.Steps[0].Emulated || len(r.Skipped) != 2 {
		t.Fatalf("routing %+v, %v", r, err)
	}
	// Without a node that emulates it: the plan fails, naming both.
	_, err = RouteWith(poolRoute[:2], []string{"linux/amd64"}, RouteOptions{Health: down})
	if err == nil || !strings.Contains(err.Error(), `node "eng"`) || !strings.Contains(err.Error(), `node "bk"`) {
		t.Errorf("error = %v", err)
	}
}

func TestRouteWithSpreadsOneBuild(t *testing.T) {
	nodes := []RouteNode{
		{Name: "x", Native: []string{"linux/amd64", "linux/arm64"}},
		{Name: "y", Native: []string{"linux/amd64"}},
	}
	// arm64 first (x alone builds it), then amd64 on y (x has one), then amd64 again on x (one
	// each: x first in the builder's order).
	r, err := RouteWith(nodes, []string{"linux/amd64", "linux/arm64", "linux/amd64"}, RouteOptions{})
	if err != nil || !slices.Equal(nodesOf(r), []string{"y", "x", "x"}) {
		t.Errorf("routing %v, %v", nodesOf(r), err)
	}
	// With x busy, amd64 goes to y.
	r, err = RouteWith(nodes, []string{"linux/amd64", "linux/arm64"}, RouteOptions{Health: map[string]Health{"x": {Running: 1}}})
	if err != nil || !slices.Equal(nodesOf(r), []string{"y", "x"}) {
		t.Errorf("routing %v, %v", nodesOf(r), err)
	}
	// A platform requested first that two nodes build does not take the node another platform
	// of the build can only go to (the farm's engine native to amd64 that alone emulates arm64).
	shared := []RouteNode{
		{Name: "engine", Native: []string{"linux/amd64"}, Emulated: []string{"linux/arm64"}},
		{Name: "daemon", Native: []string{"linux/amd64"}},
	}
	r, err = RouteWith(shared, []string{"linux/amd64", "linux/arm64"}, RouteOptions{})
	if err != nil || !slices.Equal(nodesOf(r), []string{"daemon", "engine"}) {
		t.Errorf("routing %v, %v: amd64 should leave the engine to arm64", nodesOf(r), err)
	}
}

func TestRouteWithEngineStrategyLeavesBuildKitDaemonsOut(t *testing.T) {
	r, err := RouteWith(poolRoute, []string{"linux/amd64"}, RouteOptions{Strategy: StrategyEngine, Health: map[string]Health{"eng": {Running: 5}}})
	if err != nil || r.Steps[0].Node != "eng" {
		t.Fatalf("routing %+v, %v", r, err)
	}
	_, err = RouteWith(poolRoute, []string{"linux/arm64"}, RouteOptions{Strategy: StrategyEngine})
	if err == nil || !strings.Contains(err.Error(), "--strategy engine") || !strings.Contains(err.Error(), "arm is a BuildKit daemon") {
		t.Errorf("error = %v", err)
	}
}

// The warm node (it built this last: its cache has the steps) wins while it is no busier than the
// least loaded one; busier, the least loaded wins; a warm node that does not answer is passed
// over. Each choice says why.
func TestRouteWarmNode(t *testing.T) {
	nodes := []RouteNode{{Name: "a", Native: []string{"linux/amd64"}}, {Name: "b", Native: []string{"linux/amd64"}}, {Name: "pi", Native: []string{"linux/arm64"}}}
	for _, tc := range []struct {
		name       string
		health     map[string]Health
		want, why  string
		wantArmWhy string
	}{
		{"idle", nil, "b", "warm: it built this last", ""},
		{"warm busier", map[string]Health{"b": {Running: 1}}, "a", "least loaded", ""},
		{"warm as busy", map[string]Health{"a": {Running: 1}, "b": {Local: 1}}, "b", "warm: it built this last", ""},
		{"warm silent", map[string]Health{"b": {Err: "node b: no answer"}}, "a", "the only one answering", ""},
	} {
		r, err := RouteWith(nodes, []string{"linux/amd64", "linux/arm64"}, RouteOptions{Health: tc.health, Warm: map[string]string{"linux/amd64": "b", "linux/arm64": "pi"}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Steps[0].Node != tc.want || r.Reasons[0] != tc.why || r.Reasons[1] != tc.wantArmWhy {
			t.Errorf("%s: %s (%q), arm64 %q; want %s (%q)", tc.name, r.Steps[0].Node, r.Reasons[0], r.Reasons[1], tc.want, tc.why)
		}
	}
	// Two platforms warm on the same node: the second goes elsewhere once the first is given to it.
	r, _ := RouteWith([]RouteNode{{Name: "a", Native: []string{"linux/amd64"}, Emulated: []string{"linux/386"}}, {Name: "b", Native: []string{"linux/amd64"}, Emulated: []string{"linux/386"}}},
		[]string{"linux/amd64", "linux/386"}, RouteOptions{Warm: map[string]string{"linux/amd64": "b", "linux/386": "b"}})
	if r.Steps[0].Node != "b" || r.Steps[1].Node != "a" {
		t.Errorf("both on %s and %s", r.Steps[0].Node, r.Steps[1].Node)
	}
}

// Without a local record, the node whose BuildKit history has this build completed last is warm
// (another machine's build counts); a local record wins over it; busier, it loses as a local one.
func TestRouteWarmFromBuildKitHistory(t *testing.T) {
	nodes := []RouteNode{{Name: "a", Native: []string{"linux/amd64"}}, {Name: "b", Native: []string{"linux/amd64"}}, {Name: "c", Native: []string{"linux/amd64"}}}
	now := time.Now()
	built := func(at time.Time) map[string]time.Time { return map[string]time.Time{"linux/amd64": at} }
	health := map[string]Health{"b": {Built: built(now.Add(-time.Hour))}, "c": {Built: built(now.Add(-time.Minute))}}
	r, err := RouteWith(nodes, []string{"linux/amd64"}, RouteOptions{Health: health})
	if err != nil || r.Steps[0].Node != "c" || r.Reasons[0] != "warm: its BuildKit built this last" {
		t.Errorf("routing %v %q, %v: want c, the newest", nodesOf(r), r.Reasons, err)
	}
	r, _ = RouteWith(nodes, []string{"linux/amd64"}, RouteOptions{Health: health, Warm: map[string]string{"linux/amd64": "b"}})
	if r.Steps[0].Node != "b" || r.Reasons[0] != "warm: it built this last" {
		t.Errorf("with a local record of b: %v %q", nodesOf(r), r.Reasons)
	}
	health["c"] = Health{Running: 2, Built: built(now)}
	r, _ = RouteWith(nodes, []string{"linux/amd64"}, RouteOptions{Health: health})
	if r.Steps[0].Node != "a" || r.Reasons[0] != "least loaded" {
		t.Errorf("the warm node busier: %v %q", nodesOf(r), r.Reasons)
	}
	// Another platform's build on a node does not make it warm for this one.
	r, _ = RouteWith(nodes, []string{"linux/amd64"}, RouteOptions{Health: map[string]Health{"c": {Built: map[string]time.Time{"linux/arm64": now}}}})
	if r.Steps[0].Node != "a" {
		t.Errorf("warm for arm64 only: %v", nodesOf(r))
	}
}
