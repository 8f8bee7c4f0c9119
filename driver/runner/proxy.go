package runner

import (
	"fmt"
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
		clean, had := withoutCredentials(k, v)
		args[k] = clean
		if had {
			warnings = append(warnings, fmt.Sprintf("the Docker config's %s proxy (%s) carries credentials: they are not passed to the build, where build args are recorded (give them to RUN steps with --secret)", k, clean))
		}
	}
	slices.Sort(warnings)
	return args, warnings
}

// withoutCredentials removes the user info of a proxy setting, in every shape it is written: with
// a scheme (http://u:p@proxy), without one (u:p@proxy:3128, as curl takes it), and with a password
// typed raw ("#", "%", "/", "," in it: not a valid URL, its credentials all the same). A proxy is
// one URL: everything before its last "@" goes. NO_PROXY is a list of hosts, each taken alone.
func withoutCredentials(key, v string) (string, bool) {
	if !strings.EqualFold(key, "NO_PROXY") {
		clean, had := stripUserinfo(strings.TrimSpace(v))
		if !had {
			return v, false
		}
		return clean, true
	}
	parts := strings.Split(v, ",")
	had := false
	for i, p := range parts {
		if clean, ok := stripUserinfo(strings.TrimSpace(p)); ok {
			parts[i], had = clean, true
		}
	}
	return strings.Join(parts, ","), had
}

// stripUserinfo is one proxy URL without what comes before its last "@", if it has one.
func stripUserinfo(p string) (string, bool) {
	at := strings.LastIndex(p, "@")
	if at < 0 {
		return p, false
	}
	if scheme, _, ok := strings.Cut(p, "://"); ok && !strings.ContainsAny(scheme, "@/") {
		return scheme + "://" + p[at+1:], true
	}
	return p[at+1:], true
}
