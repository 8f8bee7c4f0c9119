package registry

import (
	"fmt"
	"strings"
)

// ParseIndexAnnotations parses --annotation values for a published index: KEY=VALUE or
// index:KEY=VALUE (buildx's form); annotations of another level are refused, naming the value.
func ParseIndexAnnotations(values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range values {
		kv := v
		if level, rest, ok := strings.Cut(v, ":"); ok && !strings.Contains(level, "=") && !strings.Contains(level, ".") {
			if level != "index" {
				return nil, fmt.Errorf("invalid --annotation %q: only index annotations apply to the published index (index:KEY=VALUE)", v)
			}
			kv = rest
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --annotation %q: want [index:]KEY=VALUE", v)
		}
		out[k] = val
	}
	return out, nil
}
