package bake

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/pathutil"

	"github.com/docker/buildx/util/urlutil"
)

// fsNeeds is what a bake's targets read and write on this machine, and whether one forwards the
// default SSH agent: buildx bake's filesystem entitlements (bake/entitlements.go) are asked of it.
type fsNeeds struct {
	read, write map[string]bool
	sshAgent    bool
}

// add records what a target reads (its context and Dockerfile, local named contexts and OCI
// layouts, secret files, SSH keys, local cache sources) and writes (every output's destination but
// standard output, local cache destinations), as buildx collects them.
func (n *fsNeeds) add(t *Target) {
	ctxPath := "."
	if t.Context != nil && *t.Context != "" {
		ctxPath = *t.Context
	}
	if p, ok := localPath(ctxPath); ok {
		n.read[p] = true
		if df := deref(t.Dockerfile); t.DockerfileInline == nil && df != "" && df != "-" {
			n.read[dockerfilePath(p, df)] = true
		}
	}
	for _, v := range t.Contexts {
		if layout, ok := strings.CutPrefix(v, "oci-layout://"); ok {
			n.read[ociLayoutPath(layout)] = true
		} else if p, ok := localPath(v); ok {
			n.read[p] = true
		}
	}
	for _, s := range t.Secrets {
		if src := field(s, "src", "source"); src != "" {
			n.read[src] = true
		}
	}
	for _, k := range t.SSH {
		n.sshAgent = n.sshAgent || len(k.Paths) == 0
		for _, p := range k.Paths {
			n.read[p] = true
		}
	}
	n.caches(t)
	for _, o := range t.Outputs {
		if dest := field(o, "dest"); dest != "" && dest != "-" {
			n.write[dest] = true
		}
	}
}

func (n *fsNeeds) caches(t *Target) {
	for _, c := range t.CacheFrom {
		if field(c, "type") == "local" && field(c, "src") != "" {
			n.read[field(c, "src")] = true
		}
	}
	for _, c := range t.CacheTo {
		if field(c, "type") == "local" && field(c, "dest") != "" {
			n.write[field(c, "dest")] = true
		}
	}
}

// checkFS refuses, before anything is built, a bake whose targets read or write outside the
// working directory without --allow fs.read=PATH, fs.write=PATH or fs=PATH (fs=* allows any), or
// forward the default SSH agent without --allow ssh, naming the flags that grant them: buildx
// bake's check as it runs without a terminal to ask. BUILDX_BAKE_ENTITLEMENTS_FS=0 turns it off,
// as in buildx.
func checkFS(n *fsNeeds, allow []string) error {
	if v, ok := os.LookupEnv("BUILDX_BAKE_ENTITLEMENTS_FS"); ok {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid BUILDX_BAKE_ENTITLEMENTS_FS %q: want true or false", v)
		}
		if !on {
			return nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	var flags []string
	for _, need := range []struct {
		key   string
		paths map[string]bool
	}{{"fs.read", n.read}, {"fs.write", n.write}} {
		outside, err := pathutil.Outside(slices.Sorted(maps.Keys(need.paths)), append(pathutil.Granted(allow, need.key), wd))
		if err != nil {
			return fmt.Errorf("checking what the targets %s: %w", map[string]string{"fs.read": "read", "fs.write": "write"}[need.key], err)
		}
		for _, p := range outside {
			flags = append(flags, "--allow="+need.key+"="+shownPath(p, wd))
		}
	}
	if n.sshAgent && !slices.Contains(allow, "ssh") {
		flags = append(flags, "--allow=ssh")
	}
	if len(flags) == 0 {
		return nil
	}
	return fmt.Errorf("additional privileges requested: pass %q to grant requested privileges (the targets read or write outside the working directory, or forward the SSH agent; BUILDX_BAKE_ENTITLEMENTS_FS=0 turns the filesystem checks off)",
		strings.Join(flags, " "))
}

// shownPath is a path as buildx shows it in the flags: relative to the working directory when it
// is at most one level above it.
func shownPath(p, wd string) string {
	if real, err := pathutil.Resolve(wd); err == nil {
		wd = real
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, ".."+string(filepath.Separator)+"..") {
		return rel
	}
	return p
}

// localPath is a context on this machine (not a URL, an image or another target), as buildx
// tells them apart.
func localPath(v string) (string, bool) {
	if urlutil.IsRemoteURL(v) || strings.HasPrefix(v, targetPrefix) || strings.HasPrefix(v, "docker-image:") {
		return "", false
	}
	return strings.TrimPrefix(v, "cwd://"), true
}

func dockerfilePath(ctxPath, df string) string {
	if p, ok := strings.CutPrefix(df, "cwd://"); ok {
		return p
	}
	if filepath.IsAbs(df) {
		return df
	}
	return filepath.Join(ctxPath, df)
}

// ociLayoutPath is the folder of oci-layout://PATH[:TAG][@DIGEST].
func ociLayoutPath(v string) string {
	v, _, _ = strings.Cut(v, "@")
	if i := strings.LastIndex(v, ":"); i > strings.LastIndex(v, "/") && i > 1 { // a tag, not C:\ on Windows
		v = v[:i]
	}
	return v
}

// field is the first of keys an entry of the printed definition has, as a string.
func field(e map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := e[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
	}
	return ""
}
