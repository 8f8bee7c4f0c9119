//go:build e2e

package e2e

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDockerHelpListsPlugin(t *testing.T) {
	c := newCLI(t)
	res := c.ok(30*time.Second, "--help")
	if !regexp.MustCompile(`(?m)^\s+multiarch\*\s+Build one image tag for every architecture`).MatchString(res.Stdout) {
		t.Fatalf("docker --help does not list the multiarch plugin:\n%s", res.Stdout)
	}
	// Without the plugin installed, the same docker has no such command.
	bare := &cli{t: t, env: []string{"DOCKER_CONFIG=" + t.TempDir()}}
	if strings.Contains(bare.ok(30*time.Second, "--help").Stdout, "multiarch") {
		t.Fatal("docker --help lists multiarch without the plugin installed")
	}
}

func TestPluginMetadata(t *testing.T) {
	out, err := exec.Command(pluginPath, "docker-cli-plugin-metadata").Output()
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(out, &meta); err != nil {
		t.Fatalf("metadata is not a JSON object of strings: %v\n%s", err, out)
	}
	want := map[string]string{"SchemaVersion": "0.1.0", "Vendor": "docker-multiarch", "Version": e2eVersion}
	for k, v := range want {
		if meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], v)
		}
	}
	if !strings.HasPrefix(meta["URL"], "https://") || meta["ShortDescription"] == "" {
		t.Errorf("metadata lacks URL or ShortDescription: %s", out)
	}
}

func TestVersion(t *testing.T) {
	c := newCLI(t)
	res := c.ok(30*time.Second, "multiarch", "version")
	buildx, buildkit := linked["github.com/docker/buildx"], linked["github.com/moby/buildkit"]
	for _, want := range []string{"Version:", e2eVersion, "Commit:", "e2e0000", "Buildx:", buildx, "BuildKit:", buildkit} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("docker multiarch version lacks %q:\n%s", want, res.Stdout)
		}
	}

	var v map[string]string
	res = c.ok(30*time.Second, "multiarch", "version", "--format", "json")
	if err := json.Unmarshal([]byte(res.Stdout), &v); err != nil {
		t.Fatalf("version --format json: %v\n%s", err, res.Stdout)
	}
	if v["version"] != e2eVersion || v["buildx"] != buildx || v["buildkit"] != buildkit || v["commit"] != "e2e0000" {
		t.Errorf("version --format json = %v", v)
	}

	res = c.ok(30*time.Second, "multiarch", "version", "--format", "{{.Buildx}}")
	if strings.TrimSpace(res.Stdout) != buildx {
		t.Errorf("version --format template printed %q", res.Stdout)
	}
}

func TestVersionBadInput(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"multiarch", "version", "--format", "yaml"}, `"yaml"`},
		{[]string{"multiarch", "version", "--format", "{{.Nope"}, `{{.Nope`},
		{[]string{"multiarch", "version", "extra"}, "accepts no arguments"},
		{[]string{"multiarch", "nosuchcommand"}, "nosuchcommand"},
	} {
		res := c.run(30*time.Second, tc.args...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("docker %s: exit %d, stderr %q; want non-zero exit naming %s",
				strings.Join(tc.args, " "), res.ExitCode, res.Stderr, tc.want)
		}
		if res.Stdout != "" {
			t.Errorf("docker %s printed to stdout on bad input: %q", strings.Join(tc.args, " "), res.Stdout)
		}
	}
}
