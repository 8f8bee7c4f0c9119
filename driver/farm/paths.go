package farm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/pathutil"
)

// maxFileSize bounds a farm file, read from a path or stdin (declarations, not data).
const maxFileSize = 1 << 20

// filePath is one path the farm file names, and where.
type filePath struct{ where, path string }

// paths are the files the farm file makes apply read: TLS files and buildkitd configs.
func (f *File) paths() []filePath {
	var out []filePath
	for i, n := range f.Nodes {
		if n.TLS != nil {
			for _, kv := range [][2]string{{"ca", n.TLS.CA}, {"cert", n.TLS.Cert}, {"key", n.TLS.Key}} {
				out = append(out, filePath{nodeEntry(i, n.Name) + ": tls." + kv[0], kv[1]})
			}
		}
	}
	for i, b := range f.Builders {
		out = append(out, filePath{builderEntry(i, b.Name) + ": buildkitd-config", b.BuildkitdConfig})
	}
	return slices.DeleteFunc(out, func(p filePath) bool { return p.path == "" })
}

// CheckPaths refuses, before anything is read, probed or written, a file whose TLS files or
// buildkitd config lie (symlinks followed as the OS will follow them) outside the file's folder,
// unless --allow fs.read=PATH (or fs=PATH, fs=*) grants them, as bake asks for the files its
// targets read: a farm file from a repository cannot make apply copy ~/.ssh or ~/.docker into a
// context store or a builder's config. The error names the file, the entry, the key and the flag.
func (f *File) CheckPaths(allow []string) error {
	for _, a := range allow {
		if k, v, _ := strings.Cut(a, "="); (k != "fs.read" && k != "fs") || v == "" {
			return fmt.Errorf("invalid --allow %q: apply reads files only: give fs.read=PATH (or fs=PATH, fs.read=*)", a)
		}
	}
	roots := append(pathutil.Granted(allow, "fs.read"), f.dir)
	var found, flags []string
	for _, p := range f.paths() {
		out, err := pathutil.Outside([]string{f.resolve(p.path)}, roots)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", f.path, p.where, err)
		}
		for _, o := range out {
			found = append(found, fmt.Sprintf("%s %q is %s", p.where, p.path, o))
			if flag := "--allow=fs.read=" + o; !slices.Contains(flags, flag) {
				flags = append(flags, flag)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s: outside the file's folder (%s), which a farm file reads only with --allow: pass %q to read them",
		f.path, strings.Join(found, "; "), f.dir, strings.Join(flags, " "))
}
