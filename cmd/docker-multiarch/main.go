// Command docker-multiarch is the Docker CLI plugin behind `docker multiarch`.
package main

import (
	"os"

	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/plugin"
)

// Set at link time: -ldflags "-X main.version=v0.1.0 -X main.commit=abc1234".
var (
	version = "v0.0.0-dev"
	commit  = ""
)

func main() {
	meta := pluginMetadata()
	// The metadata call runs before every docker command that lists plugins (docker --help too):
	// answer it without building the Docker CLI and the command tree.
	if len(os.Args) == 2 && os.Args[1] == metadata.MetadataSubcommandName {
		if err := plugin.WriteMetadata(os.Stdout, meta); err != nil {
			os.Exit(1)
		}
		return
	}
	info := plugin.BuildInfo{Version: version, Commit: commit}
	cliplugin.Run(func(dockerCli command.Cli) *cobra.Command {
		return plugin.NewRootCommand(dockerCli, info)
	}, meta)
}

func pluginMetadata() metadata.Metadata {
	return metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           plugin.Vendor,
		Version:          version,
		ShortDescription: plugin.ShortDescription,
		URL:              plugin.URL,
	}
}
