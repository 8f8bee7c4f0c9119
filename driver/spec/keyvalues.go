package spec

import (
	"os"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// KeyValues parses KEY=VALUE list flags as buildx does: a bare KEY takes its value from the
// environment with fromEnv (none if unset), else the empty value.
func KeyValues(flag string, in []string, fromEnv bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		switch {
		case k == "":
			return nil, Invalid(flag, MaskValue(kv), "want KEY=VALUE")
		case ok:
			out[k] = v
		case fromEnv:
			if v, ok := os.LookupEnv(k); ok {
				out[k] = v
			}
		default:
			out[k] = ""
		}
	}
	return out, nil
}

// AddKeyValues adds KEY=VALUE pairs given typed (bake's args and labels) to out, checked as
// KeyValues checks a flag's: an empty key is refused, naming the flag.
func AddKeyValues(flag string, out, typed map[string]string) error {
	for k, v := range typed {
		if k == "" {
			return Invalid(flag, MaskValue("="+v), "want KEY=VALUE")
		}
		out[k] = v
	}
	return nil
}

// MaskValue is KEY=VALUE with the value masked: build args and labels may carry secrets.
func MaskValue(kv string) string {
	if k, _, ok := strings.Cut(kv, "="); ok {
		return k + "=" + redact.Mask
	}
	return kv
}
