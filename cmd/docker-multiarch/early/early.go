// Package early answers the docker CLI's metadata call while the program starts. The docker CLI
// runs `docker-multiarch docker-cli-plugin-metadata` before every command that lists plugins
// (docker --help too). Go initialises, at each step, the first package by import path whose
// imports are initialised (the order of import lines plays no part): this one imports only os and
// pluginmeta, and its path sorts before github.com/docker/... ('-' before '/'), so it runs before
// the Docker CLI, buildx, BuildKit and their hundreds of packages (about 2 ms, where a start that
// initialises them all takes 7 ms; a few leaf packages ready earlier still go first).
// main_test holds its answer to docker/cli's, and checks with Go's init trace what ran before it.
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
