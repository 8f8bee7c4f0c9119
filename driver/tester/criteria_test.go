package tester

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

func TestCriteriaCheckNamesTheBadValue(t *testing.T) {
	ok := Criteria{Timeout: time.Minute}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c    Criteria
		want string
	}{
		{Criteria{Timeout: time.Minute, ExpectOutput: "a(b"}, `"a(b"`},
		{Criteria{Timeout: 0}, "--test-timeout"},
		{Criteria{Timeout: time.Minute, Running: -time.Second}, "--running"},
		{Criteria{Timeout: time.Minute, Running: 2 * time.Minute}, "shorter than the test timeout"},
		{Criteria{Timeout: time.Minute, Network: "wan"}, `"wan"`},
	} {
		if err := tc.c.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want it to name %s", tc.c, err, tc.want)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      Criteria
		r      Result
		output string
		pass   bool
		reason string
	}{
		{"exit 0", Criteria{}, Result{ExitCode: 0}, "", true, ""},
		{"exit 1", Criteria{}, Result{ExitCode: 1}, "", false, "exit code 1, want 0"},
		{"expected exit 3", Criteria{ExpectExit: 3}, Result{ExitCode: 3}, "", true, ""},
		{"output matches", Criteria{ExpectOutput: "^aarch64$"}, Result{ExitCode: 0}, "aarch64", true, ""},
		{"output differs", Criteria{ExpectOutput: "^aarch64$"}, Result{ExitCode: 0}, "x86_64", false, `does not match "^aarch64$"`},
		{"server up", Criteria{Running: time.Second}, Result{Running: true, ExitCode: -1}, "", true, ""},
		{"server died", Criteria{Running: time.Second}, Result{ExitCode: 3}, "", false, "exited with code 3 before 1s"},
	} {
		r := tc.r
		tc.c.judge(&r, tc.output)
		if r.Passed != tc.pass || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: passed %v, reason %q; want %v, %q", tc.name, r.Passed, r.Reason, tc.pass, tc.reason)
		}
	}
}

func TestLastLines(t *testing.T) {
	got := lastLines("one\r\ntwo\n\n three \nfour\nfive\nsix\n", 5)
	if !slices.Equal(got, []string{"two", " three ", "four", "five", "six"}) {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines("", 5); len(got) != 0 {
		t.Errorf("no output: %q", got)
	}
}

func TestPickNamesAMissingPlatform(t *testing.T) {
	found := []registry.Variant{
		{Platform: "linux/amd64", Ref: "r/app@sha256:a"},
		{Platform: "linux/arm64", Ref: "r/app@sha256:b"},
	}
	got, err := pick(found, []string{"linux/arm64"}, "r/app:1")
	if err != nil || len(got) != 1 || got[0].Image != "r/app@sha256:b" {
		t.Errorf("pick arm64: %v, %v", got, err)
	}
	if got, err := pick(found, nil, "r/app:1"); err != nil || len(got) != 2 {
		t.Errorf("pick all: %v, %v", got, err)
	}
	if _, err := pick(found, []string{"linux/arm/v7"}, "r/app:1"); err == nil ||
		!strings.Contains(err.Error(), "no linux/arm/v7 variant") || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("missing platform: %v", err)
	}
}

func TestFailedNamesEveryFailingVariant(t *testing.T) {
	results := []Result{
		{Assignment: Assignment{Variant: Variant{Platform: "linux/amd64"}, Node: "a"}, Passed: true},
		{Assignment: Assignment{Variant: Variant{Platform: "linux/arm/v7"}, Node: "pi"}, Reason: "exit code 127, want 0", Output: []string{"exec: app: not found"}},
	}
	err := check(results)
	if err == nil || !strings.Contains(err.Error(), "linux/arm/v7 on node pi: exit code 127") || !strings.Contains(err.Error(), "exec: app: not found") ||
		strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("err = %v", err)
	}
	if err := check(results[:1]); err != nil {
		t.Errorf("all passed: %v", err)
	}
}
