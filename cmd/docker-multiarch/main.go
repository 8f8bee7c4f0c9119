// Command docker-multiarch is the Docker CLI plugin behind `docker multiarch`.
package main

import (
	// It answers the docker CLI's metadata call before the packages below initialise (by its
	// import path and few imports, not by being listed first: see its doc).
	_ "github.com/docker-multiarch/docker-multiarch/cmd/docker-multiarch/early"

	"os"

	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/internal/pluginmeta"
	"github.com/docker-multiarch/docker-multiarch/plugin"
)

func main() {
	meta := pluginMetadata()
	// The metadata call is answered by package early, unless the version needs JSON escaping:
	// then here, still without building the Docker CLI and the command tree.
	if len(os.Args) == 2 && os.Args[1] == metadata.MetadataSubcommandName {
		if err := plugin.WriteMetadata(os.Stdout, meta); err != nil {
			os.Exit(1)
		}
		return
	}
	info := plugin.BuildInfo{Version: pluginmeta.Version, Commit: pluginmeta.Commit}
	cliplugin.Run(func(dockerCli command.Cli) *cobra.Command {
		return plugin.NewRootCommand(dockerCli, info)
	}, meta)
}

func pluginMetadata() metadata.Metadata {
	return metadata.Metadata{
		SchemaVersion:    pluginmeta.SchemaVersion,
		Vendor:           pluginmeta.Vendor,
		Version:          pluginmeta.Version,
		ShortDescription: pluginmeta.ShortDescription,
		URL:              pluginmeta.URL,
	}
}
