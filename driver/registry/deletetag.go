package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
)

// errTagDeleteUnsupported: the registry does not remove tags (many do not, or only by digest).
var errTagDeleteUnsupported = errors.New("the registry does not remove tags")

// deleteTag removes a tag (DELETE /v2/NAME/manifests/TAG, OCI distribution 1.1), within the
// deadline; a tag that is already gone is not an error.
func (c *Client) deleteTag(ctx context.Context, loc *imagetools.Location) error {
	tagged, ok := loc.Named().(reference.Tagged)
	if !ok {
		return fmt.Errorf("%s is not a tag", loc)
	}
	a, err := c.rawCall(ctx, loc.Named(), http.MethodDelete, "manifests/"+tagged.Tag(), "", 4096)
	if err == nil {
		switch {
		case a.status == http.StatusAccepted || a.status == http.StatusOK || a.status == http.StatusNotFound:
			return nil
		case a.status == http.StatusMethodNotAllowed || strings.Contains(string(a.body), "UNSUPPORTED"):
			err = errTagDeleteUnsupported
		default:
			err = fmt.Errorf("%d %s: %s", a.status, http.StatusText(a.status), strings.TrimSpace(string(a.body)))
		}
	}
	if err != nil {
		return opError(loc.String(), "DELETE "+pathOf(loc.String()), err)
	}
	return nil
}
