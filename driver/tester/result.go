package tester

import (
	"fmt"
	"strings"
	"time"
)

// Variant is one image of a reference to run: its platform and where to pull it by digest.
type Variant struct {
	Platform string `json:"platform"`
	Image    string `json:"image"` // REPO@sha256:...
}

// Assignment is a variant and the node it runs on.
type Assignment struct {
	Variant
	Node     string `json:"node"`
	Emulated bool   `json:"emulated"`
}

// Result is how one variant's run went.
type Result struct {
	Assignment
	ExitCode int           `json:"exitCode"`          // -1 when it did not exit (a server, or it never ran)
	Running  bool          `json:"running,omitempty"` // still running when it was judged
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"durationSeconds"`
	Output   []string      `json:"output"` // the last lines it printed
	Passed   bool          `json:"passed"`
	Reason   string        `json:"reason,omitempty"` // why it failed
}

// Failed is the error of a test with failing variants: each named with its node and output.
type Failed struct {
	Results []Result
}

func (f *Failed) Error() string {
	var parts []string
	for _, r := range f.Results {
		if r.Passed {
			continue
		}
		s := fmt.Sprintf("%s on node %s: %s", r.Platform, r.Node, r.Reason)
		if len(r.Output) > 0 {
			s += "; output: " + strings.Join(r.Output, " | ")
		}
		parts = append(parts, s)
	}
	return "test failed: " + strings.Join(parts, "; ")
}

// Check is the error of a set of results: nil when every variant passed.
func Check(results []Result) error { return check(results) }

// check is the error of a set of results: nil when every variant passed.
func check(results []Result) error {
	for _, r := range results {
		if !r.Passed {
			return &Failed{Results: results}
		}
	}
	return nil
}
