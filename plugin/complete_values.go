package plugin

import (
	"slices"
	"strings"

	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver"
)

// completer completes names and platforms from the context store and buildx's store.
type completer struct {
	dockerCli command.Cli
	opts      *rootOptions
}

// ready initializes the docker CLI (its config and context store) as a command's run does:
// cobra runs no pre-run hook for __complete, where the plugin framework initializes it.
func (c *completer) ready(cmd *cobra.Command) bool {
	if cliplugin.PersistentPreRunE != nil { // set by plugin.Run; unset when tests call the commands
		if err := cliplugin.PersistentPreRunE(cmd, nil); err != nil {
			return false
		}
	}
	return c.dockerCli.ContextStore() != nil
}

func (c *completer) nodeList(cmd *cobra.Command) ([]contexts.Node, bool) {
	if !c.ready(cmd) {
		return nil, false
	}
	nodes, err := service(c.dockerCli).Nodes()
	return nodes, err == nil
}

func (c *completer) storedBuilders(cmd *cobra.Command) ([]driver.StoredBuilder, bool) {
	if !c.ready(cmd) {
		return nil, false
	}
	stored, err := service(c.dockerCli).StoredBuilders()
	return stored, err == nil
}

// builders completes multiarch builder names, described by their platforms.
func (c *completer) builders(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	stored, ok := c.storedBuilders(cmd)
	if !ok {
		return nil, cobra.ShellCompDirectiveError
	}
	var offers []offer
	for _, b := range stored {
		offers = append(offers, offer{value: b.Name, where: b.Platforms()})
	}
	return complete(offers, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// nodes completes node names, described by their platforms.
func (c *completer) nodes(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	nodes, ok := c.nodeList(cmd)
	if !ok {
		return nil, cobra.ShellCompDirectiveError
	}
	var offers []offer
	for _, n := range nodes {
		if !slices.Contains(args, n.Name) {
			offers = append(offers, offer{value: n.Name, where: n.Platforms})
		}
	}
	return complete(offers, toComplete), cobra.ShellCompDirectiveNoFileComp
}

// platforms completes --platform (a comma-separated list) with the platforms the nodes serve:
// those of the builder --builder names, else every node's and every multiarch builder's.
func (c *completer) platforms(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	nodes, ok := c.nodeList(cmd)
	stored, ok2 := c.storedBuilders(cmd)
	if !ok || !ok2 {
		return nil, cobra.ShellCompDirectiveError
	}
	return completeList(platformOffers(nodes, stored, selectedBuilder(cmd, c.opts)), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// emulate completes create's --emulate PLATFORM=NODE: the platforms QEMU commonly runs, then
// the nodes.
func (c *completer) emulate(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	platform, node, found := strings.Cut(toComplete, "=")
	if !found {
		var out []cobra.Completion
		for _, p := range emulatedPlatforms {
			if strings.HasPrefix(p, platform) {
				out = append(out, p+"=")
			}
		}
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	names, dir := c.nodes(cmd, nil, node)
	for i := range names {
		names[i] = platform + "=" + names[i]
	}
	return names, dir
}

var emulatedPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/386",
	"linux/riscv64", "linux/ppc64le", "linux/s390x"}
