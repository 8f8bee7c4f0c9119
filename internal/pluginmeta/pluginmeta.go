// Package pluginmeta is the plugin's identity: the metadata the docker CLI asks for before every
// command that lists plugins, and the version set at link time. It imports nothing, so the
// metadata can be answered while the program starts (cmd/docker-multiarch/early), before the
// packages of the Docker CLI, buildx and BuildKit initialise.
package pluginmeta

// Plugin identity, shown by `docker --help` and `docker info`.
const (
	SchemaVersion    = "0.1.0"
	Vendor           = "docker-multiarch"
	ShortDescription = "Build one image tag for every architecture on a farm of Docker engines"
	URL              = "https://github.com/docker-multiarch/docker-multiarch"
)

// Set at link time: -ldflags "-X github.com/docker-multiarch/docker-multiarch/internal/pluginmeta.Version=v0.1.0".
var (
	Version = "v0.0.0-dev"
	Commit  = ""
)

// MetadataSubcommand is the argument the docker CLI runs a plugin with to read its metadata
// (docker/cli's metadata.MetadataSubcommandName).
const MetadataSubcommand = "docker-cli-plugin-metadata"

// Document is the metadata as docker/cli writes it (its JSON encoder, indented by five spaces,
// HTML left as it is), when every field is plain printable ASCII with nothing to escape and none
// is empty (an empty one would be left out); else false, and docker/cli's own encoder writes it.
func Document(version string) (string, bool) {
	fields := [][2]string{{"SchemaVersion", SchemaVersion}, {"Vendor", Vendor}, {"Version", version},
		{"ShortDescription", ShortDescription}, {"URL", URL}}
	out := "{\n"
	for i, f := range fields {
		if !plain(f[1]) {
			return "", false
		}
		out += `     "` + f[0] + `": "` + f[1] + `"`
		if i < len(fields)-1 {
			out += ","
		}
		out += "\n"
	}
	return out + "}\n", true
}

// plain: not empty, and only printable ASCII that JSON writes as it is.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}
