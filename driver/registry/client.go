// Package registry is everything that talks to a registry: inspecting references, merging images
// into one index, pushing images by digest, publishing an index to tags and verifying them.
package registry

import (
	"github.com/docker/buildx/util/imagetools"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/moby/buildkit/session/auth/authprovider"
)

// Client reads and writes images with the credentials of the Docker config (and its helpers).
type Client struct {
	r *imagetools.Resolver
}

// New returns a registry client that authenticates with the Docker config's credentials.
func New(cfg *configfile.ConfigFile) *Client {
	return &Client{r: imagetools.New(imagetools.Opt{Auth: authprovider.LoadAuthConfig(cfg)})}
}
