//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 22: a context folder in a git checkout is keyed by its repository's remote and its path
// there, not by the folder's name. A build from another checkout of the same repository, in a
// folder of another name (a CI runner's workspace, cloned over https with a token), finds the
// node that built it in that node's BuildKit history, its slow step cached; a folder of the same
// name in another repository, with the same Dockerfile, is another build.
func TestWarmRoutingAcrossCheckouts(t *testing.T) {
	needBuildKitFarm(t)
	c := newCLI(t).withBuildx()
	engine, _, builder := c.proxiedPool("checkouts")
	dockerfile := fmt.Sprintf("FROM %s\nRUN echo slow-%d && sleep 4\nCOPY late.txt /late.txt\n", farm.Busybox, time.Now().UnixNano())
	checkout := func(folder, origin string) string {
		root := filepath.Join(t.TempDir(), folder)
		for path, data := range map[string]string{
			".git/config": "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = " + origin + "\n",
			".git/HEAD":   "ref: refs/heads/main\n",
			"Dockerfile":  dockerfile,
			"late.txt":    folder,
		} {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, path), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return root // the context: the checkout's own folder, named as each machine names it
	}
	laptop := checkout("app", "git@github.com:acme/app.git")
	ci := checkout("workspace", "https://x-access-token:ghs_e2esecret@github.com/acme/app")
	other := checkout("app", "git@github.com:acme/other.git")
	engine.cutOff() // the first build on the daemon: not the node the builder's order picks anyway
	first := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--timeout", "3s", laptop)
	engine.restore()
	if !regexpLine(first.Stdout, "linux/amd64", " bk ") {
		t.Fatalf("the first build did not run on the daemon:\n%s", first.Stdout)
	}
	c.ok(time.Minute, "multiarch", "history", "rm", "--all") // no local record: as on the CI runner
	dryRun := func(dir string) string {
		return c.ok(time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", "--dry-run", dir).Stdout
	}
	if plan := dryRun(ci); !regexpLine(plan, "linux/amd64", "bk", "warm: its BuildKit built this last") {
		t.Errorf("another checkout of the repository does not find the warm node:\n%s", plan)
	}
	if plan := dryRun(other); strings.Contains(plan, "warm") {
		t.Errorf("a folder of the same name in another repository counts as the same build:\n%s", plan)
	}
	out := c.ok(5*time.Minute, "multiarch", "build", "--builder", builder, "--platform", "linux/amd64", ci).Stdout
	if !regexpLine(out, "linux/amd64", " bk ", "1/2") {
		t.Errorf("the build from the other checkout: want bk, its slow step cached (1/2):\n%s", out)
	}
	if strings.Contains(out, "ghs_e2esecret") {
		t.Errorf("the remote's token is in the output:\n%s", out)
	}
}
