package driver

import (
	"fmt"
	"os"
	"strings"

	"github.com/distribution/reference"
)

// checkMergeSources refuses, before anything is read, a merge source that is a file or folder on
// this machine rather than an image: "--from-metadata a.json b.json" makes b.json a source, which
// the registry would call an invalid reference. A name that parses as an image and does not look
// like a path ("app", "app:1.4") stays an image even where a file of that name exists.
func checkMergeSources(sources []string) error {
	for _, s := range sources {
		st, err := os.Stat(s)
		if err != nil {
			continue
		}
		_, perr := reference.ParseNormalizedNamed(s)
		if perr == nil && !strings.HasSuffix(s, ".json") && !looksLikePath(s) {
			continue
		}
		what := "file"
		if st.IsDir() {
			what = "folder"
		}
		return fmt.Errorf("merge source %q is a %s on this machine, not an image: give each metadata file (or a folder of them) its own flag, --from-metadata %s", s, what, s)
	}
	return nil
}

func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.Contains(s, `\`)
}
