package driver

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-multiarch/docker-multiarch/internal/bounded"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// Bounds of the look for the git repository holding a build's context: how many folders up,
// and how much of its config (and of a .git file, a worktree's or a submodule's) is read.
const (
	maxGitDepth      = 64
	maxGitConfigSize = 1 << 20
	maxGitFileSize   = 4 << 10
)

// gitOrigin is the "origin" remote of the git repository holding the folder dir (as
// cleanRemote spells it: HOST/PATH, no credentials), and dir's path within that repository; ""
// when dir is in no repository, or its repository has no origin. It reads the repository's
// files only (no git is run, nothing is printed): its .git (a folder, or a file naming one), the
// config there, regular files only.
func gitOrigin(dir string) (origin, rel string) {
	d := dir
	for range maxGitDepth {
		if gitDir := dotGit(d); gitDir != "" {
			cfg, err := bounded.ReadRegular(filepath.Join(gitDir, "config"), maxGitConfigSize)
			if err != nil {
				return "", ""
			}
			origin = cleanRemote(originURL(cfg))
			r, err := filepath.Rel(d, dir)
			if origin == "" || err != nil {
				return "", ""
			}
			return origin, filepath.ToSlash(r)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", ""
		}
		d = parent
	}
	return "", ""
}

// dotGit is the git folder of a working tree at d: d/.git when it is a folder, else the folder
// a .git file names ("gitdir: PATH", never a network path), whose common folder a worktree's
// commondir names; "" when d has no .git, it is a symlink, or another user's.
func dotGit(d string) string {
	p := filepath.Join(d, ".git")
	fi, err := os.Lstat(p)
	switch {
	case err != nil || !ownedByMe(fi):
		return ""
	case fi.IsDir():
		return p
	case !fi.Mode().IsRegular():
		return ""
	}
	dt, err := bounded.ReadRegular(p, maxGitFileSize)
	if err != nil {
		return ""
	}
	gitDir, ok := strings.CutPrefix(strings.TrimSpace(string(dt)), "gitdir:")
	if !ok {
		return ""
	}
	gitDir = strings.TrimSpace(gitDir)
	if strings.HasPrefix(gitDir, `\\`) || strings.HasPrefix(gitDir, "//") {
		return "" // a network path (on Windows, asking it sends the user's credentials)
	}
	if !filepath.IsAbs(gitDir) {
		gitDir = filepath.Join(d, gitDir)
	}
	if common, err := bounded.ReadRegular(filepath.Join(gitDir, "commondir"), maxGitFileSize); err == nil {
		c := strings.TrimSpace(string(common))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		return c
	}
	return gitDir
}

// originURL is the url of [remote "origin"] in a git config ("" when there is none): the
// section's name is any case, the subsection's exact, the key any case; a quoted value is
// unquoted, a comment after it dropped.
func originURL(cfg []byte) string {
	in := false
	for line := range strings.Lines(string(cfg)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			name, sub, _ := strings.Cut(strings.TrimSpace(line[1:max(end, 1)]), " ")
			in = end > 0 && strings.EqualFold(name, "remote") && strings.TrimSpace(sub) == `"origin"`
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if in && ok && strings.EqualFold(strings.TrimSpace(k), "url") {
			return configValue(strings.TrimSpace(v))
		}
	}
	return ""
}

// configValue is a git config value as written: quotes removed, a comment (# or ; outside
// quotes) dropped.
func configValue(v string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case !quoted && (c == '#' || c == ';'):
			return strings.TrimSpace(b.String())
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// cleanRemote is a remote's URL as the same repository whatever its spelling: HOST/PATH, the
// host in lower case, without the scheme, credentials or user (https://user:token@host/...,
// ssh://git@host/..., git@host:...), and without a trailing / or .git. A local path stays as it
// is; a value neither is "" (no key from it).
func cleanRemote(u string) string {
	rest, ok := "", false
	if ui, has := redact.Userinfo(u); has {
		_, after, _ := strings.Cut(u, "://")
		rest, ok = after[len(ui)+1:], true
	} else if _, after, found := strings.Cut(u, "://"); found {
		rest, ok = after, true
	} else if host, _, scp := strings.Cut(u, ":"); scp && len(host) > 1 && !strings.ContainsAny(host, `/\`) {
		// scp-like [user@]host:path (git's rule: a colon before any slash; C:\... is a path)
		at := strings.LastIndex(u, "@")
		if colon := strings.Index(u[at+1:], ":"); colon >= 0 {
			rest, ok = u[at+1:at+1+colon]+"/"+u[at+1+colon+1:], true
		}
	}
	if !ok {
		if strings.Contains(u, "@") {
			return "" // neither a URL nor a path: no key from what may hold a credential
		}
		return strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	}
	host, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	return strings.ToLower(host) + "/" + strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git")
}
