// Package driver builds images across nodes with the buildx and BuildKit libraries. It and its
// sub-packages are the only code of the plugin that imports github.com/docker/buildx and
// github.com/moby/buildkit: buildx has no API promise, so its calls stay here, against the exact
// versions go.mod pins. The package itself is a thin front the commands call; the work is done in
// its rooms, whose imports go one way (runner -> plan, builders, registry):
//
//	driver/plan      routing: platform -> node -> Dockerfile, native or emulated (pure, no I/O)
//	driver/builders  multiarch builders in buildx's store: create/update with rollback, boot, list, remove
//	driver/registry  everything that talks to a registry: inspect, merge, push by digest, publish, verify
//	driver/runner    builds: options, solves on each node, watchdog, engine strategy, no-builder path
package driver

import (
	"runtime/debug"

	buildxversion "github.com/docker/buildx/version"
	buildkitversion "github.com/moby/buildkit/version"
)

// Versions are the buildx and BuildKit library versions linked into the plugin.
type Versions struct {
	Buildx   string
	BuildKit string
}

// LibraryVersions reports the module versions of buildx and BuildKit this binary was built with.
// The libraries' own version variables are only set when they are linked as programs, so the
// module versions recorded in the binary are the truth.
func LibraryVersions() Versions {
	v := Versions{Buildx: buildxversion.Version, BuildKit: buildkitversion.Version}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, dep := range info.Deps {
		if dep.Replace != nil {
			dep = dep.Replace
		}
		switch dep.Path {
		case buildxversion.Package:
			v.Buildx = dep.Version
		case buildkitversion.Package:
			v.BuildKit = dep.Version
		}
	}
	return v
}
