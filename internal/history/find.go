package history

import (
	"time"
)

// Facts are what a command asks of the history before it starts.
type Facts struct {
	Expected time.Duration     // how long the newest successful run alike took (0: none)
	Warm     map[string]string // by platform, where the newest successful run of the same build built (LastDuration, WarmNodes)
}

// Find reads the records newest first, by when each was written (its end: of two runs that
// overlapped, the one that ended last counts), only until it knows the Facts of a run of command
// with key, and of the build buildKey ("": none): a rebuild reads one file, not the whole
// history. A record whose start, or file, is beyond skew in the future is read last.
func (s *Store) Find(command, key, buildKey string) Facts {
	f := Facts{Warm: map[string]string{}}
	if !s.readable() {
		return f
	}
	expectedKnown, warmKnown := false, buildKey == ""
	found := func(r Record) bool {
		if d, ok := LastDuration([]Record{r}, command, key); ok && !expectedKnown {
			f.Expected, expectedKnown = d, true
		}
		if !warmKnown && r.BuildKey == buildKey && r.Outcome == Succeeded {
			f.Warm, warmKnown = WarmNodes([]Record{r}, buildKey), true
		}
		return expectedKnown && warmKnown
	}
	horizon := time.Now().Add(skew)
	var later []Record
	for _, id := range s.newestFiles() {
		r, err := s.read(id)
		switch {
		case err != nil:
		case r.Start.After(horizon):
			later = append(later, r)
		case found(r):
			return f
		}
	}
	for _, r := range later {
		if found(r) {
			break
		}
	}
	return f
}

// LastDuration is how long the newest successful run of command with key took, among recs
// (newest first, as List gives them).
func LastDuration(recs []Record, command, key string) (time.Duration, bool) {
	for _, r := range recs {
		if r.Command == command && r.Outcome == Succeeded && r.Key == key && r.Duration() > 0 {
			return r.Duration(), true
		}
	}
	return 0, false
}

// WarmNodes are, by platform, the nodes the newest successful run of the same build (buildKey)
// among recs built on: they hold its cache. Empty without one.
func WarmNodes(recs []Record, buildKey string) map[string]string {
	out := map[string]string{}
	if buildKey == "" {
		return out
	}
	for _, r := range recs {
		if r.BuildKey != buildKey || r.Outcome != Succeeded {
			continue
		}
		for _, p := range r.Platforms {
			if p.Node != "" {
				out[p.Platform] = p.Node
			}
		}
		break
	}
	return out
}
