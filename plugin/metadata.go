package plugin

import (
	"encoding/json"
	"io"

	"github.com/docker/cli/cli-plugins/metadata"
)

// WriteMetadata writes the plugin's metadata as docker/cli's plugin.Run does for the
// docker-cli-plugin-metadata subcommand: the same encoder settings, so the output is byte for byte
// the same.
func WriteMetadata(w io.Writer, meta metadata.Metadata) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "     ")
	return enc.Encode(meta)
}
