// Package pathutil answers where a path really is on this machine: made absolute with the symlinks
// of its longest existing prefix resolved (a destination may not exist yet), and whether it lies
// within another.
package pathutil

import (
	"path/filepath"
	"strings"
)

// Resolve is p made absolute, with the symlinks of its longest existing prefix resolved.
func Resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = filepath.Clean(p)
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest, cur = filepath.Join(filepath.Base(cur), rest), parent
	}
}

// Within reports whether p is root or below it (both resolved already).
func Within(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
