package runner

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/distribution/reference"
)

// expected is how long a build is expected to take, and where that figure comes from.
type expected struct {
	d   time.Duration
	why string
}

// noHistoryWindow is how far ahead an expiry is looked for when no earlier run says how long
// this one takes.
const noHistoryWindow = time.Hour

// expectedTime: the last run like this one (Options.Expected, from the history; what names it:
// "build of these repositories"), else the longer of --timeout and noHistoryWindow.
func expectedTime(o Options, what string) expected {
	if o.Expected > 0 {
		return expected{o.Expected, fmt.Sprintf("the last %s took %s", what, o.Expected.Round(time.Second))}
	}
	t := max(o.Timeout, noHistoryWindow)
	if t == o.Timeout {
		return expected{t, "--timeout " + t.String()}
	}
	return expected{t, fmt.Sprintf("no earlier %s on record: the next %s", what, t)}
}

// expirer says when a registry's stored credentials expire (registry.Client.CredentialExpiry).
type expirer interface {
	CredentialExpiry(ctx context.Context, host string) (time.Time, bool)
}

// expiryWarnings: for each registry the repositories are on, once, a warning when its stored
// credentials say they expire before the build is expected to end (or have expired).
func expiryWarnings(ctx context.Context, reg expirer, repos []string, exp expected, now time.Time) []string {
	var hosts, out []string
	for _, repo := range repos {
		named, err := reference.ParseNormalizedNamed(repo)
		if err != nil || slices.Contains(hosts, reference.Domain(named)) {
			continue
		}
		host := reference.Domain(named)
		hosts = append(hosts, host)
		at, ok := reg.CredentialExpiry(ctx, credentialHost(host))
		if !ok || at.After(now.Add(exp.d)) {
			continue
		}
		when := fmt.Sprintf("expire at %s (in %s)", at.UTC().Format(time.DateTime+" MST"), at.Sub(now).Round(time.Second))
		if !at.After(now) {
			when = fmt.Sprintf("expired at %s", at.UTC().Format(time.DateTime+" MST"))
		}
		out = append(out, fmt.Sprintf("the credentials for %s %s, within this build's expected time (%s): the push may be refused at the end; renew them first (docker login %s)",
			host, when, exp.why, host))
	}
	return out
}

// credentialHost is the host the credentials of a registry are asked for (Docker Hub's
// registry host, as BuildKit asks).
func credentialHost(domain string) string {
	if domain == "docker.io" {
		return "registry-1.docker.io"
	}
	return domain
}
