package builders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/buildx/builder"
	"github.com/docker/buildx/store"
	"github.com/docker/cli/cli/command"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/internal/redact"
)

// buildx gives a builder one driver. A multiarch builder is therefore one or two buildx builders:
//   - NAME, with the docker-container driver, holds its engine nodes (one BuildKit container each);
//   - NAME-buildkit, with the remote driver, holds its BuildKit daemons, when it also has engines;
//   - a builder of BuildKit daemons only is NAME itself, with the remote driver.
//
// `docker buildx ls` lists both; `docker buildx build --builder NAME` builds on NAME's nodes.
// docker multiarch reads the two as one builder, and writes them together (one create).
const (
	containerDriver = contexts.DriverDockerContainer // the engines (contexts.Kind's BuildxDriver)
	remoteDriver    = contexts.DriverRemote          // the BuildKit daemons
	companionSuffix = "-buildkit"
)

// companionName is the buildx builder of the BuildKit daemons of a builder that also has engines.
func companionName(name string) string { return name + companionSuffix }

// groups is a multiarch builder as buildx's store holds it.
type groups struct {
	primary   *store.NodeGroup // NAME
	companion *store.NodeGroup // NAME-buildkit, or nil
}

// list is the builder's node groups, NAME first.
func (g groups) list() []*store.NodeGroup {
	var out []*store.NodeGroup
	for _, ng := range []*store.NodeGroup{g.primary, g.companion} {
		if ng != nil {
			out = append(out, ng)
		}
	}
	return out
}

// ownNodes reports whether every node of a docker-container group is named as create names it,
// NAME-NODE after the node's context: a builder made otherwise (docker buildx create names its
// nodes NAME0, NAME1, ...) is not a multiarch builder, whatever its name.
func ownNodes(ng *store.NodeGroup) bool {
	return len(ng.Nodes) > 0 && !slices.ContainsFunc(ng.Nodes, func(sn store.Node) bool {
		return sn.Name != nodeName(ng.Name, sn.Endpoint)
	})
}

// ownCompanion reports whether NAME-buildkit is NAME's: a remote builder whose every node is
// NAME-NODE for a BuildKit node NODE.
func ownCompanion(c *store.NodeGroup, name string, idx nodeIndex) bool {
	return c.Driver == remoteDriver && len(c.Nodes) > 0 && !slices.ContainsFunc(c.Nodes, func(sn store.Node) bool {
		n, ok := idx.member(c, sn)
		return !ok || sn.Name != nodeName(name, n.Name)
	})
}

// readGroups reads a builder and, when NAME has the docker-container driver, its companion.
func readGroups(read func(string) (*store.NodeGroup, error), name string) (groups, error) {
	var g groups
	var err error
	if g.primary, err = read(name); err != nil || g.primary == nil || g.primary.Driver != containerDriver {
		return g, err
	}
	c, err := read(companionName(name))
	if err != nil {
		return g, err
	}
	if c != nil && c.Driver == remoteDriver {
		g.companion = c
	}
	return g, nil
}

// txnReader reads node groups from an open store.
func txnReader(txn *store.Txn) func(string) (*store.NodeGroup, error) {
	return func(name string) (*store.NodeGroup, error) { return nodeGroup(txn, name) }
}

// nodeIndex is the multiarch nodes by name.
type nodeIndex map[string]contexts.Node

func indexNodes(nodes []contexts.Node) nodeIndex {
	out := nodeIndex{}
	for _, n := range nodes {
		out[n.Name] = n
	}
	return out
}

// member is the multiarch node a stored buildx node is: a docker-container node's endpoint is the
// node's Docker context; a remote node's endpoint is its daemon's address, and its buildx name,
// BUILDER-NODE, names the node (BUILDER is NAME for the companion NAME-buildkit too).
func (idx nodeIndex) member(ng *store.NodeGroup, sn store.Node) (contexts.Node, bool) {
	if ng.Driver != remoteDriver {
		n, ok := idx[sn.Endpoint]
		return n, ok && n.Kind().Engine() // an engine: the docker-container driver runs on its Docker context
	}
	bases := []string{ng.Name}
	if base, ok := strings.CutSuffix(ng.Name, companionSuffix); ok {
		bases = append(bases, base)
	}
	for _, n := range idx {
		for _, b := range bases {
			if n.Kind().BuildxDriver() == ng.Driver && nodeName(b, n.Name) == sn.Name {
				return n, true
			}
		}
	}
	return contexts.Node{}, false
}

// memberName is the multiarch node of a stored buildx node, or its endpoint when it is none.
func (idx nodeIndex) memberName(ng *store.NodeGroup, sn store.Node) string {
	if n, ok := idx.member(ng, sn); ok {
		return n.Name
	}
	return sn.Endpoint
}

// isMultiarch reports whether a node group is (part of) a multiarch builder: a docker-container
// group of engine nodes, or a remote group of BuildKit nodes.
func isMultiarch(ng *store.NodeGroup, idx nodeIndex) bool {
	if (ng.Driver != containerDriver && ng.Driver != remoteDriver) || len(ng.Nodes) == 0 {
		return false
	}
	return !slices.ContainsFunc(ng.Nodes, func(sn store.Node) bool {
		_, ok := idx.member(ng, sn)
		return !ok
	})
}

// isCompanion reports whether a group is the BuildKit half of a multiarch builder listed by its
// other half.
func isCompanion(ng *store.NodeGroup, all []*store.NodeGroup, idx nodeIndex) bool {
	base, ok := strings.CutSuffix(ng.Name, companionSuffix)
	if !ok || ng.Driver != remoteDriver {
		return false
	}
	i := slices.IndexFunc(all, func(g *store.NodeGroup) bool { return g.Name == base })
	return i >= 0 && all[i].Driver == containerDriver && isMultiarch(all[i], idx)
}

// multiarchGroups are the multiarch builders of the store, by name, each with its companion.
func multiarchGroups(all []*store.NodeGroup, idx nodeIndex) []groups {
	var out []groups
	for _, ng := range all {
		if !isMultiarch(ng, idx) || isCompanion(ng, all, idx) {
			continue
		}
		g := groups{primary: ng}
		if ng.Driver == containerDriver {
			i := slices.IndexFunc(all, func(c *store.NodeGroup) bool { return c.Name == companionName(ng.Name) })
			if i >= 0 && all[i].Driver == remoteDriver && isMultiarch(all[i], idx) {
				g.companion = all[i]
			}
		}
		out = append(out, g)
	}
	return out
}

// loadGroups loads the nodes of a builder's groups (see loadNodes), NAME's first. The remote nodes'
// Endpoint is set to their multiarch node's name, as docker-container nodes have it, so that
// what names a node by its endpoint names it alike.
func loadGroups(ctx context.Context, dockerCli command.Cli, txn *store.Txn, g groups, idx nodeIndex, timeout time.Duration, data bool) ([]builderNode, error) {
	var out []builderNode
	for _, ng := range g.list() {
		_, nodes, err := loadNodes(ctx, dockerCli, txn, ng.Name, timeout, data)
		if err != nil {
			return nil, err
		}
		out = append(out, named(ng, nodes, idx)...)
	}
	return out, nil
}

// named sets the Endpoint of loaded remote nodes to their multiarch node's name.
func named(ng *store.NodeGroup, nodes []builderNode, idx nodeIndex) []builderNode {
	if ng.Driver != remoteDriver {
		return nodes
	}
	for i := range nodes {
		nodes[i].Endpoint = idx.memberName(ng, nodes[i].Node)
	}
	return nodes
}

// loadBuilder loads a builder by name from its own store reads (builder.New without a store
// transaction takes buildx's lock briefly).
func loadBuilder(ctx context.Context, dockerCli command.Cli, name string, timeout time.Duration) ([]builder.Node, error) {
	b, err := builder.New(dockerCli, builder.WithName(name), builder.WithSkippedValidation())
	if err != nil {
		return nil, fmt.Errorf("builder %q: %w", name, redact.Error(err))
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	loaded, err := b.LoadNodes(lctx)
	if err != nil {
		return nil, fmt.Errorf("builder %q: %w", name, redact.Error(err))
	}
	return loaded, nil
}
