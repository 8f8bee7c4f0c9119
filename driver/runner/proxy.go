package runner

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// proxyArgs are the proxy build args a node's Docker config sets (as buildx passes them), without
// the credentials a proxy URL may carry: build args are kept in the image's provenance
// (mode=max) and in BuildKit's history. The warnings name each proxy whose credentials were left
// out, never the credentials.
func proxyArgs(cfg map[string]string) (map[string]string, []string) {
	args := map[string]string{}
	var warnings []string
	for k, v := range cfg {
		clean, had := withoutCredentials(v)
		args[k] = clean
		if had {
			warnings = append(warnings, fmt.Sprintf("the Docker config's %s proxy (%s) carries credentials: they are not passed to the build, where build args are recorded (give them to RUN steps with --secret)", k, clean))
		}
	}
	slices.Sort(warnings)
	return args, warnings
}

// withoutCredentials removes the user info of every URL in a proxy setting.
func withoutCredentials(v string) (string, bool) {
	parts := strings.Split(v, ",")
	had := false
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		u.User = nil
		parts[i] = u.String()
		had = true
	}
	return strings.Join(parts, ","), had
}
