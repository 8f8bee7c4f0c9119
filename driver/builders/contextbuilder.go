package builders

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/buildx/store"
	"github.com/moby/moby/client"

	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// ClassicStore reports whether the current context's engine keeps images in the classic store
// (graph drivers), which cannot hold a multi-platform image: Engine < 29 and upgraded Desktops.
func (m *Manager) ClassicStore(ctx context.Context, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := m.dockerCli.Client().Info(ctx, client.InfoOptions{})
	if err != nil {
		return false, fmt.Errorf("the current Docker context %q does not answer: %w", m.dockerCli.CurrentContext(), err)
	}
	for _, kv := range info.Info.DriverStatus {
		if kv[0] == "driver-type" && strings.Contains(kv[1], "snapshotter") {
			return false, nil
		}
	}
	return true, nil
}

// ContextBuilderName is the docker-container builder docker multiarch makes on a context whose
// engine cannot build multi-platform images itself.
func ContextBuilderName(contextName string) string {
	return "multiarch-" + strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, contextName))
}

// ContextBuilder makes (once; later runs reuse it) a docker-container builder on the current
// context, for a build without a multiarch builder on an engine whose classic image store cannot
// hold a multi-platform image. Its BuildKit runs on the host network, so registries on localhost
// are reachable, and emulates every platform but the engine's own. created says it was just made.
func (m *Manager) ContextBuilder(t Target) (Target, bool, error) {
	ctxName := m.dockerCli.CurrentContext()
	name := ContextBuilderName(ctxName)
	txn, release, err := openStore(m.dockerCli)
	if err != nil {
		return Target{}, false, err
	}
	defer release()
	ng, err := nodeGroup(txn, name)
	if err != nil {
		return Target{}, false, err
	}
	created := ng == nil
	if created {
		ng = &store.NodeGroup{Name: name, Driver: containerDriver, Nodes: []store.Node{{
			Name: nodeName(name, "0"), Endpoint: ctxName, DriverOpts: map[string]string{"network": "host"},
			BuildkitdFlags: []string{"--allow-insecure-entitlement=network.host"},
		}}}
		if err := txn.Save(ng); err != nil {
			return Target{}, false, fmt.Errorf("creating builder %q on context %q: %w", name, ctxName, err)
		}
	}
	n := t.Nodes[0]
	return Target{Name: name, Nodes: []plan.RouteNode{{Name: ctxName, BuildxNode: ng.Nodes[0].Name, Native: n.Native, Emulated: n.Emulated}}}, created, nil
}
