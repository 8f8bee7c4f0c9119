package driver

import "github.com/docker-multiarch/docker-multiarch/driver/builders"

// A multiarch builder as buildx's store holds it: its name, and its nodes' pinned platforms.
type (
	StoredBuilder = builders.Stored
	StoredNode    = builders.StoredNode
)

// StoredBuilders returns the multiarch builders, by name, with the platforms their nodes are
// pinned to, reading only the context and buildx stores (no engine is asked): for `ls -q` and
// shell completion.
func (m *Manager) StoredBuilders() ([]StoredBuilder, error) { return m.builders.Stored() }
