// Package nodes reaches standalone BuildKit daemons through BuildKit's own API: the probe that adds
// and lists them (their workers' platforms, version and running builds), and the count of the
// builds a BuildKit runs, which routing weighs nodes by. The nodes themselves are kept by contexts/.
package nodes

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/platforms"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/docker-multiarch/docker-multiarch/contexts"
)

// Prober probes BuildKit daemons for contexts (contexts.BuildKitProber).
type Prober struct{}

// ProbeBuildKit asks the daemon for its workers (their platforms, the native one first, and its
// version) and for the builds it runs now.
func (Prober) ProbeBuildKit(ctx context.Context, t contexts.BuildKitTarget) (contexts.BuildKitStatus, error) {
	c, err := Dial(ctx, t)
	if err != nil {
		return contexts.BuildKitStatus{}, err
	}
	defer c.Close()
	workers, err := c.ListWorkers(ctx)
	if err != nil {
		return contexts.BuildKitStatus{}, err
	}
	if len(workers) == 0 {
		return contexts.BuildKitStatus{}, errors.New("BuildKit has no workers")
	}
	var plats []string
	for _, w := range workers {
		for _, p := range w.Platforms {
			plats = append(plats, platforms.Format(p))
		}
	}
	info, err := contexts.NewBuildKitInfo(workers[0].BuildkitVersion.Version, plats)
	if err != nil {
		return contexts.BuildKitStatus{}, err
	}
	running, err := ActiveBuilds(ctx, c)
	if err != nil {
		return contexts.BuildKitStatus{}, err
	}
	return contexts.BuildKitStatus{Info: info, Running: running}, nil
}

// Dial returns a BuildKit client for a daemon: its TLS files and server name as stored (or given).
// The connection is made on the first call.
func Dial(ctx context.Context, t contexts.BuildKitTarget) (*client.Client, error) {
	var opts []client.ClientOpt
	if t.TLS() {
		opts = append(opts, client.WithServerConfig(t.ServerName, t.CA))
		if t.Cert != "" {
			opts = append(opts, client.WithCredentials(t.Cert, t.Key))
		}
	}
	c, err := client.New(ctx, t.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("BuildKit client: %w", err)
	}
	return c, nil
}

// ActiveBuilds is how many builds (solves) a BuildKit daemon runs now, from its build history's
// active records. A BuildKit without a build history (before v0.11) counts none.
func ActiveBuilds(ctx context.Context, c *client.Client) (int, error) {
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{ActiveOnly: true, EarlyExit: true})
	if status.Code(err) == codes.Unimplemented {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("listing its active builds: %w", err)
	}
	n := 0
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if status.Code(err) == codes.Unimplemented {
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("listing its active builds: %w", err)
		}
		if ev.Type == controlapi.BuildHistoryEventType_STARTED {
			n++
		}
	}
}
