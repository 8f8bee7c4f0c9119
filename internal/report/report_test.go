package report

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/history"
)

// A step's name is what a Dockerfile wrote: it is shown, never run. The page fetches nothing.
func TestRenderEscapesWhatTheBuildWrote(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	r := history.Record{ID: "ab12", Command: "build", Outcome: history.Failed, Start: t0, End: t0.Add(10 * time.Second),
		Args:  []string{"multiarch", "build", "-t", "r/app:1", "."},
		Error: `<img src=x onerror=alert(1)>`,
		Platforms: []history.PlatformRecord{{Platform: "linux/arm64", Node: "n<b>1", Steps: 2, Cached: 1, Vertices: []history.StepRecord{
			{Name: `RUN echo "<script>alert(1)</script>"`, Started: t0.Add(time.Second), Completed: t0.Add(3 * time.Second)},
			{Name: "RUN false", Started: t0.Add(3 * time.Second), Completed: t0.Add(4 * time.Second), Error: "exit code: 1"},
			{Name: "FROM x", Started: t0.Add(time.Second / 2), Completed: t0.Add(time.Second / 2), Cached: true},
		}}},
	}
	page, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, bad := range []string{"<script>", "<img", "<b>1", "http://", "https://", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	for _, want := range []string{`data-lane="linux/arm64 on n&lt;b&gt;1"`, "1/2 steps cached", `class="bar step failed"`, `class="bar step cached"`, "exit code: 1", "No tag moved"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Steps in the order they started.
	if strings.Index(s, ">FROM x<") > strings.Index(s, ">RUN false<") {
		t.Error("steps are not in the order they started")
	}
}
