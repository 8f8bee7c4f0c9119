package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/opencontainers/go-digest"
)

// portableKey identifies the same build on any machine, for a node's BuildKit history (see
// runner.Options.CacheKey): its context (a URL; a folder of a git checkout as its origin remote
// and its path there; else a folder's name: the rest of its path is the machine's), its
// Dockerfiles (relative to the context folder when inside it, and what a local one holds: two
// projects in folders of the same name, /workspace on CI, are one build only when their
// Dockerfiles are the same, and then their cache is too), and its target, hashed. A context from
// stdin has none.
func portableKey(o BuildOptions) string {
	const maxKeyedDockerfile = 4 << 20
	if o.ContextPath == "" || o.ContextPath == "-" {
		return ""
	}
	ctxName, ctxAbs := o.ContextPath, ""
	if !strings.Contains(ctxName, "://") && !strings.HasPrefix(ctxName, "git@") {
		abs, err := filepath.Abs(ctxName)
		if err != nil {
			return ""
		}
		ctxName, ctxAbs = filepath.Base(abs), abs
		if origin, rel := gitOrigin(abs); origin != "" {
			ctxName = origin + "#" + rel // the repository's folder, wherever it is checked out
		}
	}
	within := func(f string) string {
		if f == "" || ctxAbs == "" {
			return f
		}
		name := f
		if abs, err := filepath.Abs(f); err == nil {
			name = filepath.Base(abs)
			if rel, err := filepath.Rel(ctxAbs, abs); err == nil && filepath.IsLocal(rel) {
				name = filepath.ToSlash(rel)
			}
		}
		if dt, err := bounded.ReadFile(f, maxKeyedDockerfile); err == nil {
			name += "@" + digest.FromBytes(dt).Encoded()
		}
		return name
	}
	file := o.File
	if file == "" {
		file = filepath.Join(o.ContextPath, "Dockerfile") // buildx's default: the same build as -f Dockerfile there
	}
	parts := []string{ctxName, within(file), o.Target}
	var per []string
	for _, f := range o.FileFor {
		pl, path, _ := strings.Cut(f, "=")
		if p, err := platforms.Parse(pl); err == nil {
			pl = platforms.Format(platforms.Normalize(p))
		}
		per = append(per, pl+"="+within(path))
	}
	parts = append(parts, slices.Sorted(slices.Values(per))...)
	h := sha256.New()
	for _, part := range parts {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// buildKey identifies the same build across runs: its context (an absolute folder, or a URL),
// Dockerfiles, target and builder, hashed (nothing of them is stored). A context from stdin has
// none.
func buildKey(o BuildOptions) string {
	if o.ContextPath == "" || o.ContextPath == "-" {
		return ""
	}
	ctxPath := o.ContextPath
	if !strings.Contains(ctxPath, "://") && !strings.HasPrefix(ctxPath, "git@") {
		if abs, err := filepath.Abs(ctxPath); err == nil {
			ctxPath = abs
		}
	}
	h := sha256.New()
	for _, part := range append([]string{ctxPath, o.File, o.Target, o.Builder}, slices.Sorted(slices.Values(o.FileFor))...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
