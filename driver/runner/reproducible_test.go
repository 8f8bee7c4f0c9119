package runner

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// --reproducible's epoch: the flag, else SOURCE_DATE_EPOCH (build argument or environment), else
// the context's git commit time; none of them is an error naming how to give one; a bad value is
// refused naming it. The image exporters rewrite timestamps.
func TestReproducibleEpoch(t *testing.T) {
	dir := contextDir(t)
	t.Setenv("SOURCE_DATE_EPOCH", "")
	os.Unsetenv("SOURCE_DATE_EPOCH")
	if _, err := parseOptions(Options{ContextPath: dir, Reproducible: true, Timeout: time.Minute}, nil); err == nil || !strings.Contains(err.Error(), "give --source-date-epoch") {
		t.Errorf("no epoch: %v", err)
	}
	p := mustParse(t, Options{ContextPath: dir, SourceDateEpoch: "1700000000"})
	if !p.Reproducible || p.buildArgs["SOURCE_DATE_EPOCH"] != "1700000000" || p.reproducibleAttrs(map[string]string{})["rewrite-timestamp"] != "true" {
		t.Errorf("--source-date-epoch: %v %v", p.Reproducible, p.buildArgs)
	}
	for _, bad := range []string{"soon", "-1", "1e9", "99999999999999"} {
		if _, err := parseOptions(Options{ContextPath: dir, SourceDateEpoch: bad, Timeout: time.Minute}, nil); err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("--source-date-epoch %s: %v", bad, err)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1600000000")
	if p := mustParse(t, Options{ContextPath: dir, Reproducible: true}); p.buildArgs["SOURCE_DATE_EPOCH"] != "1600000000" {
		t.Errorf("from the environment: %v", p.buildArgs)
	}
	os.Unsetenv("SOURCE_DATE_EPOCH")
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git: %v", err)
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x",
			"GIT_COMMITTER_DATE=1500000000 +0000", "GIT_AUTHOR_DATE=1500000000 +0000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "x")
	if p := mustParse(t, Options{ContextPath: dir, Reproducible: true}); p.buildArgs["SOURCE_DATE_EPOCH"] != "1500000000" {
		t.Errorf("from git: %v", p.buildArgs)
	}
	if p := mustParse(t, Options{ContextPath: dir}); p.reproducibleAttrs(map[string]string{})["rewrite-timestamp"] != "" || p.buildArgs["SOURCE_DATE_EPOCH"] != "" {
		t.Error("without --reproducible nothing is set")
	}
}
