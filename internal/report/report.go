// Package report renders one recorded run (internal/history) as a self-contained HTML page: a
// summary, a timeline with one lane per platform and node (each BuildKit step a bar, cached ones
// marked, a failing one red) and one for the plugin's own phases, where every tag went, and the
// error. No script, font or image is fetched: it opens without a network and prints.
package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker-multiarch/docker-multiarch/internal/history"
)

//go:embed report.html.tmpl
var page string

// tmpl is parsed when a report is written, not when the plugin starts (start-up is measured).
var tmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{"join": strings.Join}).Parse(page))
})

// Render is the page of one record.
func Render(r history.Record) ([]byte, error) {
	var buf bytes.Buffer
	if err := tmpl().Execute(&buf, view(r)); err != nil {
		return nil, fmt.Errorf("report of %s: %w", r.ID, err)
	}
	return buf.Bytes(), nil
}

type pageView struct {
	history.Record
	Took   string
	Lanes  []lane
	Scale  []tick
	Failed bool
}

type lane struct {
	Label string
	Note  string
	Bars  []bar
}

type bar struct {
	Name, Title, Class string
	Left, Width        float64 // percent of the run
}

type tick struct {
	Left  float64
	Label string
}

// view lays the record out on the run's time axis.
func view(r history.Record) pageView {
	v := pageView{Record: r, Took: r.Duration().Round(time.Millisecond).String(), Failed: r.Outcome != history.Succeeded}
	span := r.End.Sub(r.Start)
	if span <= 0 {
		span = time.Millisecond
	}
	at := func(t time.Time) float64 { return clamp(100 * float64(t.Sub(r.Start)) / float64(span)) }
	first, last := r.End, r.Start
	for i := range r.Platforms {
		p := &r.Platforms[i]
		slices.SortStableFunc(p.Vertices, func(a, b history.StepRecord) int { return a.Started.Compare(b.Started) })
		l := lane{Label: laneLabel(*p), Note: laneNote(*p)}
		for _, s := range p.Vertices {
			if s.Started.IsZero() {
				continue
			}
			end := s.Completed
			if end.IsZero() {
				end = r.End
			}
			first, last = earlier(first, s.Started), later(last, end)
			b := bar{Name: s.Name, Left: at(s.Started), Width: max(at(end)-at(s.Started), 0.4), Class: "step"}
			b.Title = fmt.Sprintf("%s: %s", s.Name, end.Sub(s.Started).Round(time.Millisecond))
			switch {
			case s.Error != "":
				b.Class, b.Title = "step failed", b.Title+" — "+s.Error
			case s.Cached:
				b.Class, b.Title = "step cached", b.Title+" (cached)"
			}
			l.Bars = append(l.Bars, b)
		}
		v.Lanes = append(v.Lanes, l)
	}
	v.Lanes = append([]lane{phases(r, first, last, at)}, v.Lanes...)
	for i := 0; i <= 4; i++ {
		v.Scale = append(v.Scale, tick{Left: float64(i) * 25, Label: (span * time.Duration(i) / 4).Round(time.Millisecond).String()})
	}
	return v
}

// phases is the plugin's own lane: before the first BuildKit step (plan, bases, push access,
// routing), the builds, and after the last step (the gate, signing, publish and verify).
func phases(r history.Record, first, last time.Time, at func(time.Time) float64) lane {
	l := lane{Label: "docker multiarch", Note: "its own phases"}
	if !first.Before(last) {
		return l
	}
	add := func(name string, from, to time.Time, class string) {
		if to.After(from) {
			l.Bars = append(l.Bars, bar{Name: name, Title: fmt.Sprintf("%s: %s", name, to.Sub(from).Round(time.Millisecond)),
				Left: at(from), Width: max(at(to)-at(from), 0.4), Class: class})
		}
	}
	add("plan, bases, push access, route", r.Start, first, "phase")
	add("build on the nodes", first, last, "phase build")
	add("gate, sign, publish, verify", last, r.End, "phase")
	return l
}

func laneLabel(p history.PlatformRecord) string {
	s := p.Platform
	if p.Target != "" {
		s = p.Target + " " + s
	}
	if p.Node != "" {
		s += " on " + p.Node
	}
	return s
}

func laneNote(p history.PlatformRecord) string {
	var parts []string
	if p.Emulated {
		parts = append(parts, "emulated")
	}
	if p.Steps > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d steps cached", p.Cached, p.Steps))
	}
	if p.Digest != "" {
		parts = append(parts, p.Digest)
	}
	if p.Reproduced != "" {
		parts = append(parts, p.Reproduced)
	}
	return strings.Join(parts, " · ")
}

func clamp(f float64) float64 { return min(max(f, 0), 100) }

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
