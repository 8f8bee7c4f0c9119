package plugin

import (
	"strconv"
	"time"

	"github.com/docker/cli/cli/command/formatter"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

// testTable is `test`'s default table: platform, node, mode, exit, duration, result, last output.
const testTable = "table {{.Platform}}\t{{.Node}}\t{{.Mode}}\t{{.Exit}}\t{{.Duration}}\t{{.Result}}\t{{.Output}}"

var testHeader = formatter.SubHeaderContext{
	"Platform": "PLATFORM", "Image": "IMAGE", "Node": "NODE", "Mode": "MODE", "Emulated": "EMULATED",
	"Exit": "EXIT", "ExitCode": "EXIT CODE", "Running": "RUNNING", "Duration": "DURATION",
	"Result": "RESULT", "Passed": "PASSED", "Reason": "REASON", "Output": "OUTPUT",
}

func testRow(r driver.TestResult) formatter.SubContext { return &testContext{r: r} }

// testContext is a variant's result as `test --format` templates see it; its JSON is the
// result's (the keys the build metadata's "test" entries have too).
type testContext struct {
	formatter.HeaderContext
	r driver.TestResult
}

func (c *testContext) MarshalJSON() ([]byte, error) { return marshalJSON(c.r) }
func (c *testContext) Platform() string             { return c.r.Platform }
func (c *testContext) Image() string                { return c.r.Image }
func (c *testContext) Node() string                 { return c.r.Node }
func (c *testContext) Mode() string                 { return mode(c.r.Emulated) }
func (c *testContext) Emulated() bool               { return c.r.Emulated }
func (c *testContext) ExitCode() int                { return c.r.ExitCode }
func (c *testContext) Running() bool                { return c.r.Running }
func (c *testContext) Passed() bool                 { return c.r.Passed }
func (c *testContext) Reason() string               { return c.r.Reason }

func (c *testContext) Duration() string {
	return c.r.Duration.Round(100 * time.Millisecond).String()
}

// Exit is the exit code, "running" for a server still up, "-" when it never exited.
func (c *testContext) Exit() string {
	switch {
	case c.r.Running:
		return "running"
	case c.r.ExitCode < 0:
		return "-"
	}
	return strconv.Itoa(c.r.ExitCode)
}

// Result is "pass", or "FAIL: " and the reason.
func (c *testContext) Result() string {
	if c.r.Passed {
		return "pass"
	}
	return "FAIL: " + c.r.Reason
}

// Output is the last line the variant printed.
func (c *testContext) Output() string {
	if len(c.r.Output) == 0 {
		return "-"
	}
	return c.r.Output[len(c.r.Output)-1]
}
