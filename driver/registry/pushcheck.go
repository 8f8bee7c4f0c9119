package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/distribution/reference"
	"github.com/docker/buildx/util/resolver"
	"github.com/docker/buildx/util/resolver/auth"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
)

// What keeps a push out, as CheckPush names it.
const (
	PushUnreachable      = "unreachable"
	PushNoCredentials    = "no credentials"
	PushWrongCredentials = "wrong credentials"
	PushDenied           = "no push permission"
	PushRefused          = "refused"
)

// PushAccess is whether this machine may push to a repository with the Docker config's
// credentials, and if not, why and what to do.
type PushAccess struct {
	Repo    string        `json:"repository"`
	Problem string        `json:"problem,omitempty"` // empty: pushes are accepted
	Detail  string        `json:"detail,omitempty"`  // what the registry or the network said
	Fix     string        `json:"fix,omitempty"`
	Took    time.Duration `json:"took"`
}

// Refusals are the repositories of access that refuse the push, one line each with its fix
// (none: every push is accepted).
func Refusals(access []PushAccess) []string {
	var out []string
	for _, a := range access {
		if !a.OK() {
			out = append(out, "  "+a.String())
		}
	}
	return out
}

// OK reports whether the registry takes pushes to the repository.
func (a PushAccess) OK() bool { return a.Problem == "" }

func (a PushAccess) String() string {
	if a.OK() {
		return fmt.Sprintf("%s: push allowed (%s)", a.Repo, a.Took.Round(10*time.Microsecond))
	}
	return fmt.Sprintf("%s: %s (%s): %s", a.Repo, a.Problem, a.Detail, a.Fix)
}

// CheckPush asks every repository's registry, in parallel and each within the client's timeout,
// whether it takes a push with the credentials Docker would use (its config and credential
// helpers): an upload is started with a token asked for push and pull, then cancelled. Nothing is
// written. The result keeps the repositories' order.
func (c *Client) CheckPush(ctx context.Context, repos []string) []PushAccess {
	out := make([]PushAccess, len(repos))
	var wg sync.WaitGroup
	for i, repo := range repos {
		wg.Go(func() { out[i] = c.checkPush(ctx, repo) })
	}
	wg.Wait()
	return out
}

// uploadAnswer is what a registry said to the start of an upload.
type uploadAnswer struct {
	status    int
	location  string
	body      string
	challenge string // WWW-Authenticate of a refusal
}

func (c *Client) checkPush(ctx context.Context, repo string) (a PushAccess) {
	start := time.Now()
	a.Repo = repo
	defer func() { a.Took = time.Since(start) }() // a named result: set after every return
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		a.Problem, a.Detail, a.Fix = PushRefused, err.Error(), "give a repository name"
		return a
	}
	domain, path := reference.Domain(named), reference.Path(named)
	hosts, err := resolver.NewRegistryConfig(nil)(domain)
	if err != nil || len(hosts) == 0 {
		a.Problem, a.Detail, a.Fix = PushUnreachable, fmt.Sprintf("no host for %s: %v", domain, err), "check the registry's name"
		return a
	}
	h := hosts[len(hosts)-1] // the registry itself, after any mirror
	base := h.Scheme + "://" + h.Host + h.Path + "/" + path
	authz := auth.NewDockerAuthorizer(auth.WithAuthProvider(c.auth), auth.WithAuthClient(h.Client))
	ctx = docker.WithScope(ctx, "repository:"+path+":pull,push")
	ans, err := deadline.Value(ctx, c.timeout, func(ctx context.Context) (uploadAnswer, error) {
		return startUpload(ctx, h.Client, authz, base)
	})
	c.classify(ctx, &a, domain, h.Host, ans, err)
	if a.OK() && ans.location != "" {
		cancelUpload(ctx, h.Client, authz, base, ans.location, c.timeout)
	}
	return a
}

// startUpload POSTs the start of a blob upload, answering one authentication challenge.
func startUpload(ctx context.Context, hc *http.Client, authz docker.Authorizer, base string) (uploadAnswer, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/blobs/uploads/", nil)
		if err != nil {
			return uploadAnswer{}, err
		}
		if err := authz.Authorize(ctx, req); err != nil {
			return uploadAnswer{}, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return uploadAnswer{}, err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		ans := uploadAnswer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: strings.TrimSpace(string(body)),
			challenge: resp.Header.Get("WWW-Authenticate")}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			if err := authz.AddResponses(ctx, []*http.Response{resp}); err != nil {
				return ans, err
			}
			continue
		}
		return ans, nil
	}
}
