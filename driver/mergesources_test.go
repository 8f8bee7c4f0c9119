package driver

import (
	"os"
	"strings"
	"testing"
)

// Issue 19, case 9: "merge -t T --from-metadata a.json b.json" says what to write instead of
// "invalid reference format"; an image whose name is also a local file stays an image.
func TestMergeSourceThatIsALocalFile(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, f := range []string{"b.json", "app", "Meta.json"} {
		if err := os.WriteFile(f, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir("metadata", 0o755); err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		"b.json":      `merge source "b.json" is a file on this machine, not an image: give each metadata file (or a folder of them) its own flag, --from-metadata b.json`,
		"Meta.json":   "--from-metadata Meta.json",
		"./metadata":  `"./metadata" is a folder`,
		"./b.json":    "--from-metadata ./b.json",
		"../" + "x/.": "",
	} {
		err := checkMergeSources([]string{"registry.example/app@sha256:" + strings.Repeat("a", 64), src})
		if want == "" {
			if err != nil {
				t.Errorf("%s (not here): %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	for _, img := range []string{"app", "app:1.4", "metadata"} { // images, though files of those names exist
		if err := checkMergeSources([]string{img}); err != nil {
			t.Errorf("%s: %v", img, err)
		}
	}
}
