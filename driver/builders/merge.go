package builders

import (
	"reflect"
	"slices"

	"github.com/docker/buildx/store"
)

// merge applies the desired nodes to a stored group: kept nodes (by buildx node name) keep their
// place, new ones are appended, the rest leave. Changed is false when the result equals what is
// stored. Added and Removed name the nodes by their endpoint.
func merge(current, desired *store.NodeGroup) (*store.NodeGroup, ApplyResult) {
	out, added, removed := mergeNodes(current, desired)
	res := ApplyResult{Created: current == nil, Changed: changed(current, out)}
	for _, n := range added {
		res.Added = append(res.Added, n.Endpoint)
	}
	for _, n := range removed {
		res.Removed = append(res.Removed, n.Endpoint)
	}
	return out, res
}

// mergeNodes merges one group; either side may be nil (a group that is not there). The result has
// the desired group's name and driver, nil when nothing is desired.
func mergeNodes(current, desired *store.NodeGroup) (out *store.NodeGroup, added, removed []store.Node) {
	if desired == nil {
		if current != nil {
			removed = slices.Clone(current.Nodes)
		}
		return nil, nil, removed
	}
	if current == nil {
		return desired, slices.Clone(desired.Nodes), nil
	}
	out = &store.NodeGroup{Name: desired.Name, Driver: desired.Driver}
	for _, n := range current.Nodes {
		i := slices.IndexFunc(desired.Nodes, func(d store.Node) bool { return d.Name == n.Name })
		if i < 0 {
			removed = append(removed, n)
			continue
		}
		out.Nodes = append(out.Nodes, desired.Nodes[i])
	}
	for _, d := range desired.Nodes {
		if !slices.ContainsFunc(current.Nodes, func(n store.Node) bool { return n.Name == d.Name }) {
			out.Nodes = append(out.Nodes, d)
			added = append(added, d)
		}
	}
	return out, added, removed
}

// mergeGroups applies a desired builder to the stored one, group by group: engine nodes in the
// docker-container group, BuildKit daemons in the remote one, wherever the builder keeps it (NAME,
// or NAME-buildkit beside engines). Added and Removed name the multiarch nodes.
func mergeGroups(current, desired groups, idx nodeIndex) (groups, ApplyResult) {
	cc, cr := current.byDriver()
	dc, dr := desired.byDriver()
	mc, addC, remC := mergeNodes(cc, dc)
	mr, addR, remR := mergeNodes(cr, dr)
	var merged groups
	if desired.primary == dc {
		merged = groups{primary: mc, companion: mr}
	} else {
		merged = groups{primary: mr}
	}
	res := ApplyResult{Created: current.primary == nil}
	for _, n := range addC {
		res.Added = append(res.Added, n.Endpoint)
	}
	for _, n := range addR {
		res.Added = append(res.Added, idx.memberName(dr, n))
	}
	for _, n := range remC {
		res.Removed = append(res.Removed, n.Endpoint)
	}
	for _, n := range remR {
		res.Removed = append(res.Removed, idx.memberName(cr, n))
	}
	res.Changed = changed(current.primary, merged.primary) || changed(current.companion, merged.companion)
	return merged, res
}

// byDriver is the builder's docker-container group and its remote group (either may be nil).
func (g groups) byDriver() (container, remote *store.NodeGroup) {
	for _, ng := range g.list() {
		if ng.Driver == containerDriver {
			container = ng
		} else {
			remote = ng
		}
	}
	return container, remote
}

// changed reports whether a group differs from the stored one (nil: not there).
func changed(current, merged *store.NodeGroup) bool {
	if current == nil || merged == nil {
		return current != merged
	}
	return !reflect.DeepEqual(normalized(current), normalized(merged))
}

// normalized is a node group as it compares after a round trip through the store (nil and empty
// maps and slices alike).
func normalized(ng *store.NodeGroup) *store.NodeGroup {
	out := &store.NodeGroup{Name: ng.Name, Driver: ng.Driver, Dynamic: ng.Dynamic}
	for _, n := range ng.Nodes {
		if len(n.DriverOpts) == 0 {
			n.DriverOpts = nil
		}
		if len(n.BuildkitdFlags) == 0 {
			n.BuildkitdFlags = nil
		}
		if len(n.Files) == 0 {
			n.Files = nil
		}
		if len(n.Platforms) == 0 {
			n.Platforms = nil
		}
		out.Nodes = append(out.Nodes, n)
	}
	return out
}
