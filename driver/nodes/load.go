package nodes

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
)

// Running is how many builds a builder node's BuildKit runs now: none when it is not running (an
// engine node's BuildKit container not booted yet). The client it asks through is the node's own,
// kept by buildx for the build that follows (so it is made to outlive ctx).
func Running(ctx context.Context, n builder.Node) (int, error) {
	if n.Driver == nil {
		if n.Err != nil {
			return 0, n.Err
		}
		return 0, errors.New("builder node not loaded")
	}
	info, err := n.Driver.Info(ctx) // the engine, asked for the BuildKit container's state
	if err != nil {
		return 0, fmt.Errorf("its engine: %w", err)
	}
	if info.Status != bxdriver.Running {
		return 0, nil
	}
	c, err := n.Driver.Client(context.WithoutCancel(ctx))
	if err != nil {
		return 0, fmt.Errorf("its BuildKit: %w", err)
	}
	running, err := ActiveBuilds(ctx, c)
	if err != nil {
		return 0, fmt.Errorf("its BuildKit: %w", err)
	}
	return running, nil
}
