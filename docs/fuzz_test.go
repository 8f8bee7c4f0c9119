package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Go reads a fuzz target's checked-in corpus (testdata/fuzz/FuzzXxx) relative to the working
// directory when f.Fuzz runs: a target that changes directory before it never replays its
// regression seeds, and writes new failing inputs into a temporary folder that is then removed.
// Three targets did, for several sessions; none may again (change directory inside the fuzz
// function, with t.Chdir).
func TestNoFuzzTargetChangesDirectoryBeforeItsCorpusIsRead(t *testing.T) {
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		dt, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		chdir := "Chdir" + "(" // written so, this file does not match itself
		for i, line := range strings.Split(string(dt), "\n") {
			if strings.Contains(line, "f."+chdir) || (strings.Contains(line, "os."+chdir) && strings.Contains(string(dt), "f.Fuzz(")) {
				t.Errorf("%s:%d changes directory in a file of fuzz targets: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
