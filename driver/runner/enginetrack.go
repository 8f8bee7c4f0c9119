package runner

import (
	"io"
	"regexp"
	"strings"
	"sync"
)

// stepTracker reads the classic builder's output ("Step 2/3 : RUN ...", " ---> 3f2a1b0c9d8e") for
// the images it commits, so that a build that fails or is interrupted half way leaves none behind
// (the image of a FROM step is the base, not the build's own).
type stepTracker struct {
	w        io.Writer
	made     func(id string)
	running  func(container string)
	partial  string
	skipping bool // the line in progress grew past maxTrackedLine
	from     bool // the step is a FROM: its image is the base
	cached   bool // the step's image came from the engine's cache: another build made it
}

// The patterns are compiled on first use: package init runs on every start of the plugin
// (docker runs it for its metadata before every command), so it stays cheap.
var (
	stepLine      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Step \d+/\d+ : (\S+)`) })
	imageLine     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ ---> ([0-9a-f]{12,64})$`) })
	containerLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ ---> Running in ([0-9a-f]{12,64})$`) })
)

// maxTrackedLine is the longest line the tracker reads: the builder's own lines are short; a RUN
// that prints without newlines is passed on, not kept.
const maxTrackedLine = 4096

func (t *stepTracker) Write(b []byte) (int, error) {
	t.partial += string(b)
	for {
		line, rest, ok := strings.Cut(t.partial, "\n")
		if !ok {
			if len(t.partial) > maxTrackedLine {
				t.partial, t.skipping = "", true // the rest of this line is no builder line
			}
			break
		}
		t.partial = rest
		if t.skipping {
			t.skipping = false
			continue
		}
		switch m := stepLine().FindStringSubmatch(line); {
		case m != nil:
			t.from, t.cached = strings.EqualFold(m[1], "FROM"), false
		case line == " ---> Using cache":
			t.cached = true
		}
		if m := containerLine().FindStringSubmatch(line); m != nil {
			t.running(m[1])
		} else if m := imageLine().FindStringSubmatch(line); m != nil && !t.from && !t.cached {
			t.made(m[1])
		}
	}
	return t.w.Write(b)
}
