package tester

import (
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// What a BuildKit test runs is what docker run would: the entrypoint, then the command given,
// else the image's own.
func TestTestArgsAreDockerRuns(t *testing.T) {
	cfg := ocispec.Image{Config: ocispec.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve"}}}
	for _, tc := range []struct {
		cmd  []string
		cfg  ocispec.Image
		want string
	}{
		{nil, cfg, "/entry serve"},
		{[]string{"check", "--all"}, cfg, "/entry check --all"},
		{[]string{"true"}, ocispec.Image{}, "true"},
		{nil, ocispec.Image{Config: ocispec.ImageConfig{Cmd: []string{"sh"}}}, "sh"},
	} {
		got, err := testArgs(tc.cfg, Criteria{Cmd: tc.cmd})
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("cmd %v: %v %v, want %q", tc.cmd, got, err, tc.want)
		}
	}
	if _, err := testArgs(ocispec.Image{}, Criteria{}); err == nil {
		t.Error("an image with nothing to run, and no command: no error")
	}
}

// Servers (--running), Windows and the engine's bridge network are judged on an engine.
func TestInBuildKitOnlyForWhatBuildKitCanJudge(t *testing.T) {
	c := Criteria{Timeout: time.Minute}
	if !c.InBuildKit("linux/arm64") {
		t.Error("a command on linux/arm64 is not run in BuildKit")
	}
	for _, tc := range []struct {
		c Criteria
		p string
	}{
		{Criteria{Running: time.Second, Timeout: time.Minute}, "linux/amd64"},
		{c, "windows/amd64"},
		{Criteria{Network: "bridge", Timeout: time.Minute}, "linux/amd64"},
		{c, "not a platform"},
	} {
		if tc.c.InBuildKit(tc.p) {
			t.Errorf("%+v on %s runs in BuildKit", tc.c, tc.p)
		}
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{limit: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	if b.String() != "456789ab" {
		t.Fatalf("%q", b.String())
	}
}

// What a variant prints reaches the terminal cut and without what a terminal would act on.
func TestOutputLinesAreCutAndDefused(t *testing.T) {
	lines := lastLines("ok\n\x1b]0;owned\x07title \x9b2J\n"+strings.Repeat("x", 5000)+"\n", 5)
	if len(lines) != 3 || strings.ContainsAny(lines[1], "\x1b\x07\u009b") || len(lines[2]) > maxOutputLine+3 {
		t.Fatalf("%q", lines)
	}
}

// A command that must exit other than 0, a server, the host's or bridge network: an engine judges
// them (BuildKit says 1 or 255 for a command that could not start).
func TestInBuildKitLeavesOtherExitCodesAndNetworksToEngines(t *testing.T) {
	for _, c := range []Criteria{{ExpectExit: 1, Timeout: time.Minute}, {ExpectExit: 255, Timeout: time.Minute}, {Network: "host", Timeout: time.Minute}} {
		if c.InBuildKit("linux/amd64") {
			t.Errorf("%+v runs in BuildKit", c)
		}
	}
	if !(Criteria{Network: "none", Timeout: time.Minute}).InBuildKit("linux/amd64") {
		t.Error("--network none is not run in BuildKit")
	}
}
