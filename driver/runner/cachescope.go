package runner

import (
	"fmt"
	"maps"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker-multiarch/docker-multiarch/driver/builders"
	"github.com/moby/buildkit/client"
)

// scopeCaches gives each platform its own registry cache when several platforms build on several
// nodes: with one --cache-to type=registry,ref=R every node would overwrite the others' cache
// (buildx issue #1044). R:TAG becomes R:TAG-linux-arm64 (TAG defaults to latest) for the export;
// a --cache-from type=registry,ref=R reads R:TAG-linux-arm64 first, then R:TAG itself (a cache
// that is missing is skipped by BuildKit), so the next build finds its platform's cache.
func scopeCaches(imports, exports []client.CacheOptionsEntry, platform string) ([]client.CacheOptionsEntry, []client.CacheOptionsEntry) {
	scoped := map[string]string{}
	var outExports []client.CacheOptionsEntry
	for _, e := range exports {
		if ref, ok := registryRef(e); ok {
			scoped[ref] = platformCacheRef(ref, platform)
			e = withRef(e, scoped[ref])
		}
		outExports = append(outExports, e)
	}
	var outImports []client.CacheOptionsEntry
	for _, e := range imports {
		if ref, ok := registryRef(e); ok {
			outImports = append(outImports, withRef(e, platformCacheRef(ref, platform)))
			if scoped[ref] != "" {
				continue // the shared form of a cache this build scopes is never written
			}
		}
		outImports = append(outImports, e)
	}
	return outImports, outExports
}

func registryRef(e client.CacheOptionsEntry) (string, bool) {
	ref := e.Attrs["ref"]
	return ref, e.Type == "registry" && ref != ""
}

func withRef(e client.CacheOptionsEntry, ref string) client.CacheOptionsEntry {
	attrs := maps.Clone(e.Attrs)
	attrs["ref"] = ref
	return client.CacheOptionsEntry{Type: e.Type, Attrs: attrs}
}

// platformCacheRef is a cache ref's per-platform form: its tag (latest when none) suffixed.
func platformCacheRef(ref, platform string) string {
	suffix := strings.ReplaceAll(platform, "/", "-")
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref + "-" + suffix
	}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return reference.FamiliarName(named) + ":" + tag + "-" + suffix
}

// cacheScopeNote says where each platform's cache goes, once per build.
func cacheScopeNote(exports []client.CacheOptionsEntry, plats []string) string {
	var refs []string
	for _, e := range exports {
		if ref, ok := registryRef(e); ok {
			refs = append(refs, fmt.Sprintf("%s -> %s", ref, platformCacheRef(ref, "<os>/<arch>")))
		}
	}
	if len(refs) == 0 || len(plats) < 2 {
		return ""
	}
	return "--cache-to on several nodes: one registry cache per platform (" + strings.Join(refs, ", ") +
		"), so the nodes do not overwrite each other's (buildx issue #1044)"
}

// withBuilderSettings applies what the builder keeps for every build on it (create --cache-ref)
// where the build gives none of its own: the options parsed again with it.
func (r *Runner) withBuilderSettings(o Options, stdin *stdinInput, p *parsed, t builders.Target) (*parsed, error) {
	if t.Fallback || o.CacheRef != "" {
		return p, nil
	}
	s, err := r.builders.BuilderSettings(t.Name)
	if err != nil || s.CacheRef == "" {
		return p, err
	}
	o.CacheRef = s.CacheRef
	return parseOptions(o, stdin)
}
