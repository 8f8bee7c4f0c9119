package plugin

import (
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// runTree runs args through the command tree as the plugin framework does (its top command
// traverses the tree, parsing the flags given before a command's name at that level), with the
// leaf commands' RunE replaced: it returns the command that ran.
func runTree(t *testing.T, args ...string) (*cobra.Command, *cobra.Command) {
	t.Helper()
	dockerCli, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand(dockerCli, BuildInfo{})
	var ran *cobra.Command
	walk(root, func(c *cobra.Command) {
		if c.RunE != nil {
			c.RunE = func(c *cobra.Command, _ []string) error { ran = c; return nil }
		}
	})
	top := &cobra.Command{Use: "docker", TraverseChildren: true, SilenceErrors: true, SilenceUsage: true}
	top.AddCommand(root)
	top.SetArgs(args)
	if err := top.Execute(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return root, ran
}

func TestBuilderFlagOnTheRoot(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"multiarch", "--builder", "ci", "build", "."}, "ci"},
		{[]string{"multiarch", "build", "--builder", "ci", "."}, "ci"},
		{[]string{"multiarch", "--builder=ci", "build", "."}, "ci"},
		{[]string{"multiarch", "--builder", "root", "build", "--builder", "own", "."}, "own"},
		{[]string{"multiarch", "build", "."}, ""},
	} {
		root, ran := runTree(t, tc.args...)
		if ran == nil || ran.Name() != "build" {
			t.Fatalf("%v ran %v", tc.args, ran)
		}
		if got := selectedBuilder(ran, &rootOptions{builder: root.PersistentFlags().Lookup("builder").Value.String()}); got != tc.want {
			t.Errorf("%v: build's builder %q, want %q", tc.args, got, tc.want)
		}
		if got := ran.Flags().Lookup("builder").Value.String(); got != tc.want {
			t.Errorf("%v: build's own --builder %q, want %q", tc.args, got, tc.want)
		}
	}
	for _, args := range [][]string{
		{"multiarch", "--builder", "ci", "test", "ref"},
		{"multiarch", "test", "ref", "--builder", "ci"},
		{"multiarch", "rm", "--builder", "ci"},
	} {
		root, _ := runTree(t, args...)
		if got := root.PersistentFlags().Lookup("builder").Value.String(); got != "ci" {
			t.Errorf("%v: --builder %q, want ci", args, got)
		}
	}
}

func TestBuilderFlagHiddenWhereUnused(t *testing.T) {
	dockerCli, _ := command.NewDockerCli()
	root := NewRootCommand(dockerCli, BuildInfo{})
	for _, path := range [][]string{{"ls"}, {"create"}, {"node", "ls"}, {"node", "rm"}, {"version"}, {"inspect"}} {
		if f := subcommand(root, path...).Flags().Lookup("builder"); f == nil || !f.Hidden {
			t.Errorf("%v: --builder %v, want hidden", path, f)
		}
	}
	for _, name := range []string{"build", "test", "rm"} {
		if f := subcommand(root, name).Flags().Lookup("builder"); f == nil || f.Hidden {
			t.Errorf("%s: --builder %v, want shown", name, f)
		}
	}
}

func TestRmTarget(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		builder string
		want    string
	}{
		{[]string{"ci"}, "", "ci"}, {nil, "ci", "ci"}, {[]string{"ci"}, "ci", "ci"}, {nil, "", ""}, {[]string{"a"}, "b", ""},
	} {
		got, err := rmTarget(tc.args, tc.builder)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("rm %v --builder %q: %q, %v", tc.args, tc.builder, got, err)
		}
	}
	if _, err := rmTarget(nil, ""); err == nil || !strings.Contains(err.Error(), "requires 1 argument") {
		t.Errorf("rm without a name: %v", err)
	}
}
