package plugin

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver"
)

// offer is a value to complete and what describes it (where a platform is built, ...).
type offer struct {
	value string
	where []string
}

// offers keeps values in the order they were first added, merging their descriptions.
type offers []offer

func (o *offers) add(value, where string) {
	i := slices.IndexFunc(*o, func(x offer) bool { return x.value == value })
	if i < 0 {
		*o = append(*o, offer{value: value})
		i = len(*o) - 1
	}
	if !slices.Contains((*o)[i].where, where) {
		(*o)[i].where = append((*o)[i].where, where)
	}
}

// platformOffers are the platforms the nodes serve, each described by the nodes that build it
// (natively, or emulating it in a builder). With a builder selected, only that builder's.
func platformOffers(nodes []contexts.Node, builders []driver.StoredBuilder, selected string) []offer {
	native := map[string][]string{}
	for _, n := range nodes {
		native[n.Name] = n.Platforms
	}
	var out offers
	addBuilder := func(b driver.StoredBuilder) {
		for _, n := range b.Nodes {
			for _, p := range n.Platforms {
				if slices.Contains(native[n.Node], p) {
					out.add(p, n.Node)
				} else {
					out.add(p, "emulated on "+n.Node)
				}
			}
		}
	}
	if i := slices.IndexFunc(builders, func(b driver.StoredBuilder) bool { return b.Name == selected }); i >= 0 {
		addBuilder(builders[i])
		return out
	}
	for _, n := range nodes {
		for _, p := range n.Platforms {
			out.add(p, n.Name)
		}
	}
	for _, b := range builders {
		addBuilder(b)
	}
	return out
}

// complete returns the offers that start with toComplete, described.
func complete(offers []offer, toComplete string) []cobra.Completion {
	var out []cobra.Completion
	for _, o := range offers {
		if strings.HasPrefix(o.value, toComplete) {
			out = append(out, cobra.CompletionWithDesc(o.value, strings.Join(o.where, ", ")))
		}
	}
	return out
}

// completeList completes the last item of a comma-separated list, leaving out the items
// already given: "linux/amd64,linux/ar" offers "linux/amd64,linux/arm64", ...
func completeList(offers []offer, toComplete string) []cobra.Completion {
	given, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		given, last = toComplete[:i+1], toComplete[i+1:]
	}
	done := strings.Split(given, ",")
	var rest []offer
	for _, o := range offers {
		if !slices.Contains(done, o.value) {
			rest = append(rest, offer{value: given + o.value, where: o.where})
		}
	}
	return complete(rest, given+last)
}
