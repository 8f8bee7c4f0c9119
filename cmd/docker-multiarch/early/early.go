// Package early answers the docker CLI's metadata call while the program starts. The docker CLI
// runs `docker-multiarch docker-cli-plugin-metadata` before every command that lists plugins
// (docker --help too); Go initialises a package once its imports are, the first by import path
// first, so this one, importing only os and pluginmeta, runs before the Docker CLI, buildx,
// BuildKit and their hundreds of packages (about 2 ms, where a start that initialises them all
// takes 7 ms). main imports it first; main_test holds its answer to docker/cli's.
package early

import (
	"os"

	"github.com/docker-multiarch/docker-multiarch/internal/pluginmeta"
)

func init() {
	if len(os.Args) != 2 || os.Args[1] != pluginmeta.MetadataSubcommand {
		return
	}
	doc, ok := pluginmeta.Document(pluginmeta.Version)
	if !ok {
		return // a version JSON must escape: main answers, with docker/cli's encoder
	}
	if _, err := os.Stdout.WriteString(doc); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}
