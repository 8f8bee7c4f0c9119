package builders

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/buildx/store"
	"github.com/docker/buildx/util/confutil"
)

const testEndpoint = "unix:///var/run/docker.sock"

// testStore is a buildx store in a temp dir, opened as buildx opens it (store.New makes the dirs).
func testStore(t *testing.T) (*confutil.Config, *store.Txn) {
	t.Helper()
	cfg := confutil.NewConfig(nil, confutil.WithDir(t.TempDir()))
	s, err := store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	txn, release, err := s.Txn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return cfg, txn
}

// storeState is every regular file under the store dir, by path, except buildx's lock file.
func storeState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".lock" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = st.Mode().String() + " " + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameState(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s left behind (%q)", what, k, v)
		}
	}
}

func createFiles(t *testing.T, cfg *confutil.Config, name string) (*fileSet, *fileSet) {
	t.Helper()
	b, err := snapshotFiles(cfg, `builder "`+name+`"`, builderFiles(name)...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := snapshotFiles(cfg, "the current builder", currentFiles(testEndpoint)...)
	if err != nil {
		t.Fatal(err)
	}
	return b, c
}

func testGroup(name string, endpoints ...string) *store.NodeGroup {
	ng := &store.NodeGroup{Name: name, Driver: containerDriver}
	for _, ep := range endpoints {
		ng.Nodes = append(ng.Nodes, storeNode(ep, "linux/amd64"))
	}
	return ng
}

// What create writes to a store where the builder did not exist is removed again.
func TestRestoreRemovesWhatDidNotExist(t *testing.T) {
	cfg, txn := testStore(t)
	// Another builder, current for the endpoint: create --use of a new one must give it back.
	if err := txn.Save(testGroup("other", "x")); err != nil {
		t.Fatal(err)
	}
	before := storeState(t, cfg.Dir())
	builder, current := createFiles(t, cfg, "b")
	if err := txn.Save(testGroup("b", "amd", "arm")); err != nil {
		t.Fatal(err)
	}
	if err := txn.SetCurrent(testEndpoint, "b", false, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"instances/b", "activity/b", "current"} {
		if _, err := os.Stat(filepath.Join(cfg.Dir(), f)); err != nil {
			t.Fatalf("buildx did not write %s: %v", f, err)
		}
	}
	if err := builder.restore(); err != nil {
		t.Fatal(err)
	}
	if err := current.restore(); err != nil {
		t.Fatal(err)
	}
	sameState(t, "after restore", storeState(t, cfg.Dir()), before)
	if ng, err := nodeGroup(txn, "b"); err != nil || ng != nil {
		t.Errorf("builder b after restore: %+v, %v", ng, err)
	}
}

// What create rewrites in a store where the builder existed is put back byte for byte: the
// instance, its activity, the current file, and the endpoint's default builder that SetCurrent
// removes.
func TestRestorePutsBackExistingBytes(t *testing.T) {
	cfg, txn := testStore(t)
	if err := txn.Save(testGroup("b", "amd")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Save(testGroup("other", "x")); err != nil {
		t.Fatal(err)
	}
	// An old activity stamp, so that Save's new one differs; and "other" as the endpoint's default.
	if err := cfg.AtomicWriteFile("activity/b", []byte("2001-02-03T04:05:06Z"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := txn.SetCurrent(testEndpoint, "other", false, true); err != nil {
		t.Fatal(err)
	}
	defaults := filepath.Join(cfg.Dir(), "defaults", endpointHash(testEndpoint))
	if _, err := os.Stat(defaults); err != nil {
		t.Fatalf("endpointHash does not name buildx's default-builder file: %v", err)
	}
	before := storeState(t, cfg.Dir())

	builder, current := createFiles(t, cfg, "b")
	if err := txn.Save(testGroup("b", "amd", "arm")); err != nil {
		t.Fatal(err)
	}
	if err := txn.SetCurrent(testEndpoint, "b", false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(defaults); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SetCurrent kept %s: %v", defaults, err)
	}
	after := storeState(t, cfg.Dir())
	for _, f := range []string{"instances/b", "activity/b", "current"} {
		if after[f] == before[f] {
			t.Fatalf("the test did not change %s", f)
		}
	}
	if err := errors.Join(builder.restore(), current.restore()); err != nil {
		t.Fatal(err)
	}
	sameState(t, "after restore", storeState(t, cfg.Dir()), before)
	if ng, err := txn.Current(testEndpoint); err != nil || ng == nil || ng.Name != "other" {
		t.Errorf("current builder after restore: %+v, %v", ng, err)
	}
}

// Once marked (the lock let go while BuildKit boots), files another process rewrote are kept.
func TestRestoreKeepsAChangeMadeMeanwhile(t *testing.T) {
	cfg, txn := testStore(t)
	builder, _ := createFiles(t, cfg, "b")
	if err := txn.Save(testGroup("b", "amd")); err != nil {
		t.Fatal(err)
	}
	if err := builder.mark(); err != nil {
		t.Fatal(err)
	}
	if err := txn.Save(testGroup("b", "amd", "arm")); err != nil { // another create, meanwhile
		t.Fatal(err)
	}
	theirs := storeState(t, cfg.Dir())
	if err := builder.restore(); !errors.Is(err, errChanged) {
		t.Fatalf("restore over another process's change: %v", err)
	}
	sameState(t, "after a refused restore", storeState(t, cfg.Dir()), theirs)

	// Unchanged since marked: put back.
	cfg, txn = testStore(t)
	builder, _ = createFiles(t, cfg, "b")
	if err := txn.Save(testGroup("b", "amd")); err != nil {
		t.Fatal(err)
	}
	if err := builder.mark(); err != nil {
		t.Fatal(err)
	}
	if err := builder.restore(); err != nil {
		t.Fatal(err)
	}
	sameState(t, "after restore", storeState(t, cfg.Dir()), map[string]string{})
}

func TestNilFileSet(t *testing.T) {
	var s *fileSet
	if err := errors.Join(s.mark(), s.restore()); err != nil {
		t.Fatal(err)
	}
}
