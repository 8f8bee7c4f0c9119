package driver

import (
	"os"
	"path/filepath"
	"testing"
)

// The portable key is the same for the same build checked out in two places (two machines, two
// CI runners), the Dockerfile named inside the context either way; it differs for another
// target, another Dockerfile, another project folder; stdin has none.
func TestPortableKey(t *testing.T) {
	one, two := filepath.Join(t.TempDir(), "app"), filepath.Join(t.TempDir(), "app")
	for _, d := range []string{one, two} {
		if err := os.MkdirAll(filepath.Join(d, "docker"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	k := portableKey(BuildOptions{ContextPath: one, File: filepath.Join(one, "docker", "Dockerfile"), Target: "prod"})
	if k == "" || len(k) != 24 {
		t.Fatalf("key %q", k)
	}
	t.Chdir(two)
	if got := portableKey(BuildOptions{ContextPath: ".", File: "docker/Dockerfile", Target: "prod"}); got != k {
		t.Errorf("the same build elsewhere, relative paths: %q, want %q", got, k)
	}
	for name, o := range map[string]BuildOptions{
		"another target":     {ContextPath: one, File: filepath.Join(one, "docker", "Dockerfile"), Target: "dev"},
		"another Dockerfile": {ContextPath: one, File: filepath.Join(one, "Dockerfile"), Target: "prod"},
		"another folder":     {ContextPath: filepath.Dir(one), File: filepath.Join(one, "docker", "Dockerfile"), Target: "prod"},
		"per platform":       {ContextPath: one, File: filepath.Join(one, "docker", "Dockerfile"), Target: "prod", FileFor: []string{"linux/arm64=x"}},
	} {
		if got := portableKey(o); got == k || got == "" {
			t.Errorf("%s: key %q", name, got)
		}
	}
	// The default Dockerfile is the same build as -f naming it; per-platform files whatever the
	// platforms' spelling.
	if a, b := portableKey(BuildOptions{ContextPath: one}), portableKey(BuildOptions{ContextPath: one, File: filepath.Join(one, "Dockerfile")}); a != b {
		t.Errorf("the default Dockerfile: %q, -f Dockerfile: %q", a, b)
	}
	if a, b := portableKey(BuildOptions{ContextPath: one, FileFor: []string{"linux/arm64=x", "linux/arm/v7=y"}}),
		portableKey(BuildOptions{ContextPath: one, FileFor: []string{"linux/arm/v7=y", "linux/aarch64=x"}}); a != b {
		t.Errorf("per-platform files: %q, %q", a, b)
	}
	if got := portableKey(BuildOptions{ContextPath: "-"}); got != "" {
		t.Errorf("stdin: %q", got)
	}
}

// Two projects in folders of the same name (/workspace on CI) are one build only when their
// Dockerfiles hold the same.
func TestPortableKeySameFolderNameOtherDockerfile(t *testing.T) {
	one, two := filepath.Join(t.TempDir(), "workspace"), filepath.Join(t.TempDir(), "workspace")
	for d, content := range map[string]string{one: "FROM a\n", two: "FROM b\n"} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "Dockerfile"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := portableKey(BuildOptions{ContextPath: one}), portableKey(BuildOptions{ContextPath: two}); a == b {
		t.Errorf("two projects' Dockerfiles, one key %q", a)
	}
	if err := os.WriteFile(filepath.Join(two, "Dockerfile"), []byte("FROM a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a, b := portableKey(BuildOptions{ContextPath: one}), portableKey(BuildOptions{ContextPath: two}); a != b {
		t.Errorf("the same Dockerfile in two places: %q, %q", a, b)
	}
}
