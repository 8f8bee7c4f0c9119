package builders

import (
	"strings"
	"testing"

	"github.com/docker/buildx/store"
)

// saveForeign writes a builder as `docker buildx create --name NAME` makes it (nodes NAME0, ...).
func saveForeign(t *testing.T, m *Manager, ng *store.NodeGroup) {
	t.Helper()
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := txn.Save(ng); err != nil {
		t.Fatal(err)
	}
}

// A builder the user made with docker buildx create under the name create or rm is given is not
// taken over or removed (its BuildKit container and cache would go); nor is a NAME-buildkit of
// theirs taken for NAME's BuildKit daemons.
func TestCreateAndRemoveLeaveAUsersBuilder(t *testing.T) {
	a := &fakeEngine{}
	m, dir := testCLI(t, map[string]string{"a": startFakeEngine(t, a)})
	initStore(t, m)
	saveForeign(t, m, &store.NodeGroup{Name: "t", Driver: "docker-container", Nodes: []store.Node{{Name: "t0", Endpoint: "a"}}})
	saveForeign(t, m, &store.NodeGroup{Name: "u-buildkit", Driver: "remote", Nodes: []store.Node{{Name: "u-buildkit0", Endpoint: "tcp://10.0.0.1:1234"}}})
	before := storeState(t, dir)

	if _, err := m.Create(t.Context(), testSpec("t", "a"), CreateOptions{}, testTimeout); err == nil || !strings.Contains(err.Error(), `builder "t" exists with the docker-container driver and is not a multiarch builder`) {
		t.Errorf("create over a user's builder: %v", err)
	}
	if _, err := m.Remove(t.Context(), "t", testTimeout); err == nil || !strings.Contains(err.Error(), "docker buildx rm t") {
		t.Errorf("rm of a user's builder: %v", err)
	}
	sameState(t, "buildx store", storeState(t, dir), before)
	if len(a.removed) != 0 {
		t.Errorf("containers removed: %v", a.removed)
	}

	// u (engines only) is created beside the user's u-buildkit, which stays as it is.
	if _, err := m.Create(t.Context(), testSpec("u", "a"), CreateOptions{}, testTimeout); err == nil || !strings.Contains(err.Error(), `"u-buildkit" exists and is not "u"'s BuildKit daemons`) {
		t.Errorf("create beside a user's NAME-buildkit: %v", err)
	}
	noUnexpected(t, a)
}

// A remote node's TLS file paths are not printed in a builder's changes.
func TestKVListHidesTLSFiles(t *testing.T) {
	got := kvList(map[string]string{"cacert": "/home/u/.docker/contexts/multiarch-buildkit/tls/x/buildkit/ca.pem", "key": "/k.pem", "servername": "bk"})
	if strings.Contains(got, "/") || got != "cacert=(TLS file),key=(TLS file),servername=bk" {
		t.Errorf("kvList = %q", got)
	}
}
