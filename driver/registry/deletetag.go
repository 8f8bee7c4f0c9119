package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/imagetools"
	"github.com/docker/buildx/util/resolver"
	"github.com/docker/buildx/util/resolver/auth"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
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
	domain := reference.Domain(loc.Named())
	hosts, err := resolver.NewRegistryConfig(nil)(domain)
	if err != nil || len(hosts) == 0 {
		return fmt.Errorf("registry %s: no host: %w", domain, err)
	}
	h := hosts[len(hosts)-1] // the registry itself, after any mirror
	url := h.Scheme + "://" + h.Host + h.Path + "/" + reference.Path(loc.Named()) + "/manifests/" + tagged.Tag()
	authz := auth.NewDockerAuthorizer(auth.WithAuthProvider(c.auth), auth.WithAuthClient(h.Client))
	err = deadline.Call(ctx, c.timeout, func(ctx context.Context) error {
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
			if err != nil {
				return err
			}
			if err := authz.Authorize(ctx, req); err != nil {
				return err
			}
			resp, err := h.Client.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
				if err := authz.AddResponses(ctx, []*http.Response{resp}); err != nil {
					return err
				}
				continue
			case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound:
				return nil
			case resp.StatusCode == http.StatusMethodNotAllowed || strings.Contains(string(body), "UNSUPPORTED"):
				return errTagDeleteUnsupported
			}
			return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
	})
	if err != nil {
		return opError(loc.String(), "DELETE "+pathOf(loc.String()), err)
	}
	return nil
}
