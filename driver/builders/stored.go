package builders

import (
	"slices"
	"strings"
)

// Stored is a multiarch builder as buildx's store holds it: its name and, per node, the
// platforms the node is pinned to (its native ones and those it emulates).
type Stored struct {
	Name  string
	Nodes []StoredNode
}

// StoredNode is one node of a stored builder.
type StoredNode struct {
	Node      string // the multiarch node (a Docker context)
	Platforms []string
}

// Platforms are every platform the builder's nodes are pinned to, each once, in node order.
func (s Stored) Platforms() []string {
	var out []string
	for _, n := range s.Nodes {
		for _, p := range n.Platforms {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Stored returns the multiarch builders of buildx's store, by name. Only files are read (the
// context store and buildx's store): no engine is asked, so it is fit for `ls -q` and shell
// completion.
func (m *Manager) Stored() ([]Stored, error) {
	idx, txn, release, err := m.openIndexed()
	if err != nil {
		return nil, err
	}
	defer release()
	builders, err := storedGroups(txn, idx)
	if err != nil {
		return nil, err
	}
	var out []Stored
	for _, g := range builders {
		s := Stored{Name: g.primary.Name}
		for _, ng := range g.list() {
			for _, n := range ng.Nodes {
				s.Nodes = append(s.Nodes, StoredNode{Node: idx.memberName(ng, n), Platforms: formatPlatforms(n)})
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Stored) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
