package runner

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/spec"
	"github.com/docker/cli/opts"
	"github.com/docker/go-units"
	"github.com/moby/buildkit/util/entitlements"
	"github.com/moby/buildkit/util/gitutil"
	"github.com/sirupsen/logrus"
)

// parseSolveFlags checks the flags every step sends with its solve, and turns them into the
// frontend attributes buildx sends.
func (p *parsed) parseSolveFlags() error {
	p.solveAttrs = map[string]string{}
	if p.CgroupParent != "" {
		p.solveAttrs["cgroup-parent"] = p.CgroupParent
	}
	if len(p.NoCacheFilter) > 0 {
		if p.NoCache {
			return errors.New("--no-cache and --no-cache-filter cannot be used together (as in buildx)")
		}
		p.solveAttrs["no-cache"] = strings.Join(p.NoCacheFilter, ",")
	}
	if p.ShmSize != "" {
		var shm opts.MemBytes
		if err := shm.Set(p.ShmSize); err != nil {
			return spec.Invalid("--shm-size", p.ShmSize, "%w", err)
		}
		if shm.Value() > 0 {
			p.solveAttrs["shm-size"] = strconv.FormatInt(shm.Value(), 10)
		}
	}
	steps := []func() error{p.parseUlimits, p.parseResources, p.parseAllow}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	var err error
	if p.hosts, err = spec.ParseHosts(p.AddHosts, p.Entries.Hosts...); err != nil {
		return err
	}
	p.contexts, err = spec.ParseBuildContexts(p.BuildContexts, p.Entries.Contexts...)
	return err
}

// parseUlimits: --ulimit NAME=SOFT[:HARD] as docker reads it; a later value of a name wins.
func (p *parsed) parseUlimits() error {
	byName := map[string]string{}
	for _, v := range p.Ulimits {
		l, err := units.ParseUlimit(v)
		if err != nil {
			return spec.Invalid("--ulimit", v, "%w", err)
		}
		byName[l.Name] = l.String()
	}
	if len(byName) > 0 {
		var list []string
		for _, name := range slices.Sorted(maps.Keys(byName)) {
			list = append(list, byName[name])
		}
		p.solveAttrs["ulimit"] = strings.Join(list, ",")
	}
	return nil
}

// resourceAttrs are the frontend attributes of --resource keys (BuildKit's dockerui names).
var resourceAttrs = map[string]string{
	"memory": "memory", "memory-swap": "memswap", "cpu-shares": "cpushares", "cpu-period": "cpuperiod",
	"cpu-quota": "cpuquota", "cpuset-cpus": "cpusetcpus", "cpuset-mems": "cpusetmems",
}

// parseResources: --resource KEY=VALUE (and the legacy --memory, --cpu-shares, ... flags) as
// buildx's ParseResourceLimits reads them; only values that limit something are sent.
func (p *parsed) parseResources() error {
	var pairs []spec.Pair
	for _, entry := range p.Resources {
		k, v, ok := strings.Cut(entry, "=")
		if !ok {
			return spec.Invalid("--resource", entry, "want KEY=VALUE")
		}
		pairs = append(pairs, spec.Pair{Name: k, Value: v})
	}
	for _, pr := range append(pairs, p.Entries.Resources...) {
		entry := pr.Name + "=" + pr.Value
		k, v := strings.TrimSpace(pr.Name), strings.TrimSpace(pr.Value)
		attr, known := resourceAttrs[k]
		if !known {
			return spec.Invalid("--resource", entry, "unknown resource %q (want %s)", k, strings.Join(slices.Sorted(maps.Keys(resourceAttrs)), ", "))
		}
		n, err := resourceValue(k, v)
		if err != nil {
			return spec.Invalid("--resource", entry, "%w", err)
		}
		switch {
		case k == "cpuset-cpus" || k == "cpuset-mems":
			if v != "" {
				p.solveAttrs[attr] = v
			} else {
				delete(p.solveAttrs, attr)
			}
		case n > 0 || k == "memory-swap" && n != 0:
			p.solveAttrs[attr] = strconv.FormatInt(n, 10)
		default:
			delete(p.solveAttrs, attr)
		}
	}
	return nil
}

func resourceValue(key, v string) (int64, error) {
	switch key {
	case "memory":
		var m opts.MemBytes
		err := m.Set(v)
		return m.Value(), err
	case "memory-swap":
		var m opts.MemSwapBytes
		err := m.Set(v)
		return m.Value(), err
	case "cpu-shares", "cpu-period", "cpu-quota":
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, nil
}

// parseAllow: --allow entitlements as BuildKit names them; buildx.local.delete is buildx's own.
func (p *parsed) parseAllow() error {
	for _, v := range p.Allow {
		if v == "" {
			continue
		}
		k, _, hasValue := strings.Cut(v, "=")
		if k == "buildx.local.delete" {
			if hasValue {
				return fmt.Errorf("invalid --allow %q: buildx.local.delete takes no value", v)
			}
			p.allowLocalDelete = true
			continue
		}
		if _, _, err := entitlements.Parse(v); err != nil {
			return fmt.Errorf("invalid --allow %q: %w (want network.host, security.insecure, device[=NAME] or buildx.local.delete)", v, err)
		}
		p.allow = append(p.allow, v)
	}
	return nil
}

// deprecatedWarnings are the warnings buildx prints for its legacy flags (the other legacy flags,
// --compress, --rm, --force-rm, are ignored without a word, as buildx ignores them).
var deprecatedWarnings = map[string]string{
	"isolation":    "isolation flag is deprecated with BuildKit.",
	"security-opt": `security-opt flag is deprecated. "RUN --security=insecure" should be used with BuildKit.`,
	"squash":       "experimental flag squash is removed with BuildKit. You should squash inside build using a multi-stage Dockerfile for efficiency.",
}

// parseLegacyFlags: the warnings of the legacy flags given, and --policy.
func (p *parsed) parseLegacyFlags() error {
	var warnings []string // first, as buildx prints them before anything else
	for _, name := range slices.Sorted(slices.Values(p.Deprecated)) {
		if w, ok := deprecatedWarnings[name]; ok && !slices.Contains(warnings, w) {
			warnings = append(warnings, w)
		}
	}
	p.warnings = append(warnings, p.warnings...)
	for _, v := range p.Policy {
		if err := parsePolicy(v); err != nil {
			return err
		}
	}
	for _, e := range p.Entries.Policies {
		if err := checkPolicy(e); err != nil {
			return err
		}
	}
	return nil
}

// parsePolicy is checkPolicy of a --policy value's text.
func parsePolicy(v string) error {
	fields, err := spec.CSVFields("--policy", v)
	if err != nil {
		return err
	}
	return checkPolicy(spec.Entry{Fields: fields, Text: v})
}

// checkPolicy checks a --policy entry as buildx does. A policy file (or strict=true) needs buildx's policy
// engine, which the plugin does not link: refused, naming the value. The rest (disabled=true,
// reset, log-level) concern policies that are not evaluated here, and are accepted.
func checkPolicy(e spec.Entry) error {
	v := e.Text
	for _, f := range e.Fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return spec.Invalid("--policy", v, "%q is not KEY=VALUE", f)
		}
		switch k = strings.TrimSpace(strings.ToLower(k)); k {
		case "filename":
			if val == "" {
				return spec.Invalid("--policy", v, "empty filename")
			}
			return spec.Invalid("--policy", v, "%w", spec.ErrNoPolicyEngine)
		case "reset", "disabled", "strict":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return spec.Invalid("--policy", v, "%s must be true or false", k)
			}
			if k == "strict" && b {
				return spec.Invalid("--policy", v, "%w", spec.ErrNoPolicyEngine)
			}
		case "log-level":
			if _, err := logrus.ParseLevel(val); err != nil {
				return spec.Invalid("--policy", v, "%w", err)
			}
		default:
			return spec.Invalid("--policy", v, "unknown key %q (want filename, reset, disabled, strict, log-level)", k)
		}
	}
	return nil
}

// isGitSSH tells whether a context is a git repository reached over ssh (buildx's IsGitSSH).
func isGitSSH(contextPath string) bool {
	u, err := gitutil.ParseURL(contextPath)
	return err == nil && u.Scheme == gitutil.SSHProtocol
}
