package runner

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

type fakeExpirer struct {
	at    map[string]time.Time
	asked []string
}

func (f *fakeExpirer) CredentialExpiry(_ context.Context, host string) (time.Time, bool) {
	f.asked = append(f.asked, host)
	at, ok := f.at[host]
	return at, ok
}

func TestExpiryWarnings(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	f := &fakeExpirer{at: map[string]time.Time{
		"soon.example":         now.Add(4 * time.Minute),
		"later.example":        now.Add(time.Hour),
		"gone.example":         now.Add(-time.Minute),
		"registry-1.docker.io": now.Add(time.Minute),
	}}
	repos := []string{"soon.example/a", "soon.example/b", "later.example/a", "gone.example/a", "never.example/a", "library/app", "bad repo"}
	got := expiryWarnings(context.Background(), f, repos, expected{10 * time.Minute, "the last build of these repositories took 10m0s"}, now)
	if !slices.Equal(f.asked, []string{"soon.example", "later.example", "gone.example", "never.example", "registry-1.docker.io"}) {
		t.Errorf("asked %v: each registry once, Docker Hub by its registry host", f.asked)
	}
	want := []string{
		"the credentials for soon.example expire at 2026-12-07 03:04:00 UTC (in 4m0s), within this build's expected time (the last build of these repositories took 10m0s)",
		"the credentials for gone.example expired at 2026-12-07 02:59:00 UTC",
		"the credentials for docker.io expire at 2026-12-07 03:01:00 UTC (in 1m0s)",
	}
	if len(got) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) || !strings.Contains(got[i], "docker login ") {
			t.Errorf("warning %d:\n%s\nwant it to start with:\n%s", i, got[i], w)
		}
	}
}

func TestExpectedTime(t *testing.T) {
	what := "build of these repositories"
	if e := expectedTime(Options{Expected: 7 * time.Minute, Timeout: time.Minute}, what); e.d != 7*time.Minute || e.why != "the last build of these repositories took 7m0s" {
		t.Errorf("with a history: %+v", e)
	}
	if e := expectedTime(Options{Timeout: 10 * time.Second}, what); e.d != time.Hour || e.why != "no earlier build of these repositories on record: the next 1h0m0s" {
		t.Errorf("without, a short --timeout: %+v", e)
	}
	if e := expectedTime(Options{Timeout: 2 * time.Hour}, what); e.d != 2*time.Hour || e.why != "--timeout 2h0m0s" {
		t.Errorf("without, a long --timeout: %+v", e)
	}
}
