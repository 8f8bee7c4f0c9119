// Package tester runs each variant of an image on a node that can run it (native first, else one
// that emulates it), all in parallel, and judges the run: the exit code, the output, or a server
// that is still up after a while. It is the test gate that keeps a broken variant off a tag.
package tester

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
)

// Criteria say how a variant is run and when it passes.
type Criteria struct {
	Cmd          []string      // the command; nil runs the image's own entrypoint and cmd
	ExpectExit   int           // the exit code that passes (default 0)
	ExpectOutput string        // a regular expression the output must match ("" = any)
	Running      time.Duration // > 0: a server; passes when still running after this long
	Network      string        // the container's network ("" or "default": the engine's default)
	Timeout      time.Duration // for each variant: pull, run and judge
}

// Check validates the criteria; an error names the bad value.
func (c Criteria) Check() error {
	if c.ExpectOutput != "" {
		if _, err := regexp.Compile(c.ExpectOutput); err != nil {
			return fmt.Errorf("invalid --expect-output %q: %w", c.ExpectOutput, err)
		}
	}
	if c.Running < 0 {
		return fmt.Errorf("invalid --running %s: must be positive", c.Running)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("invalid --test-timeout %s: must be positive", c.Timeout)
	}
	if c.Running > 0 && c.Running >= c.Timeout {
		return fmt.Errorf("invalid --running %s: it must be shorter than the test timeout (%s)", c.Running, c.Timeout)
	}
	switch c.Network {
	case "", "default", "host", "none", "bridge":
	default:
		return fmt.Errorf("invalid --network %q: want default, host, none or bridge", c.Network)
	}
	return nil
}

// judge decides whether a finished run passed, and why not.
func (c Criteria) judge(r *Result, output string) {
	switch {
	case c.Running > 0 && !r.Running:
		r.Reason = fmt.Sprintf("exited with code %d before %s; a server must keep running", r.ExitCode, c.Running)
	case c.Running > 0:
	case r.ExitCode != c.ExpectExit:
		r.Reason = fmt.Sprintf("exit code %d, want %d", r.ExitCode, c.ExpectExit)
	}
	if r.Reason == "" && c.ExpectOutput != "" && !regexp.MustCompile(c.ExpectOutput).MatchString(output) {
		r.Reason = fmt.Sprintf("the output does not match %q", c.ExpectOutput)
	}
	r.Passed = r.Reason == ""
}

// maxOutputLine is the most of one output line a result keeps.
const maxOutputLine = 512

// lastLines keeps the last n non-empty lines of an output, each cut to maxOutputLine and with
// what a terminal would act on (escape sequences, other control characters) shown as "?".
func lastLines(out string, n int) []string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		l = strings.ToValidUTF8(l, "?")
		l = strings.Map(func(r rune) rune {
			if r != '\t' && (unicode.IsControl(r) || r == 0x9b) {
				return '?'
			}
			return r
		}, l)
		lines[i] = bounded.Cut(l, maxOutputLine)
	}
	return lines
}
