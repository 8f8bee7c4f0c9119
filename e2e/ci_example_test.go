//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/shlex"
	"go.yaml.in/yaml/v3"
)

// workflow is the part of a GitHub Actions workflow the example's test reads.
type workflow struct {
	Jobs map[string]struct {
		Strategy struct {
			Matrix struct {
				Include []map[string]string `yaml:"include"`
			} `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Name string `yaml:"name"`
			Run  string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// runLine is a job's step run line, its GitHub expressions replaced by vars.
func (w workflow) runLine(t *testing.T, job, step string, vars map[string]string) []string {
	t.Helper()
	for _, s := range w.Jobs[job].Steps {
		if s.Name != step {
			continue
		}
		line := s.Run
		for k, v := range vars {
			line = strings.ReplaceAll(line, "${{ "+k+" }}", v)
		}
		if strings.Contains(line, "${{") {
			t.Fatalf("job %s step %s: an expression is left in %q", job, step, line)
		}
		args, err := shlex.Split(line)
		if err != nil || len(args) < 2 || args[0] != "docker" {
			t.Fatalf("job %s step %s: %q is not a docker command", job, step, line)
		}
		return args[1:]
	}
	t.Fatalf("job %s has no step %q", job, step)
	return nil
}

// The GitHub Actions example's own run lines, on two simulated runners (their own Docker config,
// engine and builder) and a merge job: one tag with both platforms and both runners' attestations.
func TestCIExampleGitHubActions(t *testing.T) {
	var w workflow
	dt, err := os.ReadFile("../docs/ci/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(dt, &w); err != nil {
		t.Fatalf("docs/ci/github-actions.yml is not valid YAML: %v", err)
	}
	matrix := w.Jobs["build"].Strategy.Matrix.Include
	if len(matrix) != 2 {
		t.Fatalf("the build job's matrix has %d entries, want amd64 and arm64", len(matrix))
	}
	repo := uniqueRepo("ci-example")
	image := farm.Registry + "/" + repo
	src := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	artifacts := filepath.Join(t.TempDir(), "metadata")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range matrix {
		// A self-hosted runner of that architecture: its engine, and the default builder on it.
		engine, emulate := farm.EngineA, []string(nil)
		if m["platform"] == "linux/arm64" {
			engine, emulate = farm.EngineB, []string{"--emulate", "linux/arm64=runner"}
		}
		runner := newCLI(t).withBuildx()
		runner.ok(time.Minute, "multiarch", "node", "add", "runner", "--host", engine)
		runner.removeBuilderAtCleanup("multiarch")
		runner.ok(3*time.Minute, slices.Concat([]string{"multiarch", "create", "--buildkitd-config", farm.BuildKitdConfig}, emulate, farmDriverOpts())...)
		checkout := t.TempDir()
		copyFile(t, filepath.Join(src, "Dockerfile"), filepath.Join(checkout, "Dockerfile"))
		args := w.runLine(t, "build", "build", map[string]string{"matrix.platform": m["platform"], "matrix.name": m["name"], "env.IMAGE": image})
		runner.inDir(checkout).ok(10*time.Minute, args...)
		// actions/upload-artifact + download-artifact (merge-multiple) into metadata/.
		name := "metadata-" + m["name"] + ".json"
		copyFile(t, filepath.Join(checkout, name), filepath.Join(artifacts, name))
	}
	if len(tagsOrNone(t, repo)) != 0 {
		t.Fatalf("the build jobs wrote tags: %v", tagsOrNone(t, repo))
	}
	merge := newCLI(t).inDir(filepath.Dir(artifacts))
	merge.ok(5*time.Minute, w.runLine(t, "merge", "merge", map[string]string{"env.IMAGE": image, "github.ref_name": "v1.4.0"})...)
	reg := merge.reg()
	idx := reg.index(repo, "v1.4.0")
	if got := imagePlatforms(idx); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("the tag holds %v", got)
	}
	checkAttestations(t, reg, repo, idx)
	if tags := tagsOrNone(t, repo); !slices.Equal(tags, []string{"v1.4.0"}) {
		t.Errorf("tags %v, want only the merged one", tags)
	}
}

// The GitLab CI example is valid YAML and uses the plugin's commands only.
func TestCIExampleGitLab(t *testing.T) {
	dt, err := os.ReadFile("../docs/ci/gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(dt, &doc); err != nil {
		t.Fatalf("docs/ci/gitlab-ci.yml is not valid YAML: %v", err)
	}
	for _, job := range []string{"build", "merge"} {
		if _, ok := doc[job]; !ok {
			t.Errorf("no %s job", job)
		}
	}
	if !strings.Contains(string(dt), "docker multiarch build --platform $PLATFORM --push-by-digest") ||
		!strings.Contains(string(dt), "docker multiarch merge -t $IMAGE:$CI_COMMIT_TAG --from-metadata metadata") ||
		strings.Contains(string(dt), "imagetools") {
		t.Error("the GitLab example does not build by digest and merge with the plugin alone")
	}
}
