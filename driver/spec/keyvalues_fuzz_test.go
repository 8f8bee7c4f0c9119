package spec

import (
	"os"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
)

func FuzzKeyValues(f *testing.F) {
	f.Setenv("FROM_ENV", "env-value")
	for _, v := range []string{"A=1", "A=", "A", "FROM_ENV", "=v", "A=b=c", "TOKEN=S3cret99", " A = b ", ""} {
		f.Add(v, true)
		f.Add(v, false)
	}
	f.Fuzz(func(t *testing.T, v string, fromEnv bool) {
		if len(v) > flagtest.MaxValue {
			t.Skip()
		}
		m, err := KeyValues("--build-arg", []string{v}, fromEnv)
		k, val, hasValue := strings.Cut(v, "=")
		if err != nil {
			if !strings.Contains(err.Error(), "--build-arg") {
				t.Errorf("%q: error %q does not name the flag", v, err)
			}
			if _, err := KeyValues("--build-arg", []string{k + "=" + flagtest.SecretMarker}, fromEnv); hasValue && !strings.Contains(k, flagtest.SecretMarker) && err != nil && strings.Contains(err.Error(), flagtest.SecretMarker) {
				t.Errorf("%q: error %q shows the value", k+"="+flagtest.SecretMarker, err)
			}
			if k != "" {
				t.Errorf("%q: refused, with key %q", v, k)
			}
			return
		}
		switch got, ok := m[k]; {
		case k == "":
			t.Errorf("%q: an empty key accepted: %v", v, m)
		case hasValue && (!ok || got != val):
			t.Errorf("%q: %v", v, m)
		case !hasValue && !fromEnv && (!ok || got != ""):
			t.Errorf("%q (label): %v", v, m)
		case !hasValue && fromEnv && ok != envSet(k):
			t.Errorf("%q (build arg from the environment): %v", v, m)
		case len(m) > 1:
			t.Errorf("%q: %v", v, m)
		}
	})
}

func envSet(k string) bool {
	_, ok := os.LookupEnv(k)
	return ok
}
