package contexts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
)

func TestNodeStoreKeepsBuildKitNodesOutOfDockersContexts(t *testing.T) {
	dir := t.TempDir()
	dockerStore := store.New(dir, command.DefaultContextStoreConfig())
	s := newNodeStore(dockerStore)
	bk := store.Metadata{Name: "bk", Endpoints: map[string]any{BuildKitEndpointName: BuildKitEndpoint{Host: "tcp://10.0.0.1:1234"}}}
	eng := store.Metadata{Name: "eng", Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: "unix:///x.sock"}}}
	for _, m := range []store.Metadata{bk, eng} {
		if err := s.CreateOrUpdate(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ResetEndpointTLSMaterial("bk", BuildKitEndpointName, &store.EndpointTLSData{Files: map[string][]byte{"key.pem": []byte("secret")}}); err != nil {
		t.Fatal(err)
	}
	// Docker's own store (what docker context ls and buildx read) holds only the engine.
	if names, err := store.Names(dockerStore); err != nil || len(names) != 1 || names[0] != "eng" {
		t.Errorf("Docker's contexts: %v, %v", names, err)
	}
	if names, err := store.Names(s); err != nil || len(names) != 2 {
		t.Errorf("the nodes' store lists %v, %v; want bk and eng", names, err)
	}
	key := filepath.Join(s.GetStorageInfo("bk").TLSPath, BuildKitEndpointName, "key.pem")
	if rel, err := filepath.Rel(BuildKitStoreDir(dir), key); err != nil || filepath.IsAbs(rel) || rel[0] == '.' {
		t.Errorf("the key is kept at %s, outside %s", key, BuildKitStoreDir(dir))
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file %v, %v; want 0600", st, err)
	}
	if b, err := s.GetTLSData("bk", BuildKitEndpointName, "key.pem"); err != nil || string(b) != "secret" {
		t.Errorf("TLS data %q, %v", b, err)
	}
	if err := s.Remove("bk"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(key); !os.IsNotExist(err) {
		t.Errorf("the key is left after Remove: %v", err)
	}
	if names, _ := store.Names(s); len(names) != 1 {
		t.Errorf("after Remove: %v", names)
	}

	// A BuildKit node an earlier version wrote as a Docker context stays there, and is updated there.
	legacy := store.Metadata{Name: "old", Endpoints: map[string]any{BuildKitEndpointName: BuildKitEndpoint{Host: "tcp://10.0.0.2:1234"}}}
	if err := dockerStore.CreateOrUpdate(legacy); err != nil {
		t.Fatal(err)
	}
	legacy.Endpoints[BuildKitEndpointName] = BuildKitEndpoint{Host: "tcp://10.0.0.3:1234"}
	if err := s.CreateOrUpdate(legacy); err != nil {
		t.Fatal(err)
	}
	if m, err := dockerStore.GetMetadata("old"); err != nil || m.Endpoints[BuildKitEndpointName] == nil {
		t.Errorf("the earlier node was not updated in place: %+v, %v", m, err)
	}
	if names, _ := store.Names(s); len(names) != 2 {
		t.Errorf("with an earlier BuildKit node: %v", names)
	}
}
