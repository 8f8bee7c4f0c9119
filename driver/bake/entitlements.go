package bake

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/driver/pathutil"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
	"github.com/docker-multiarch/docker-multiarch/driver/spec"
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
		if df := cmp.Or(deref(t.Dockerfile), "Dockerfile"); t.DockerfileInline == nil && df != "-" {
			n.read[dockerfilePath(p, df)] = true // the base check reads it here, following links
		}
		for _, plat := range t.Platforms { // Dockerfile.linux-arm64 beside the context, as plan picks it
			for _, name := range plan.PlatformDockerfileNames(plat) {
				if f := filepath.Join(p, name); exists(f) {
					n.read[f] = true
				}
			}
		}
	}
	for _, v := range t.Contexts {
		if p, ok := spec.ContextPath(v); ok { // a local folder or an OCI layout, read as the build reads it
			n.read[p] = true
		}
	}
	for _, s := range t.Secrets {
		if src := secretFile(field(s, "id"), field(s, "src", "source"), field(s, "env")); src != "" {
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

// secretFile is the file a secret reads, as the build takes it (buildx's
// buildflags.Secret.ResolveSource, held to it by TestSecretFileAgainstBuildx; not imported: its
// package brings buildx's policy engine into every start of the plugin): src; none when env is
// given; else the id, unless a variable of that name is set.
func secretFile(id, src, env string) string {
	if src != "" || env != "" {
		return src
	}
	if _, ok := os.LookupEnv(id); ok {
		return ""
	}
	return id
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// localPath is the main context on this machine (not a URL or another target), as the build
// reads it.
func localPath(v string) (string, bool) {
	return spec.ContextPath(strings.TrimPrefix(v, "cwd://"))
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

// field is the first of keys an entry of the printed definition has, as a string.
func field(e map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := e[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
	}
	return ""
}
