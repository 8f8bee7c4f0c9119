package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/distribution/reference"
	"github.com/docker/buildx/util/resolver"
	"github.com/docker/buildx/util/resolver/auth"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// rawAnswer is a registry's answer to one call the containerd resolver does not make (a tag's
// DELETE, the referrers API): its status, headers and a bounded body.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
	cut    bool // the body was longer than the limit
}

// rawCall makes METHOD /v2/NAME/SUFFIX to the registry of named (after any mirror) with the
// client's credentials, within the deadline; a 401 is answered once with a login (a 401 without
// a challenge is the answer). At most limit bytes of the body are read.
func (c *Client) rawCall(ctx context.Context, named reference.Named, method, suffix, accept string, limit int64) (rawAnswer, error) {
	domain := reference.Domain(named)
	hosts, err := resolver.NewRegistryConfig(nil)(domain)
	if err != nil || len(hosts) == 0 {
		return rawAnswer{}, fmt.Errorf("registry %s: no host: %w", domain, err)
	}
	h := hosts[len(hosts)-1] // the registry itself, after any mirror
	url := h.Scheme + "://" + h.Host + h.Path + "/" + reference.Path(named) + "/" + suffix
	authz := auth.NewDockerAuthorizer(auth.WithAuthProvider(c.auth), auth.WithAuthClient(h.Client))
	return deadline.Value(ctx, c.timeout, func(ctx context.Context) (rawAnswer, error) {
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, method, url, nil)
			if err != nil {
				return rawAnswer{}, err
			}
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			if err := authz.Authorize(ctx, req); err != nil {
				return rawAnswer{}, err
			}
			resp, err := h.Client.Do(req)
			if err != nil {
				return rawAnswer{}, err
			}
			body, readErr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized && attempt == 0 && authz.AddResponses(ctx, []*http.Response{resp}) == nil {
				continue // a 401 without a challenge this client can answer is the answer
			}
			if readErr != nil && resp.StatusCode == http.StatusOK {
				return rawAnswer{}, readErr // a body that did not arrive whole (others' bodies are only words)
			}
			a := rawAnswer{status: resp.StatusCode, header: resp.Header, body: body}
			if int64(len(body)) > limit {
				a.body, a.cut = body[:limit], true
			}
			return a, nil
		}
	})
}
