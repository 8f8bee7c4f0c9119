package plan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAssignDockerfilesFromAContextArchive(t *testing.T) {
	steps := func() []Step {
		return []Step{{Platform: "linux/amd64"}, {Platform: "linux/arm64"}, {Platform: "linux/arm/v7"}, {Platform: "linux/arm/v6"}, {Platform: "windows/amd64"}}
	}
	for _, tc := range []struct {
		name  string
		files []string
		want  []string
	}{
		{"per-platform files", []string{"Dockerfile", "Dockerfile.linux-arm64", "Dockerfile.linux-arm-v7", "Dockerfile.linux-arm", "Dockerfile.windows-amd64", "app.txt"},
			[]string{"Dockerfile", "Dockerfile.linux-arm64", "Dockerfile.linux-arm-v7", "Dockerfile.linux-arm", "Dockerfile.windows-amd64"}},
		{"arm variants fall back to the arch's file", []string{"Dockerfile", "Dockerfile.linux-arm"},
			[]string{"Dockerfile", "Dockerfile", "Dockerfile.linux-arm", "Dockerfile.linux-arm", "Dockerfile"}},
		{"no per-platform file", []string{"Dockerfile", "Dockerfile.linux-ppc64le"},
			[]string{"Dockerfile", "Dockerfile", "Dockerfile", "Dockerfile", "Dockerfile"}},
	} {
		s := steps()
		if err := AssignDockerfiles(s, DockerfileOptions{ContextPath: "-", ContextFiles: tc.files}); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []string
		for _, st := range s {
			got = append(got, st.Dockerfile)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAssignDockerfilesFromAContextArchiveWithoutOne(t *testing.T) {
	for _, tc := range []struct {
		files []string
		wants []string
	}{
		{[]string{}, []string{"platform linux/amd64", "stdin", "looked for Dockerfile.linux-amd64, Dockerfile)"}},
		{[]string{"Dockerfile.linux-amd64", "README.md"}, []string{"platform linux/arm/v7", "stdin", "looked for Dockerfile.linux-arm-v7, Dockerfile.linux-arm, Dockerfile)"}},
	} {
		s := []Step{{Platform: "linux/amd64"}, {Platform: "linux/arm/v7"}}
		err := AssignDockerfiles(s, DockerfileOptions{ContextPath: "-", ContextFiles: tc.files})
		if err == nil {
			t.Errorf("files %v: accepted: %+v", tc.files, s)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("files %v: error %q does not name %q", tc.files, err, w)
			}
		}
	}
}

func TestAssignDockerfilesArchiveWithFlags(t *testing.T) {
	dir := t.TempDir()
	file, arm := filepath.Join(dir, "Dockerfile.ci"), filepath.Join(dir, "arm.Dockerfile")
	for _, f := range []string{file, arm} {
		if err := os.WriteFile(f, []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := []Step{{Platform: "linux/amd64"}, {Platform: "linux/arm64"}}
	// -f and --file-for come from disk and win over the archive's files.
	err := AssignDockerfiles(s, DockerfileOptions{ContextPath: "-", File: file, FileFor: map[string]string{"linux/arm64": arm},
		ContextFiles: []string{"Dockerfile", "Dockerfile.linux-arm64"}})
	if err != nil || s[0].Dockerfile != file || s[1].Dockerfile != arm {
		t.Errorf("%+v, %v", s, err)
	}
	// ... and must exist.
	missing := filepath.Join(dir, "missing")
	err = AssignDockerfiles(s, DockerfileOptions{ContextPath: "-", File: missing, ContextFiles: []string{"Dockerfile"}})
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "platform linux/amd64") {
		t.Errorf("a missing -f: %v", err)
	}
	// An unknown listing (nil): the default name, checked by BuildKit.
	s = []Step{{Platform: "linux/arm64"}}
	if err := AssignDockerfiles(s, DockerfileOptions{ContextPath: "-"}); err != nil || s[0].Dockerfile != "Dockerfile" {
		t.Errorf("no listing: %+v, %v", s, err)
	}
}

func TestPlatformDockerfileNames(t *testing.T) {
	for in, want := range map[string][]string{
		"linux/amd64":           {"Dockerfile.linux-amd64"},
		"linux/arm/v7":          {"Dockerfile.linux-arm-v7", "Dockerfile.linux-arm"},
		"windows/amd64":         {"Dockerfile.windows-amd64"},
		"linux/arm64":           {"Dockerfile.linux-arm64"},
		"not a/platform/at/all": nil,
	} {
		if got := PlatformDockerfileNames(in); !slices.Equal(got, want) {
			t.Errorf("PlatformDockerfileNames(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsLocalDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o644)
	for path, want := range map[string]bool{
		dir: true, ".": true, file: false, filepath.Join(dir, "missing"): false, "-": false,
		"https://github.com/org/repo.git": false, "git@github.com:org/repo.git": false, "": false,
	} {
		if got := IsLocalDir(path); got != want {
			t.Errorf("IsLocalDir(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestRouteSpreadsEmulatedPlatformsAndNamesEmulation(t *testing.T) {
	nodes := []RouteNode{
		{Name: "x1", BuildxNode: "bx-x1", Native: []string{"linux/amd64"}, Emulated: []string{"linux/riscv64", "linux/s390x"}},
		{Name: "x2", BuildxNode: "bx-x2", Native: []string{"linux/amd64"}, Emulated: []string{"linux/riscv64", "linux/s390x"}},
	}
	steps, err := Route(nodes, []string{"linux/riscv64", "linux/s390x", "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Platform: "linux/riscv64", Node: "x1", BuildxNode: "bx-x1", Emulated: true, Strategy: StrategyBuildKit},
		{Platform: "linux/s390x", Node: "x2", BuildxNode: "bx-x2", Emulated: true, Strategy: StrategyBuildKit},
		{Platform: "linux/amd64", Node: "x1", BuildxNode: "bx-x1", Strategy: StrategyBuildKit},
	}
	if !slices.Equal(steps, want) {
		t.Errorf("Route =\n%+v\nwant\n%+v", steps, want)
	}
	_, err = Route(nodes, []string{"linux/ppc64le"})
	if err == nil || !strings.Contains(err.Error(), "x1 (linux/amd64; emulated linux/riscv64,linux/s390x)") || !strings.Contains(err.Error(), "--emulate linux/ppc64le=NODE") {
		t.Errorf("an unserved platform: %v", err)
	}
}
