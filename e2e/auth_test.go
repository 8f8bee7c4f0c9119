//go:build e2e

package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Registry credentials come from the Docker config (docker login), for builds, inspect and merge,
// and are never printed.
func TestRegistryCredentialsFromDockerConfig(t *testing.T) {
	pw, err := os.ReadFile(farm.AuthPasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(pw))
	c, builder := buildFarm(t)
	dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN uname -m > /arch\n"})
	repo := uniqueRepo("auth")
	ref := farm.AuthRegistry + "/" + repo + ":v1"
	build := []string{"multiarch", "build", "--builder", builder, "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", "--progress", "plain", dir}

	var outputs []string
	res := c.run(10*time.Minute, build...)
	outputs = append(outputs, res.Combined())
	if res.ExitCode == 0 {
		t.Fatal("a push without a login succeeded")
	}
	if !strings.Contains(res.Stderr, "401 Unauthorized") && !strings.Contains(res.Stderr, "authorization failed") {
		t.Errorf("a push without a login failed for another reason than the missing login: %s", tail(res.Stderr, 800))
	}
	res = c.run(time.Minute, "login", farm.AuthRegistry, "-u", farm.AuthUser, "-p", password)
	if res.ExitCode != 0 {
		t.Fatalf("docker login: %s", res.Combined())
	}
	outputs = append(outputs, c.ok(10*time.Minute, build...).Combined())
	reg := newAuthRegistryClient(t, farm.AuthUser, password)
	if tags := reg.tags(repo); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tags %v", tags)
	}
	if got := imagePlatforms(reg.index(repo, "v1")); !samePlatformSet(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v", got)
	}
	ins := c.ok(time.Minute, "multiarch", "inspect", ref)
	outputs = append(outputs, ins.Combined())
	if !strings.Contains(ins.Stdout, "linux/arm64") {
		t.Errorf("inspect: %s", ins.Stdout)
	}
	merged := farm.AuthRegistry + "/" + uniqueRepo("auth-merged") + ":v1"
	outputs = append(outputs, c.ok(5*time.Minute, "multiarch", "merge", "-t", merged, ref).Combined())
	for _, out := range outputs {
		if strings.Contains(out, password) {
			t.Fatal("a command printed the registry password")
		}
	}
}
