package plugin

import (
	"runtime"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/driver"
)

type versionOptions struct {
	format string
}

// versionInfo is what `docker multiarch version` prints; its JSON keys are part of the CLI surface.
type versionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Buildx   string `json:"buildx"`
	BuildKit string `json:"buildkit"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

func newVersionCommand(dockerCli command.Cli, info BuildInfo) *cobra.Command {
	var opts versionOptions
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the plugin version and the buildx and BuildKit versions it is built with",
		Example: `  docker multiarch version
  docker multiarch version --format json
  docker multiarch version --format '{{.Buildx}}'`,
		Args: cli.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runVersion(dockerCli, info, opts)
		},
	}
	addFormatFlag(cmd, &opts.format)
	return cmd
}

func runVersion(dockerCli command.Cli, info BuildInfo, opts versionOptions) error {
	libs := driver.LibraryVersions()
	v := versionInfo{
		Version:  info.Version,
		Commit:   info.Commit,
		Buildx:   libs.Buildx,
		BuildKit: libs.BuildKit,
		Go:       runtime.Version(),
		OS:       runtime.GOOS,
		Arch:     runtime.GOARCH,
	}
	return writeFormatted(dockerCli.Out(), opts.format, v, func(t *table) {
		t.row("Version:", v.Version)
		t.row("Commit:", orNone(v.Commit))
		t.row("Buildx:", v.Buildx)
		t.row("BuildKit:", v.BuildKit)
		t.row("Go version:", v.Go)
		t.row("OS/Arch:", v.OS+"/"+v.Arch)
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
