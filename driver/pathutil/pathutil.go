// Package pathutil answers where a path really is on this machine, the way the OS will follow it
// when the file is opened: walked component by component from the root (a relative path from the
// working directory), each symlink followed before the next component is taken, so "link/../x" is
// the parent of the link's target joined with x, not "./x" as a textual clean makes it. Past the
// last component that exists (a destination may not exist yet), the rest is cleaned onto the
// resolved prefix textually, as MkdirAll would create it ("new/../../x" is above the working
// directory). Every path a user or a file names is checked through here.
//
// buildx's entitlement check walks paths with util/osutil.EvaluateToExistingPath, which cleans the
// path as text first: Outside takes a path both ways, so it refuses whatever buildx refuses, and
// also "link/../x" where the link leads out (driver/bake's differential test holds both).
package pathutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/buildx/util/osutil"
)

// maxLinks is how many symlinks one path may go through, as Linux allows (ELOOP after 40).
const maxLinks = 40

// Resolve is p as the OS will follow it: absolute, every symlink of its existing part followed in
// order, the rest cleaned onto it. It fails, naming p, for a path the OS would refuse to follow (a
// symlink loop, a file used as a folder, a folder it may not read).
func Resolve(p string) (string, error) {
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("path %q: %w", p, err)
		}
		p = wd + string(filepath.Separator) + p // not filepath.Join: that cleans ".." as text
	}
	out, err := walk(p)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", p, err)
	}
	return out, nil
}

// walk resolves an absolute path component by component.
func walk(p string) (string, error) {
	vol := filepath.VolumeName(p)
	root := vol + string(filepath.Separator)
	dest, todo, links := root, components(p[len(vol):]), 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			dest = filepath.Dir(dest)
			continue
		}
		next := filepath.Join(dest, c)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return notYet(next, todo)
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if !fi.IsDir() && len(todo) > 0 {
				return "", fmt.Errorf("%s is not a folder", next)
			}
			dest = next
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("more than %d symlinks (a loop?) at %s", maxLinks, next)
		}
		target, err := os.Readlink(next)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			v := filepath.VolumeName(target)
			dest, target = v+string(filepath.Separator), target[len(v):]
		}
		todo = append(components(target), todo...)
	}
	return longName(dest)
}

// notYet is a path whose part from next on does not exist: the rest cleaned onto it as text.
func notYet(next string, todo []string) (string, error) {
	prefix, err := longName(filepath.Dir(next))
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{prefix, filepath.Base(next)}, todo...)...), nil
}

// longName is a resolved path by its long name (Windows' 8.3 names expanded; as is elsewhere).
func longName(p string) (string, error) {
	return osutil.GetLongPathName(p)
}

// components are a path's names, empty ones dropped ("a//b/" is a, b).
func components(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator })
}

// Within reports whether p is root or below it (both resolved already), as buildx compares them:
// "/" holds everything, "/a/bc" is not below "/a/b".
func Within(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Outside is every path of paths that lies under none of roots, sorted and without repeats: what
// buildx bake asks --allow fs.read= / fs.write= for. A path is taken both ways a reader may open
// it: as the OS follows it (Resolve) and cleaned as text first (as filepath.Abs or Join leave it
// for code that opens it later); both must be under a root. A root "*" holds everything. A path or
// root that cannot be resolved is an error naming it: what cannot be checked is not allowed.
func Outside(paths, roots []string) ([]string, error) {
	if slices.Contains(roots, "*") {
		return nil, nil
	}
	var resolved []string
	for _, r := range roots {
		rr, err := Resolve(r)
		if err != nil {
			return nil, err
		}
		resolved = append(resolved, rr)
	}
	var out []string
	for _, p := range paths {
		for _, form := range []string{p, filepath.Clean(p)} {
			rp, err := Resolve(form)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(resolved, func(root string) bool { return Within(rp, root) }) && !slices.Contains(out, rp) {
				out = append(out, rp)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Granted are the paths --allow grants for key ("fs.read" or "fs.write"), as buildx reads its
// entitlements: KEY=PATH and fs=PATH (both), "*" for any path.
func Granted(allow []string, key string) []string {
	var out []string
	for _, a := range allow {
		if k, v, ok := strings.Cut(a, "="); ok && (k == key || k == "fs") {
			out = append(out, v)
		}
	}
	return out
}
