package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/remotes/docker"

	"github.com/docker-multiarch/docker-multiarch/internal/deadline"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// classify sets what kept a push out, from the answer to the upload's start or the error.
func (c *Client) classify(ctx context.Context, a *PushAccess, domain, host string, ans uploadAnswer, err error) {
	login := "docker login " + loginHost(domain)
	switch {
	case err != nil && ans.status == http.StatusUnauthorized, err != nil && strings.Contains(err.Error(), "no basic auth credentials"):
		a.Problem, a.Detail, a.Fix = c.credentialProblem(ctx, host), redact.Error(err).Error(), login
	case err != nil:
		a.Problem, a.Detail = PushUnreachable, redact.Error(err).Error()
		a.Fix = "check that the registry runs at " + domain + " and that this machine reaches it"
	case ans.status == http.StatusAccepted || ans.status == http.StatusCreated:
		return
	case ans.status == http.StatusForbidden || strings.Contains(ans.challenge, "insufficient_scope") || strings.Contains(ans.body, "DENIED"):
		a.Problem, a.Detail = PushDenied, answerText(ans)
		a.Fix = "ask for push access to " + a.Repo + " (or push to a repository you may write)"
	case ans.status == http.StatusUnauthorized:
		a.Problem, a.Detail, a.Fix = c.credentialProblem(ctx, host), answerText(ans), login
	default:
		a.Problem, a.Detail, a.Fix = PushRefused, answerText(ans), "check the registry: it refused the start of an upload"
	}
	if a.Problem == PushWrongCredentials {
		a.Fix = login + " again (the stored credentials were refused)"
	}
}

// credentialProblem: with no credentials stored for host, none; else they were refused.
func (c *Client) credentialProblem(ctx context.Context, host string) string {
	ac, err := c.auth(ctx, host, nil, nil)
	if err != nil || (ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "") {
		return PushNoCredentials
	}
	return PushWrongCredentials
}

// loginHost is the host `docker login` takes for a registry (none for Docker Hub).
func loginHost(domain string) string {
	if domain == "docker.io" {
		return ""
	}
	return domain
}

// answerText is a registry's answer as an error may show it: the status and up to 200
// characters of the body, URL credentials masked.
func answerText(ans uploadAnswer) string {
	body := ans.body
	var reg struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &reg) == nil && len(reg.Errors) > 0 { // the registry's own words
		body = reg.Errors[0].Code + ": " + reg.Errors[0].Message
	}
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", ans.status, http.StatusText(ans.status), redact.Text(body)))
}

// cancelUpload ends an upload that was only started (DELETE of its location, on the registry's
// own host only), best effort: a registry forgets abandoned uploads on its own.
func cancelUpload(ctx context.Context, hc *http.Client, authz docker.Authorizer, base, location string, timeout time.Duration) {
	u, err := url.Parse(base)
	if err != nil {
		return
	}
	loc, err := u.Parse(location)
	if err != nil || loc.Host != u.Host || loc.Scheme != u.Scheme {
		return // a location elsewhere (a registry's answer is untrusted) is not followed
	}
	_ = deadline.Call(ctx, timeout, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc.String(), nil)
		if err != nil {
			return err
		}
		if err := authz.Authorize(ctx, req); err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		return errors.Join(resp.Body.Close())
	})
}
