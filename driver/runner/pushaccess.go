package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/docker-multiarch/docker-multiarch/driver/registry"
)

// pushRepos are the repositories a build writes: its tags' (every platform pushed by digest, then
// the tags) when it pushes, and those of its registry cache exports (--cache-to type=registry,
// --cache-ref), in that order, once each.
func pushRepos(p *parsed) []string {
	var out []string
	add := func(ref string) {
		if named, err := reference.ParseNormalizedNamed(ref); err == nil && !slices.Contains(out, named.Name()) {
			out = append(out, named.Name())
		}
	}
	if p.pushes {
		for _, r := range p.repos {
			add(r)
		}
	}
	for _, e := range p.cacheTo {
		if e.Type == "registry" {
			add(e.Attrs["ref"])
		}
	}
	if p.CacheRef != "" {
		add(p.CacheRef)
	}
	return out
}

// checkPushAccess proves, before any node works, that every repository the build writes takes a
// push with this machine's credentials (registry.CheckPush); --dry-run shows each result. A
// build whose caller checked already (bake, DeferPublish) is not asked again; --call pushes
// nothing.
func (r *Runner) checkPushAccess(ctx context.Context, st *runState) error {
	p, res := st.p, st.res
	repos := pushRepos(p)
	if len(repos) == 0 || p.call != nil || (p.DeferPublish && !p.DryRun) {
		return nil
	}
	reg := r.registry.WithTimeout(p.Timeout)
	access := reg.CheckPush(ctx, repos)
	for _, w := range expiryWarnings(ctx, reg, repos, expectedTime(p.Options, "build of these repositories"), time.Now()) {
		if p.Warn != nil {
			p.Warn(w)
		} else {
			res.Warnings = append(res.Warnings, w)
		}
	}
	if p.DryRun {
		for _, a := range access {
			res.Notes = append(res.Notes, "push access: "+a.String())
		}
		return nil
	}
	return pushAccessError(access)
}

// CheckPushAccess proves push access, at once, for every repository the builds of opts write
// (bake: every target's, before any is built), within the first one's --timeout; the warnings
// are credentials that expire within the first one's expected time.
func (r *Runner) CheckPushAccess(ctx context.Context, opts []Options) ([]string, error) {
	var repos []string
	for _, o := range opts {
		p, err := parseOptions(o, nil)
		if err != nil {
			return nil, err
		}
		for _, repo := range pushRepos(p) {
			if !slices.Contains(repos, repo) {
				repos = append(repos, repo)
			}
		}
	}
	if len(repos) == 0 {
		return nil, nil
	}
	reg := r.registry.WithTimeout(opts[0].Timeout)
	access := reg.CheckPush(ctx, repos)
	return expiryWarnings(ctx, reg, repos, expectedTime(opts[0], "bake of these files and targets"), time.Now()), pushAccessError(access)
}

// pushAccessError names every repository that refuses the push, one line each, with its fix.
func pushAccessError(access []registry.PushAccess) error {
	lines := registry.Refusals(access)
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("nothing built: the registry would refuse the push\n%s", strings.Join(lines, "\n"))
}
