package spec

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// annotationTypeRE is an annotation level with an optional platform, "manifest[linux/arm64]".
var annotationTypeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$`)
})

// ParseAnnotations parses --annotation "[LEVEL[PLATFORM],...:]KEY=VALUE" as buildx does. A key
// without a level has Type "" (BuildKit puts it on the manifests: AnnotationKey.String()).
func ParseAnnotations(values []string) (map[exptypes.AnnotationKey]string, error) {
	out := map[exptypes.AnnotationKey]string{}
	for _, v := range values {
		if v == "" {
			continue
		}
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return nil, Invalid("--annotation", MaskValue(v), "want KEY=VALUE")
		}
		levels, key, ok := strings.Cut(k, ":")
		if !ok {
			out[exptypes.AnnotationKey{Key: levels}] = val
			continue
		}
		for lp := range strings.SplitSeq(levels, ",") {
			ak, err := annotationKey(lp, key)
			if err != nil {
				return nil, Invalid("--annotation", MaskValue(v), "%w", err)
			}
			out[ak] = val
		}
	}
	return out, nil
}

func annotationKey(levelPlatform, key string) (exptypes.AnnotationKey, error) {
	g := annotationTypeRE().FindStringSubmatch(levelPlatform)
	if g == nil {
		return exptypes.AnnotationKey{}, fmt.Errorf("level %q: want a level and an optional platform in square brackets", levelPlatform)
	}
	switch g[1] {
	case exptypes.AnnotationIndex, exptypes.AnnotationIndexDescriptor, exptypes.AnnotationManifest, exptypes.AnnotationManifestDescriptor:
	default:
		return exptypes.AnnotationKey{}, fmt.Errorf("unknown level %q (want manifest, index, manifest-descriptor or index-descriptor)", g[1])
	}
	ak := exptypes.AnnotationKey{Type: g[1], Key: key}
	if g[2] != "" {
		pl, err := platforms.Parse(g[2])
		if err != nil {
			return ak, fmt.Errorf("platform %q: %w", g[2], err)
		}
		ak.Platform = &pl
	}
	return ak, nil
}

// AnnotationsAt are the annotations of one level for one platform ("" for the index levels):
// KEY -> VALUE. A key without a level counts as a manifest one; a platform-specific key applies
// only to its platform, and wins over the same key for every platform.
func AnnotationsAt(all map[exptypes.AnnotationKey]string, level, platform string) map[string]string {
	out := map[string]string{}
	var own []exptypes.AnnotationKey
	for k, v := range all {
		typ := k.Type
		if typ == "" {
			typ = exptypes.AnnotationManifest
		}
		if typ != level {
			continue
		}
		if k.Platform == nil {
			out[k.Key] = v
		} else if platform != "" && samePlatform(*k.Platform, platform) {
			own = append(own, k)
		}
	}
	for _, k := range own {
		out[k.Key] = all[k]
	}
	return out
}

func samePlatform(p ocispec.Platform, platform string) bool {
	q, err := platforms.Parse(platform)
	return err == nil && platforms.Format(platforms.Normalize(p)) == platforms.Format(platforms.Normalize(q))
}
