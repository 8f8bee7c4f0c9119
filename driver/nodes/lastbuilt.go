package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/containerd/platforms"
	"github.com/docker/buildx/builder"
	bxdriver "github.com/docker/buildx/driver"
	controlapi "github.com/moby/buildkit/api/services/control"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxHistoryEvents caps the records of a BuildKit's build history read to find a build (a
// BuildKit before v0.19 ignores the request's filter and limit, and sends them all); the newest
// historyLimit of the build's completed records are asked for.
const (
	maxHistoryEvents = 2000
	historyLimit     = 50
	clockSkew        = time.Minute // a record completed later than now and this is not believed
)

// RefMark is what a solve's reference carries to say which build it was (see LastBuilt): "w"
// and the build's portable key.
func RefMark(key string) string {
	if key == "" {
		return ""
	}
	return "w" + key
}

// LastBuilt is, by platform, when a builder node's BuildKit last completed, without an error,
// the build whose portable key is key (its solve's reference carries RefMark(key)): its history
// knows the builds of every machine and CI runner that used it. A node whose BuildKit is not
// running, or keeps no history (before v0.11), built nothing.
func LastBuilt(ctx context.Context, n builder.Node, key string) (map[string]time.Time, error) {
	if n.Driver == nil || key == "" {
		return nil, nil
	}
	info, err := n.Driver.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("its engine: %w", err)
	}
	if info.Status != bxdriver.Running {
		return nil, nil
	}
	c, err := n.Driver.Client(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("its BuildKit: %w", err)
	}
	mark := RefMark(key)
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{
		EarlyExit: true, Filter: []string{"ref~=" + mark + ",status==completed"}, Limit: historyLimit,
	})
	if status.Code(err) == codes.Unimplemented {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("its BuildKit's history: %w", err)
	}
	out, horizon := map[string]time.Time{}, time.Now().Add(clockSkew)
	for i := 0; i < maxHistoryEvents; i++ {
		ev, err := stream.Recv()
		switch {
		case errors.Is(err, io.EOF), status.Code(err) == codes.Unimplemented:
			return out, nil
		case err != nil:
			return nil, fmt.Errorf("its BuildKit's history: %w", err)
		}
		rec := ev.GetRecord()
		if rec == nil || !strings.Contains(rec.Ref, mark) || rec.Error != nil || rec.CompletedAt == nil {
			continue
		}
		p, err := platforms.Parse(rec.FrontendAttrs["platform"])
		if err != nil {
			continue
		}
		pl := platforms.Format(platforms.Normalize(p))
		if at := rec.CompletedAt.AsTime(); at.After(out[pl]) && at.Before(horizon) {
			out[pl] = at
		}
	}
	return out, nil
}
