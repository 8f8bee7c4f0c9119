package runner

import (
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// --load of a platform an engine builds with its classic builder is refused before anything runs:
// its image stays on that engine.
func TestEngineLoadsRefused(t *testing.T) {
	res := &Result{Steps: []StepResult{
		{Step: plan.Step{Platform: "linux/amd64", Node: "a", Strategy: plan.StrategyBuildKit}, Loaded: true},
		{Step: plan.Step{Platform: "windows/amd64", Node: "win", Strategy: plan.StrategyEngine}, Loaded: true},
	}}
	if err := engineLoads(res); err == nil || !strings.Contains(err.Error(), "windows/amd64 is built by the engine of node win") {
		t.Errorf("err = %v", err)
	}
	res.Steps[1].Loaded = false // a classic store loads the native variant only
	if err := engineLoads(res); err != nil {
		t.Errorf("only BuildKit steps loaded: %v", err)
	}
}
