package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-multiarch/docker-multiarch/contexts"
	"github.com/docker-multiarch/docker-multiarch/driver/plan"
)

// checkLoad decides what --load loads into the current engine: with the containerd image store
// (Engine 29, Docker Desktop 4.34+) every platform, as one multi-platform image; with the classic
// store, which holds one platform per tag, the variant native to the engine (and a note says so).
func (r *Runner) checkLoad(ctx context.Context, st *runState) error {
	p, res := st.p, st.res
	if !p.Load {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	info, err := r.dockerCli.Client().Info(ctx, mobyclient.InfoOptions{})
	if err != nil {
		return fmt.Errorf("--load: the current Docker engine does not answer: %w", err)
	}
	if containerdStore(info.Info.DriverStatus) {
		res.loadAll = true
		for i := range res.Steps {
			res.Steps[i].Loaded = true
		}
		return engineLoads(res)
	}
	np, err := contexts.EnginePlatform(info.Info.OSType, info.Info.Architecture)
	if err != nil {
		return err
	}
	native := platforms.Format(np)
	for i := range res.Steps {
		if res.Steps[i].Platform == native {
			res.Steps[i].Loaded = true
			if len(res.Steps) > 1 {
				res.Notes = append(res.Notes, fmt.Sprintf("--load: the current engine's classic image store holds one platform per tag: loading %s only (the containerd image store would load all %d)", native, len(res.Steps)))
			}
			return engineLoads(res)
		}
	}
	return fmt.Errorf("--load: the build has no %s variant, the platform of the current Docker engine (its classic image store holds only that one)", native)
}

// containerdStore reports whether an engine keeps images in the containerd image store.
func containerdStore(status [][2]string) bool {
	for _, kv := range status {
		if kv[0] == "driver-type" && strings.Contains(kv[1], "snapshotter") {
			return true
		}
	}
	return false
}

// engineLoads refuses, before anything runs, --load of a platform built by a node's own engine
// (--strategy engine, a Windows engine): its image stays on that engine, and is not loaded here.
func engineLoads(res *Result) error {
	for _, st := range res.Steps {
		if st.Loaded && st.Strategy == plan.StrategyEngine {
			return fmt.Errorf("--load: %s is built by the engine of node %s (classic builder), whose image docker multiarch does not load into the current engine: push it (--push), or build that platform on BuildKit", st.Platform, st.Node)
		}
	}
	return nil
}
