package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// kindOwnFiles are the files of contexts/ where a kind of node may be named: the kinds' own
// (kind_*.go, add_*.go, diff_*.go), the kind interface and the stored node's data.
var kindOwnFiles = regexp.MustCompile(`^contexts/(kind(_[a-z]+)?|add_[a-z]+|diff_[a-z]+|node)\.go$`)

// kindCheck is code that asks which kind a node is instead of what its kind can do.
var kindCheck = regexp.MustCompile(`\bKind(BuildKit|Engine)\b|\.KindName\b|IsBuildKit\(`)

// Nothing outside the kinds' own files asks which kind a node is (issue 20): it asks the node's
// Kind what it can do (Engine, BuildxDriver) or how to name it. Tests may build nodes of a kind.
func TestNoKindChecksOutsideTheKinds(t *testing.T) {
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == "tools" || rel == "e2e" || strings.HasPrefix(d.Name(), ".")) && rel != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || kindOwnFiles.MatchString(rel) {
			return nil
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(dt), "\n") {
			if kindCheck.MatchString(line) {
				t.Errorf("%s:%d asks which kind a node is (ask its Kind() what it can do): %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
