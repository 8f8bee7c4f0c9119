package registry

import (
	"maps"
	"strings"
	"testing"
)

func TestParseIndexAnnotations(t *testing.T) {
	got, err := ParseIndexAnnotations([]string{"org.opencontainers.image.source=https://github.com/acme/app", "index:org.opencontainers.image.licenses=MIT", "empty="})
	want := map[string]string{"org.opencontainers.image.source": "https://github.com/acme/app", "org.opencontainers.image.licenses": "MIT", "empty": ""}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"manifest:a=b", "novalue", "=x", "index:"} {
		if _, err := ParseIndexAnnotations([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
