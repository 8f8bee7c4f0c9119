package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeGitRepo makes a working tree at dir whose .git/config has the given origin ("" : none).
func writeGitRepo(t *testing.T, dir, origin string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := "[core]\n\tbare = false\n"
	if origin != "" {
		cfg += "[remote \"upstream\"]\n\turl = https://example.com/other.git\n[remote \"origin\"]\n\turl = " + origin + "\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
	}
	if err := os.WriteFile(filepath.Join(dir, ".git", "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Two checkouts of one repository, in folders of any names, are one build; two repositories in
// folders of the same name are two, even with the same Dockerfile (review: the key had no remote).
func TestPortableKeyIsTheRepositoryWhereverItIsCheckedOut(t *testing.T) {
	root := t.TempDir()
	clone := func(folder, origin string) string {
		d := filepath.Join(root, folder)
		writeGitRepo(t, d, origin)
		if err := os.MkdirAll(filepath.Join(d, "svc"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "svc", "Dockerfile"), []byte("FROM a\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(d, "svc")
	}
	laptop := clone("src/app", "https://github.com/acme/app.git")
	ci := clone("workspace", "https://ci-token:s3cret@GitHub.com/acme/app/")
	other := clone("x/workspace", "git@github.com:acme/other.git")
	sameName := clone("y/workspace", "git@github.com:acme/third.git")
	key := func(dir string) string { return portableKey(BuildOptions{ContextPath: dir}) }
	if key(laptop) != key(ci) {
		t.Errorf("two checkouts of acme/app: %q and %q", key(laptop), key(ci))
	}
	if key(other) == key(sameName) {
		t.Error("two repositories in folders named workspace, the same Dockerfile: one key")
	}
	if key(filepath.Dir(laptop)) == key(laptop) {
		t.Error("the repository's root and its folder svc: one key")
	}
}

func TestGitOrigin(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	writeGitRepo(t, repo, `"https://user:pw@example.com/team/app.git" # the main one`)
	deep := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	if o, rel := gitOrigin(deep); o != "example.com/team/app" || rel != "a/b" {
		t.Errorf("origin %q at %q", o, rel)
	}
	// A worktree: .git is a file naming its git folder, whose commondir holds the config.
	wt := filepath.Join(root, "wt")
	wtGit := filepath.Join(repo, ".git", "worktrees", "wt")
	for _, d := range []string{wt, wtGit} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(wt, ".git"), []byte("gitdir: "+wtGit+"\n"), 0o600)
	os.WriteFile(filepath.Join(wtGit, "commondir"), []byte("../..\n"), 0o600)
	if o, rel := gitOrigin(wt); o != "example.com/team/app" || rel != "." {
		t.Errorf("worktree: origin %q at %q", o, rel)
	}
	// No origin, a config that is a symlink, a .git that is a symlink: no remote, no read.
	bare := filepath.Join(root, "noorigin")
	writeGitRepo(t, bare, "")
	if o, _ := gitOrigin(bare); o != "" {
		t.Errorf("a repository without origin: %q", o)
	}
	secret := filepath.Join(root, "secret")
	os.WriteFile(secret, []byte("[remote \"origin\"]\nurl = https://leak.example/x\n"), 0o600)
	linked := filepath.Join(root, "linked")
	writeGitRepo(t, linked, "")
	os.Remove(filepath.Join(linked, ".git", "config"))
	os.Symlink(secret, filepath.Join(linked, ".git", "config"))
	if o, _ := gitOrigin(linked); o != "" {
		t.Errorf("a config that is a symlink was read: %q", o)
	}
	dotLinked := filepath.Join(root, "dotlinked")
	os.MkdirAll(dotLinked, 0o700)
	os.Symlink(filepath.Join(repo, ".git"), filepath.Join(dotLinked, ".git"))
	if o, _ := gitOrigin(dotLinked); o != "" {
		t.Errorf("a .git that is a symlink was followed: %q", o)
	}
}

func TestOriginURL(t *testing.T) {
	for cfg, want := range map[string]string{
		"[remote \"origin\"]\nurl = a\n":                            "a",
		"[Remote \"origin\"]\n  URL=b ; comment\n":                  "b",
		"[remote \"Origin\"]\nurl = c\n":                            "",
		"[remote \"origin\"]\nfetch = x\n[core]\nurl = d\n":         "",
		"[remote \"origin\"\nurl = e\n":                             "",
		"# [remote \"origin\"]\n[remote \"origin\"]\nurl=\"f#g\"\n": "f#g",
		"[remote]\nurl = h\n":                                       "",
		"":                                                          "",
	} {
		if got := originURL([]byte(cfg)); got != want {
			t.Errorf("%q: %q, want %q", cfg, got, want)
		}
	}
}

func FuzzOriginURL(f *testing.F) {
	f.Add([]byte("[remote \"origin\"]\nurl = https://u:p@h/x.git\n"))
	f.Add([]byte("[remote \"origin\"]\nurl = \"a\\\"b\" ; c\n"))
	f.Add([]byte("[\n]\n[remote \"origin\"] url = x\n"))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		u := originURL(cfg)
		if len(u) > len(cfg) {
			t.Fatalf("%q: a url longer than the config: %q", cfg, u)
		}
		_ = cleanRemote(u)
	})
}

// A remote's credentials never reach the key, however the URL is spelt; the same repository
// over https and ssh is one remote.
func TestCleanRemote(t *testing.T) {
	for u, want := range map[string]string{
		"https://github.com/acme/app.git":              "github.com/acme/app",
		"https://ci-token:s3cret@GitHub.com/acme/app/": "github.com/acme/app",
		"git@github.com:acme/app.git":                  "github.com/acme/app",
		"ssh://git@github.com/acme/app":                "github.com/acme/app",
		"https://oauth2:tok^en@host/r":                 "host/r",
		"https://u:pa ss@host/r":                       "host/r",
		"https://u:p%zz@host/r":                        "host/r",
		"user:tok@host:path":                           "host/path",
		"/srv/git/app.git":                             "/srv/git/app",
		`C:\repos\app`:                                 `C:\repos\app`,
		"weird@thing":                                  "",
	} {
		if got := cleanRemote(u); got != want {
			t.Errorf("%q: %q, want %q", u, got, want)
		}
	}
}

func FuzzCleanRemoteDropsCredentials(f *testing.F) {
	f.Add("https", "user", "s3cret", "host", "org/repo.git")
	f.Add("", "git", "tok:en", "github.com", "acme/app")
	f.Add("ssh", "ci", "pa/ss", "box:22", "x")
	f.Fuzz(func(t *testing.T, scheme, user, pass, host, path string) {
		if len(pass) < 4 || strings.ContainsAny(host, "@/:\\ ") || host == "" || strings.ContainsAny(user, "/?#@:") || strings.Contains(strings.ToLower(host+path+scheme+user), strings.ToLower(pass)) {
			return // the secret is what only the password holds
		}
		u := user + ":" + pass + "@" + host + "/" + path
		if scheme != "" {
			if strings.ContainsAny(scheme, ":/@") {
				return
			}
			u = scheme + "://" + u
		} else {
			u = user + ":" + pass + "@" + host + ":" + path
		}
		if got := cleanRemote(u); strings.Contains(strings.ToLower(got), strings.ToLower(pass)) {
			t.Fatalf("%q: the password is in %q", u, got)
		}
	})
}

// A .git naming a network path is not followed; another user's .git is not read (as git since
// CVE-2022-24765: a .git in /tmp or a shared folder above the context is not the user's project).
func TestGitOriginRefusesNetworkPathsAndOtherUsers(t *testing.T) {
	root := t.TempDir()
	unc := filepath.Join(root, "unc")
	os.MkdirAll(unc, 0o700)
	os.WriteFile(filepath.Join(unc, ".git"), []byte("gitdir: //attacker.example/share/repo/.git\n"), 0o600)
	if o, _ := gitOrigin(unc); o != "" {
		t.Errorf("a network gitdir was followed: %q", o)
	}
	if os.Getuid() != 0 {
		t.Skip("giving a folder to another user needs root")
	}
	theirs := filepath.Join(root, "theirs")
	writeGitRepo(t, theirs, "https://example.com/theirs.git")
	if err := os.Chown(filepath.Join(theirs, ".git"), 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if o, _ := gitOrigin(filepath.Join(theirs)); o != "" {
		t.Errorf("another user's .git was read: %q", o)
	}
}
