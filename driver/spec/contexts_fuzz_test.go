package spec

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-multiarch/docker-multiarch/internal/flagtest"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
	"github.com/docker/buildx/util/buildflags"
)

func FuzzParseBuildContexts(f *testing.F) {
	dir := f.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "src"), 0o755); err != nil {
		f.Fatal(err)
	}
	for _, v := range []string{
		"alpine=docker-image://alpine:3.20", "docker.io/library/alpine:latest=docker-image://alpine", "alpine:3.20=target:base",
		"project=https://github.com/o/r.git#main", "src=src", "reg.example:5000/team/base=docker-image://reg.example:5000/team/base:1",
		"Upper=src", "novalue", "=src", "a=missing", "a=oci-layout://missing", "a=oci-layout://src@sha256:" + strings.Repeat("a", 64),
		"a=https://user:S3cret99@git.example/r.git", "a=git@github.com:o/r.git", "a@sha256:" + strings.Repeat("b", 64) + "=src",
	} {
		f.Add(v)
	}
	kinds := []string{ContextRemote, ContextOCI, ContextLocal}
	f.Fuzz(func(t *testing.T, v string) {
		t.Chdir(dir) // here, not before f.Fuzz: Go reads testdata/fuzz relative to the working directory
		if v == "" || len(v) > flagtest.MaxValue {
			t.Skip()
		}
		ours, err := ParseBuildContexts([]string{v})
		theirs, berr := buildflags.ParseContextNames([]string{v})
		if err != nil {
			if want := fmt.Sprintf("invalid --build-context %q", redact.URL(v)); !strings.Contains(err.Error(), want) {
				t.Errorf("--build-context %q: error %q does not name the value (%s)", v, err, want)
			}
			// A URL's password is never shown (one holding whitespace or a quote is cut there by
			// free-text redaction: a limit docs/security.md states). oci-layout://PATH is a folder
			// on this machine, no URL: a path that looks like user:pw@ is shown as the path it is.
			if scheme, rest, ok := strings.Cut(v, "://"); ok && !strings.Contains(v, flagtest.SecretMarker) && !strings.ContainsAny(rest, " \t\r\n\f\v\"'`<>") &&
				!strings.HasSuffix(scheme, "oci-layout") {
				if u, host, ok := strings.Cut(rest, "@"); ok {
					if user, pass, ok := strings.Cut(u, ":"); ok && pass != "" && !strings.ContainsAny(user, "/?#@") { // a user, not a path or a fragment
						marked := scheme + "://" + user + ":" + flagtest.SecretMarker + "@" + host
						if _, err := ParseBuildContexts([]string{marked}); err != nil && strings.Contains(err.Error(), flagtest.SecretMarker) {
							t.Errorf("--build-context %q: error %q shows the URL's password", marked, err)
						}
					}
				}
			}
			return // ours also checks the value (a directory, a layout), which buildx does later
		}
		if berr != nil {
			t.Fatalf("--build-context %q: ours %+v, buildx's %v", v, ours, berr)
		}
		got := map[string]string{}
		for _, c := range ours {
			got[c.Name] = c.Value
			if c.Name == "" || !slices.Contains(kinds, c.Kind) {
				t.Errorf("--build-context %q: %+v", v, c)
			}
			if c.Kind == ContextOCI && c.OCI.Digest.Validate() != nil {
				t.Errorf("--build-context %q: OCI layout without a valid digest: %+v", v, c.OCI)
			}
		}
		if !maps.Equal(got, theirs) {
			t.Fatalf("--build-context %q: ours %v, buildx's %v", v, got, theirs)
		}
	})
}
