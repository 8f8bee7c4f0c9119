package contexts

import (
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/context/store"
)

// BuildKitStoreDir is where BuildKit nodes are kept, inside the Docker CLI's context store
// directory (contextsDir: $DOCKER_CONFIG/contexts) and in its format: metadata, and TLS files
// written as Docker writes a context's (0600 files in 0700 directories).
func BuildKitStoreDir(contextsDir string) string {
	return filepath.Join(contextsDir, "multiarch-buildkit")
}

// nodeStore is where nodes live. Engine nodes are Docker contexts, so `docker context ls`, docker
// --context and buildx see them. BuildKit daemons have no Docker endpoint: as Docker contexts,
// `docker context ls` and `docker buildx ls` would list them as broken, so they live in a store of
// the same format beside it (bk). Names are unique across the two (adding a node checks both).
// BuildKit nodes that an earlier version wrote as Docker contexts stay there and keep working.
type nodeStore struct {
	docker store.Store
	bk     store.Store
}

var _ store.Store = nodeStore{}

// newNodeStore puts the BuildKit store beside a context store on disk; a store that is not on disk
// (no metadata path) keeps every node.
func newNodeStore(s store.Store) store.Store {
	meta := s.GetStorageInfo("x").MetadataPath // <contexts dir>/meta/<digest>
	if meta == "" {
		return s
	}
	dir := BuildKitStoreDir(filepath.Dir(filepath.Dir(meta)))
	return nodeStore{docker: s, bk: store.New(dir, command.DefaultContextStoreConfig())}
}

// in is the store holding name: the BuildKit store first (also when its entry cannot be read, so
// that its error shows and its removal works), else the Docker one (also when neither does).
func (s nodeStore) in(name string) store.Store {
	if _, err := s.bk.GetMetadata(name); err == nil || !errdefs.IsNotFound(err) {
		return s.bk
	}
	return s.docker
}

func (s nodeStore) GetMetadata(name string) (store.Metadata, error) {
	meta, err := s.bk.GetMetadata(name)
	if err == nil || !errdefs.IsNotFound(err) {
		return meta, err
	}
	return s.docker.GetMetadata(name)
}

// List is both stores' contexts; a Docker context with the name of a BuildKit node (made later
// with docker context create) is not listed: the node is.
func (s nodeStore) List() ([]store.Metadata, error) {
	bk, err := s.bk.List()
	if err != nil {
		return nil, err
	}
	all, err := s.docker.List()
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, m := range bk {
		names[m.Name] = true
	}
	for _, m := range all {
		if !names[m.Name] {
			bk = append(bk, m)
		}
	}
	return bk, nil
}

// CreateOrUpdate writes a context where it is; a new one with a BuildKit endpoint goes to the
// BuildKit store, any other to Docker's.
func (s nodeStore) CreateOrUpdate(meta store.Metadata) error {
	if s.in(meta.Name) == s.bk {
		return s.bk.CreateOrUpdate(meta)
	}
	_, err := s.docker.GetMetadata(meta.Name)
	switch {
	case err == nil: // an engine node, or a BuildKit node an earlier version wrote
		return s.docker.CreateOrUpdate(meta)
	case !errdefs.IsNotFound(err):
		return err
	case meta.Endpoints[BuildKitEndpointName] != nil:
		return s.bk.CreateOrUpdate(meta)
	}
	return s.docker.CreateOrUpdate(meta)
}

func (s nodeStore) Remove(name string) error { return s.in(name).Remove(name) }

func (s nodeStore) ResetTLSMaterial(name string, data *store.ContextTLSData) error {
	return s.in(name).ResetTLSMaterial(name, data)
}

func (s nodeStore) ResetEndpointTLSMaterial(name, endpoint string, data *store.EndpointTLSData) error {
	return s.in(name).ResetEndpointTLSMaterial(name, endpoint, data)
}

func (s nodeStore) ListTLSFiles(name string) (map[string]store.EndpointFiles, error) {
	return s.in(name).ListTLSFiles(name)
}

func (s nodeStore) GetTLSData(name, endpoint, file string) ([]byte, error) {
	return s.in(name).GetTLSData(name, endpoint, file)
}

func (s nodeStore) GetStorageInfo(name string) store.StorageInfo {
	return s.in(name).GetStorageInfo(name)
}
