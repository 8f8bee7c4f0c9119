package history

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A record within the runner's caps (500 steps per platform, names and errors 200 bytes) reads back: its steps are thinned to fit.
func TestStoreBigRecordReadsBack(t *testing.T) {
	s := Open(t.TempDir())
	now := time.Now()
	r := Record{ID: "00000000000000aa", Command: "build", Outcome: Succeeded, Start: now, End: now.Add(time.Minute)}
	for p := 0; p < 4; p++ {
		pr := PlatformRecord{Platform: fmt.Sprintf("linux/p%d", p)}
		for i := 0; i < 500; i++ {
			pr.Vertices = append(pr.Vertices, StepRecord{Name: strings.Repeat("n", 200) + "...", Started: now, Completed: now, Error: strings.Repeat("e", 200) + "..."})
		}
		r.Platforms = append(r.Platforms, pr)
	}
	if err := s.Add(r); err != nil {
		t.Fatalf("add: %v", err)
	}
	if _, err := s.Get(r.ID); err != nil {
		t.Errorf("written record cannot be read back: %v", err)
	}
}
