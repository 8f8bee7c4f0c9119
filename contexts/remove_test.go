package contexts

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/store"
)

// failingRemove is a context store whose removal of one context fails.
type failingRemove struct {
	store.Store
	name string
}

func (f failingRemove) Remove(name string) error {
	if name == f.name {
		return errors.New("disk says no")
	}
	return f.Store.Remove(name)
}

// node rm of several nodes removes all or none: one that cannot be removed puts back those
// removed before it.
func TestRemoveAllOrNone(t *testing.T) {
	s := store.New(t.TempDir(), command.DefaultContextStoreConfig())
	f := &fakeProber{engines: map[string]Engine{hostA: amd64Engine}, errs: map[string]error{}, hang: map[string]bool{}}
	n := New(failingRemove{Store: s, name: "bb"}, f).WithLock(filepath.Join(t.TempDir(), "contexts", ".multiarch.lock"))
	for _, name := range []string{"aa", "bb"} {
		if _, err := n.Add(t.Context(), addOpts(name, hostA, "linux/amd64")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := n.Remove(t.Context(), []string{"aa", "bb"}, RemoveOptions{Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), `node "bb"`) || !strings.Contains(err.Error(), "put back") {
		t.Fatalf("err = %v", err)
	}
	if names := contextNames(t, s); !slices.Equal(names, []string{"aa", "bb"}) {
		t.Errorf("contexts after the failed rm: %v, want aa and bb", names)
	}
	if node, err := n.Get("aa"); err != nil || node.Endpoint != hostA {
		t.Errorf("node aa after the failed rm: %+v, %v", node, err)
	}
}
