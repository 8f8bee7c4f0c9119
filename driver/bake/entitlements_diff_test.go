package bake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	bxbake "github.com/docker/buildx/bake"
	"github.com/docker/buildx/build"
	"github.com/docker/buildx/util/buildflags"
	"github.com/moby/buildkit/client"
)

// The filesystem entitlement check against buildx bake's own (bake.EntitlementConf.Validate, with
// the working directory granted as buildx's command adds it), over a table of path shapes read (a
// secret's src) and written (a local output's dest): both must refuse or allow alike, except where
// buildx cleans ".." as text before following symlinks: this check also follows the path as the
// OS will, so it refuses "link/../x" where the link leads out, which buildx allows.
func TestCheckFSAgainstBuildx(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wd := filepath.Join(root, "work")
	for _, d := range []string{"work/app", "home/buildx", "granted"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "home", "config.json"), []byte("{}"), 0o600))
	must(t, os.Symlink(filepath.Join(root, "home", "buildx"), filepath.Join(wd, "evil")))
	must(t, os.Symlink("../home", filepath.Join(wd, "out")))
	must(t, os.Symlink("app", filepath.Join(wd, "in")))
	must(t, os.MkdirAll(filepath.Join(wd, "app", "sub"), 0o755))
	must(t, os.Symlink("app/sub", filepath.Join(wd, "deep")))
	t.Chdir(wd)
	os.Unsetenv("BUILDX_BAKE_ENTITLEMENTS_FS")

	type row struct {
		path        string
		allow       []string
		stricter    bool // buildx allows it, this check refuses it (the OS reaches outside)
		description string
	}
	rows := []row{
		{path: "app/token", description: "inside"},
		{path: "in/token", description: "a link inside"},
		{path: "../home/config.json", description: ".. out"},
		{path: "out/config.json", description: "a link out"},
		{path: filepath.Join(root, "home", "config.json"), description: "absolute, out"},
		{path: filepath.Join(wd, "app"), description: "absolute, in"},
		{path: "/proc/self/root/etc/passwd", description: "/proc's link to /"},
		{path: "/proc/self/cwd/app/token", description: "/proc's link to the working directory"},
		{path: "~/.docker/config.json", description: "~ is a name, not home"},
		{path: "out/config.json", allow: []string{"fs=" + filepath.Join(root, "home")}, description: "granted"},
		{path: "out/config.json", allow: []string{"fs=../home"}, description: "granted, relative"},
		{path: "out/config.json", allow: []string{"fs=*"}, description: "fs=*"},
		{path: "evil/../config.json", stricter: true, description: "the link's parent, not ./config.json"},
		{path: "in/../../home/config.json", description: "through a link inside, then out"},
		{path: "new/../../home/x", description: "out through a folder not made yet"},
		{path: "deep/../../x", description: "a link two levels down, climbed: inside to the OS, outside as text (refused: code may open either)"},
	}
	for _, r := range rows {
		for _, write := range []bool{false, true} {
			target := map[string]any{"context": "app", "secret": []map[string]string{{"id": "s", "src": r.path}}}
			opts := build.Options{SecretSpecs: buildflags.Secrets{{ID: "s", FilePath: r.path}}}
			if write {
				target = map[string]any{"context": "app", "output": []map[string]string{{"type": "local", "dest": r.path}}}
				opts = build.Options{Exports: []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: r.path}}, ExportsLocalPathsTemporary: []string{r.path}}
			}
			js, _ := json.Marshal(target)
			ours := checkFS(needsOf(t, string(js)), r.allow) != nil
			theirs := buildxRefuses(t, wd, r.allow, opts)
			if ours != (theirs || r.stricter) || (r.stricter && theirs) {
				t.Errorf("%s %q (%s), --allow %v: this check refuses=%v, buildx refuses=%v, stricter=%v", map[bool]string{false: "read", true: "write"}[write], r.path, r.description, r.allow, ours, theirs, r.stricter)
			}
		}
	}
}

// buildxRefuses is buildx bake's answer for one target's options.
func buildxRefuses(t *testing.T, wd string, allow []string, opts build.Options) bool {
	t.Helper()
	ent, err := bxbake.ParseEntitlements(allow)
	if err != nil {
		t.Fatal(err)
	}
	ent.FSRead, ent.FSWrite = append(ent.FSRead, wd), append(ent.FSWrite, wd)
	exp, err := ent.Validate(map[string]build.Options{"t": opts})
	if err != nil {
		t.Fatal(err)
	}
	return len(exp.FSRead) > 0 || len(exp.FSWrite) > 0
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// secretFile reads a secret's source as buildx's own ResolveSource does.
func TestSecretFileAgainstBuildx(t *testing.T) {
	t.Setenv("SET_FOR_TEST", "x")
	os.Unsetenv("UNSET_FOR_TEST")
	for _, s := range []buildflags.Secret{
		{ID: "a", FilePath: "f"}, {ID: "a", Env: "E"}, {ID: "a", FilePath: "f", Env: "E"}, {ID: "SET_FOR_TEST"},
		{ID: "UNSET_FOR_TEST"}, {ID: "../x/y"}, {ID: "SET_FOR_TEST", FilePath: "f"}, {ID: ""},
	} {
		if got, want := secretFile(s.ID, s.FilePath, s.Env), s.ResolveSource().FilePath; got != want {
			t.Errorf("%+v: %q, buildx %q", s, got, want)
		}
	}
}
