// Package docs holds the test that keeps docs/architecture.md true to the code.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The package map at the top of architecture.md names every Go package of the module, and only
// those: a package added, moved or removed fails here until the map says so.
func TestArchitectureMapListsEveryPackage(t *testing.T) {
	dt, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	named := mapped(t, string(dt))
	have := packages(t, "..")
	for _, p := range have {
		if !slices.Contains(named, p) {
			t.Errorf("package %s is not in architecture.md's map", p)
		}
	}
	for _, p := range named {
		if !slices.Contains(have, p) {
			t.Errorf("architecture.md's map names %s, which is no package", p)
		}
	}
}

// mapped are the packages the map's code block names: "dir/" lines, "  sub/" lines under the one
// above, and internal/'s packages listed by name.
func mapped(t *testing.T, doc string) []string {
	t.Helper()
	_, block, ok := strings.Cut(doc, "```\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("no code block in architecture.md")
	}
	entry := regexp.MustCompile(`^(\s*)(\S+)/\s+(.*)$`)
	var out []string
	parent := ""
	for _, line := range strings.Split(block, "\n") {
		m := entry.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[1] == "" {
			parent = m[2]
			if parent == "internal" {
				for _, name := range regexp.MustCompile(`(?:^|, )([a-z]+)`).FindAllStringSubmatch(m[3], -1) {
					out = append(out, "internal/"+name[1])
				}
				continue
			}
			out = append(out, parent)
			continue
		}
		out = append(out, parent+"/"+m[2])
	}
	return out
}

// packages are the module's package folders (the farm's tools and the linter are modules of
// their own; docs is this test's).
func packages(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == "tools" || rel == "e2e/farm" || rel == "docs" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && rel != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !slices.Contains(out, filepath.ToSlash(filepath.Dir(rel))) {
			out = append(out, filepath.ToSlash(filepath.Dir(rel)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
