//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// complete runs `docker __complete multiarch ARGS...` as the shell completion scripts do, through
// the docker CLI, and returns the values offered (descriptions cut off) and cobra's directive.
func (c *cli) complete(args ...string) ([]string, string) {
	c.t.Helper()
	res := c.ok(time.Minute, append([]string{"__complete", "multiarch"}, args...)...)
	var values []string
	directive := ""
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		if v, _, _ := strings.Cut(line, "\t"); v != "" {
			values = append(values, v)
		}
	}
	return values, directive
}

// lines splits output into its lines, without the trailing spaces of table cells.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		ls = append(ls, strings.TrimRight(l, " "))
	}
	return ls
}

// TestConventions: the Docker CLI conventions: --builder on the root command as buildx has it,
// -q on the list commands, --format through docker's formatter (table TEMPLATE, JSON lines), and
// shell completion of values through `docker __complete`.
func TestConventions(t *testing.T) {
	c, emulating := buildFarm(t) // farm-a: amd64 + arm/v7 emulated, farm-b: amd64 + arm64 emulated
	native := "n" + emulating
	c.removeBuilderAtCleanup(native)
	c.ok(3*time.Minute, append([]string{"multiarch", "create", native}, farmDriverOpts()...)...)
	builders := []string{emulating, native}
	slices.Sort(builders)

	t.Run("format", func(t *testing.T) {
		if got, want := lines(c.ok(time.Minute, "multiarch", "ls", "--format", "table {{.Name}}").Stdout),
			append([]string{"NAME"}, builders...); !slices.Equal(got, want) {
			t.Errorf("ls --format 'table {{.Name}}' = %q, want %q", got, want)
		}
		table := lines(c.ok(time.Minute, "multiarch", "node", "ls", "--format", `table {{.Name}}\t{{.Platforms}}`).Stdout)
		if len(table) != 3 || strings.Join(strings.Fields(table[0]), " ") != "NAME PLATFORMS" ||
			strings.Join(strings.Fields(table[1]), " ") != "farm-a linux/amd64" {
			t.Errorf("node ls --format 'table {{.Name}}\\t{{.Platforms}}':\n%s", strings.Join(table, "\n"))
		}
		if got := c.builders(); len(got) != 2 || len(got[emulating].Nodes) != 2 {
			t.Errorf("ls --format json (one builder per line): %+v", got)
		}
		if got := c.nodes(); len(got) != 2 || got["farm-b"].Status != "ok" {
			t.Errorf("node ls --format json (one node per line): %+v", got)
		}
	})

	t.Run("quiet", func(t *testing.T) {
		if got := c.ok(time.Minute, "multiarch", "node", "ls", "-q").Stdout; got != "farm-a\nfarm-b\n" {
			t.Errorf("node ls -q = %q, want the names only", got)
		}
		if got := lines(c.ok(time.Minute, "multiarch", "ls", "--quiet").Stdout); !slices.Equal(got, builders) {
			t.Errorf("ls --quiet = %q, want %q", got, builders)
		}
	})

	t.Run("completion", func(t *testing.T) {
		values, directive := c.complete("build", "--platform", "")
		for _, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
			if !slices.Contains(values, p) {
				t.Errorf("build --platform completes %q (%s), want %s among them", values, directive, p)
			}
		}
		if values, _ := c.complete("--builder", native, "build", "--platform", ""); !slices.Equal(values, []string{"linux/amd64"}) {
			t.Errorf("--builder %s build --platform completes %q, want that builder's linux/amd64 only", native, values)
		}
		if values, _ := c.complete("build", "--platform", "linux/amd64,linux/arm6"); !slices.Equal(values, []string{"linux/amd64,linux/arm64"}) {
			t.Errorf("build --platform linux/amd64,linux/arm6 completes %q", values)
		}
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"build", "--builder", ""}, builders},
			{[]string{"--builder", ""}, builders},
			{[]string{"rm", ""}, builders},
			{[]string{"node", "rm", ""}, []string{"farm-a", "farm-b"}},
			{[]string{"node", "rm", "farm-a", ""}, []string{"farm-b"}},
			{[]string{"node", "inspect", "farm-"}, []string{"farm-a", "farm-b"}},
			{[]string{"build", "--strategy", ""}, []string{"buildkit", "engine"}},
			{[]string{"ls", "--format", ""}, []string{"table", "json"}},
		} {
			if values, _ := c.complete(tc.args...); !slices.Equal(values, tc.want) {
				t.Errorf("%q completes %q, want %q", tc.args, values, tc.want)
			}
		}
		if values, _ := c.complete("build", "--progress", ""); !slices.Contains(values, "plain") || !slices.Contains(values, "rawjson") {
			t.Errorf("build --progress completes %q", values)
		}
		if _, directive := c.complete("build", ""); directive != ":16" { // cobra.ShellCompDirectiveFilterDirs
			t.Errorf("build's context completes with directive %s, want directories (:16)", directive)
		}
	})

	t.Run("root --builder", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"Dockerfile": "FROM " + farm.Busybox + "\nRUN true\n"})
		res := c.ok(2*time.Minute, "multiarch", "--builder", emulating, "build", "--dry-run", "--platform", "linux/arm64", dir)
		if !regexpLine(res.Stdout, "linux/arm64", "farm-b", "emulated") {
			t.Errorf("--builder %s build --dry-run: the plan does not route linux/arm64 to farm-b, emulated:\n%s", emulating, res.Stdout)
		}
		res = c.run(2*time.Minute, "multiarch", "--builder", native, "build", "--dry-run", "--platform", "linux/arm64", dir)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "linux/arm64") {
			t.Errorf("--builder %s (no arm64 node) build --platform linux/arm64: exit %d, %q", native, res.ExitCode, res.Stderr)
		}
		res = c.run(time.Minute, "multiarch", "--builder", "nosuch", "build", "--dry-run", dir)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, `"nosuch"`) {
			t.Errorf("--builder nosuch build: exit %d, %q", res.ExitCode, res.Stderr)
		}
		c.ok(2*time.Minute, "multiarch", "--builder", native, "rm")
		if got := lines(c.ok(time.Minute, "multiarch", "ls", "-q").Stdout); !slices.Equal(got, []string{emulating}) {
			t.Errorf("after --builder %s rm, ls -q = %q", native, got)
		}
		if help := c.ok(time.Minute, "multiarch", "node", "ls", "--help").Stdout; strings.Contains(help, "--builder") {
			t.Errorf("node ls --help offers --builder, which it ignores:\n%s", help)
		}
	})
}
