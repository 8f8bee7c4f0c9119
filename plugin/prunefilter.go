package plugin

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// pruneFilters turns prune's --filter values (with the Docker config's pruneFilters merged in,
// as buildx does) into buildx's prune request: until (or its older name unused-for) is the
// keep duration; every other key is one BuildKit filter (id matches by prefix, a key ending in
// ! or ~ keeps its operator, others must equal). A key given twice is refused, as buildx does.
func pruneFilters(f client.Filters) (time.Duration, []string, error) {
	if len(f["until"]) > 0 && len(f["unused-for"]) > 0 {
		return 0, nil, fmt.Errorf(`invalid --filter: "until" and "unused-for" conflict (unused-for is until's older name)`)
	}
	untilKey := "until"
	if len(f["unused-for"]) > 0 {
		untilKey = "unused-for"
	}
	var until time.Duration
	switch v := slices.Sorted(maps.Keys(f[untilKey])); len(v) {
	case 0:
	case 1:
		d, err := time.ParseDuration(v[0])
		if err != nil || d < 0 {
			return 0, nil, fmt.Errorf("invalid --filter %q: %s takes a duration such as 24h", untilKey+"="+v[0], untilKey)
		}
		until = d
	default:
		return 0, nil, fmt.Errorf("invalid --filter: %q is given %d times (%s); it takes one value", untilKey, len(v), strings.Join(v, ", "))
	}
	var out []string
	for _, key := range slices.Sorted(maps.Keys(f)) {
		if key == untilKey {
			continue
		}
		switch v := slices.Sorted(maps.Keys(f[key])); {
		case len(v) == 0:
			out = append(out, key)
		case len(v) > 1:
			return 0, nil, fmt.Errorf("invalid --filter: %q is given %d times (%s); it takes one value", key, len(v), strings.Join(v, ", "))
		case key == "id":
			out = append(out, key+"~="+v[0])
		case strings.HasSuffix(key, "!") || strings.HasSuffix(key, "~"):
			out = append(out, key+"="+v[0])
		default:
			out = append(out, key+"=="+v[0])
		}
	}
	return until, out, nil
}
